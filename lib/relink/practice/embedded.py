"""The embedded sandbox: a practice account API started on demand, for tickets with no deployment.

With no ``RELINK_API_URL`` anywhere, the desk and ``relink run`` connect through
:func:`embedded_connection`: a real sandbox server on a free loopback port, on a temporary
database seeded with every bundled sample account (``relink.samples``), so the notebook and
``relink run`` work as they are on a fresh checkout. It is started once per process, lives as
long as the process (a notebook's kernel) and is stopped at exit. Its journal folder is
temporary too: a journal describes one server's state, and that server's state dies with the
process. The connection it returns carries the practice room's additions for the change: the
sandbox's clock and the practice bar.

Its clock starts on the samples' day (:data:`relink.samples.REFERENCE_DATE`), whatever the
machine's date: the bundled accounts' order dates count back from that day, so their
forecasts and clears-by dates read as they do in the samples. The runbook's clock is the
sandbox's (:class:`~relink.practice.world.SandboxClock`): the forecast counts from the
sandbox's day, and the days the practice bar lets pass are the days the orders move on.
"""

from __future__ import annotations

import atexit
import getpass
import re
import secrets
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from relink.api.client import Client
from relink.errors import RelinkError
from relink.practice.world import PracticeWorld, practice_world
from relink.runbook.connection import Connection
from relink.samples import ACCOUNTS, REFERENCE_DATE, SampleAccount, bundled_sample
from relink.sandbox.launcher import RunningSandbox, start_sandbox
from relink.sandbox.seeding import seed_from_export

# The embedded sandbox's world: every sample account starts linked to (and logged in as) this
# AliExpress account; the runbook's default target is the other one.
EMBEDDED_OLD_ACCOUNT = "ae-old@example.com"
EMBEDDED_TARGET_ACCOUNT = "ae-new@example.com"
# The practice lead: a second principal, with the approve permission on every practice
# account, whose token the practice room holds to play the approver of an override.
PRACTICE_APPROVER = "practice:lead"


@dataclass
class _Embedded:
    world: PracticeWorld  # one per sandbox: every runbook of the process shares it
    token: str = field(repr=False)
    folder: Path = Path()
    approver_token: str = field(default="", repr=False)  # the practice lead's (approve)

    @property
    def sandbox(self) -> RunningSandbox:
        return self.world.sandbox


_lock = threading.Lock()
_running: _Embedded | None = None


def embedded_connection(**client_options: object) -> Connection:
    """A connection to this process's embedded sandbox, started (and seeded) on first use.

    Raises:
        RelinkError: the sandbox could not start, or refused a seed.
    """
    global _running
    with _lock:
        if _running is None or _running.sandbox.process.poll() is not None:
            _running = _start_embedded()
        running = _running
    client = Client(running.sandbox.url, running.token, **client_options)  # type: ignore[arg-type]
    return practice_connection(client, running.world, running.folder / "runs")


def practice_connection(
    client: Client, sandbox: RunningSandbox | PracticeWorld, journal_dir: Path | None = None
) -> Connection:
    """``client`` on ``sandbox`` as the change sees a practice API: the sandbox's clock (the
    runbook's too), and the practice bar in the panel."""
    from relink.practice.bar import practice_bar

    world = sandbox if isinstance(sandbox, PracticeWorld) else practice_world(sandbox)
    return Connection(
        client,
        embedded=True,
        journal_dir=journal_dir,
        clock=world.clock.seconds,
        panel_extras=(practice_bar,),
        practice=world,
    )


def start_practice_sandbox(folder: Path) -> RunningSandbox:
    """A practice sandbox on ``folder``'s database, its clock on the samples' day.

    Raises:
        RelinkError: the sandbox did not start.
    """
    return start_sandbox(folder / "sandbox.sqlite", today=REFERENCE_DATE.date())


def _start_embedded() -> _Embedded:
    folder = Path(tempfile.mkdtemp(prefix="relink-sandbox-"))
    try:
        sandbox = start_practice_sandbox(folder)
    except RelinkError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    atexit.register(_stop, sandbox, folder)
    token = secrets.token_urlsafe(24)
    approver = secrets.token_urlsafe(24)
    for account in ACCOUNTS:
        # the same tokens each time: their scopes grow to every sample account
        seed_practice_account(sandbox, bundled_sample(account.name), token, approver_token=approver)
    return _Embedded(practice_world(sandbox), token, folder, approver)


def practice_principal() -> str:
    """The practice token's principal: ``practice:<login name>`` (characters a principal id
    does not take become ``-``). A service: practice is one desk, whoever sits at it names the
    operator, as the ticket's options say."""
    login = re.sub(r"[^A-Za-z0-9._@+-]", "-", getpass.getuser() or "") or "desk"
    return f"practice:{login}"[:100]


def seed_practice_account(
    sandbox: RunningSandbox,
    sample: SampleAccount,
    token: str,
    *,
    approver_token: str | None = None,
) -> None:
    """Seed a bundled sample account as practice starts it: the old AliExpress account linked
    and logged in, and ``token`` (:func:`practice_principal`'s) allowed to ask for an override
    (practice includes forcing past blockers). ``approver_token``, when given, is the practice
    lead's (:data:`PRACTICE_APPROVER`, permission ``approve``): the second pair of eyes an
    override needs, which the practice bar can play.

    Raises:
        relink.errors.RelinkError: the sandbox refused the seed.
    """
    seed = seed_from_export(
        sample.account,
        sample.export,
        sample.aliexpress,
        linked=EMBEDDED_OLD_ACCOUNT,
        logged_in=EMBEDDED_OLD_ACCOUNT,
        token=token,
        token_permissions=["override"],
    )
    principal = practice_principal()
    seed = seed.model_copy(
        update={
            "token_principal": principal,
            "token_principal_name": principal.removeprefix("practice:"),
            "token_principal_kind": "service",
        }
    )
    sandbox.admin.seed(seed.model_dump(mode="json"))
    if approver_token is not None:
        sandbox.admin.issue_token(
            approver_token,
            [sample.account],
            PRACTICE_APPROVER,
            display_name="Practice lead",
            permissions=["approve"],
        )


def _stop(sandbox: RunningSandbox, folder: Path) -> None:
    sandbox.stop()
    shutil.rmtree(folder, ignore_errors=True)


def practice_account_names() -> list[str]:
    """The accounts the practice sandbox has: the bundled sample accounts, by name."""
    return [account.name for account in ACCOUNTS]
