"""The embedded sandbox: a practice account API started on demand, for tickets with no deployment.

With no ``RELINK_API_URL`` anywhere, the desk and ``relink run`` connect through
:func:`embedded_connection`: a real sandbox server on a free loopback port, on a temporary
database seeded with every bundled sample account (``relink.samples``), so the notebook and
``relink run`` work as they are on a fresh checkout. It is started once per process, lives as
long as the process (a notebook's kernel) and is stopped at exit. Its journal folder is
temporary too: a journal describes one server's state, and that server's state dies with the
process. The connection it returns carries the practice room's additions for the change: the
sandbox's clock and the practice bar.
"""

from __future__ import annotations

import atexit
import secrets
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from relink.api.client import Client
from relink.errors import RelinkError
from relink.runbook.connection import Connection
from relink.samples import ACCOUNTS, SampleAccount, bundled_sample
from relink.sandbox.launcher import RunningSandbox, start_sandbox
from relink.sandbox.seeding import seed_from_export

# The embedded sandbox's world: every sample account starts linked to (and logged in as) this
# AliExpress account; the runbook's default target is the other one.
EMBEDDED_OLD_ACCOUNT = "ae-old@example.com"
EMBEDDED_TARGET_ACCOUNT = "ae-new@example.com"


@dataclass
class _Embedded:
    sandbox: RunningSandbox
    token: str = field(repr=False)
    folder: Path = Path()


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
    return practice_connection(client, running.sandbox, running.folder / "runs")


def practice_connection(
    client: Client, sandbox: RunningSandbox, journal_dir: Path | None = None
) -> Connection:
    """``client`` on ``sandbox`` as the change sees a practice API: the sandbox's clock, and
    the practice bar in the panel."""
    from relink.practice.bar import practice_bar

    return Connection(
        client,
        embedded=True,
        journal_dir=journal_dir,
        clock=sandbox.admin.clock,
        panel_extras=(practice_bar,),
        practice=sandbox,
    )


def _start_embedded() -> _Embedded:
    folder = Path(tempfile.mkdtemp(prefix="relink-sandbox-"))
    try:
        sandbox = start_sandbox(folder / "sandbox.sqlite")
    except RelinkError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    atexit.register(_stop, sandbox, folder)
    token = secrets.token_urlsafe(24)
    for account in ACCOUNTS:
        # the same token each time: its scope grows to every sample account
        seed_practice_account(sandbox, bundled_sample(account.name), token)
    return _Embedded(sandbox, token, folder)


def seed_practice_account(sandbox: RunningSandbox, sample: SampleAccount, token: str) -> None:
    """Seed a bundled sample account as practice starts it: the old AliExpress account linked
    and logged in, and ``token`` allowed to override (practice includes forcing past blockers).

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
    sandbox.admin.seed(seed.model_dump(mode="json"))


def _stop(sandbox: RunningSandbox, folder: Path) -> None:
    sandbox.stop()
    shutil.rmtree(folder, ignore_errors=True)
