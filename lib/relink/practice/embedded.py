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
sandbox's (:class:`SandboxClock`): the forecast counts from the sandbox's day, and the days
the practice bar lets pass are the days the orders move on.

A practice ticket's journal may outlive its sandbox (a ticket opened on the desk keeps its
journal beside its notebook). :class:`PracticeWorld` remembers which tickets were opened on
this sandbox, so the desk can tell a ticket to continue from one whose sandbox is gone
(:func:`opened_here`).
"""

from __future__ import annotations

import atexit
import secrets
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from relink.api.client import Client
from relink.errors import RelinkError
from relink.runbook.connection import Connection
from relink.samples import ACCOUNTS, REFERENCE_DATE, SampleAccount, bundled_sample
from relink.sandbox.launcher import RunningSandbox, SandboxAdmin, start_sandbox
from relink.sandbox.seeding import seed_from_export

# The embedded sandbox's world: every sample account starts linked to (and logged in as) this
# AliExpress account; the runbook's default target is the other one.
EMBEDDED_OLD_ACCOUNT = "ae-old@example.com"
EMBEDDED_TARGET_ACCOUNT = "ae-new@example.com"


class SandboxClock:
    """The sandbox's time, read once and then kept by this machine's clock (the sandbox's runs
    as fast), read again (:meth:`read`) whenever practice moves it: no call per reading."""

    def __init__(self, admin: SandboxAdmin) -> None:
        self.admin = admin
        self.offset = timedelta(0)
        self.read()

    def read(self) -> timedelta:
        """Read the sandbox's time again (after its clock was moved).

        Raises:
            relink.errors.ApiError: the sandbox does not answer.
        """
        self.offset = self.admin.now() - datetime.now(UTC)
        return self.offset

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def seconds(self) -> float:
        """The sandbox's time in epoch seconds (a :class:`Connection`'s ``clock``)."""
        return self().timestamp()


@dataclass
class PracticeWorld:
    """What the practice room keeps with a practice connection: its sandbox, the sandbox's
    clock, and the tickets opened on it (journal path, ticket id)."""

    sandbox: RunningSandbox
    clock: SandboxClock
    opened: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class _Embedded:
    world: PracticeWorld  # one per sandbox: every runbook of the process shares it
    token: str = field(repr=False)
    folder: Path = Path()

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


def practice_world(sandbox: RunningSandbox) -> PracticeWorld:
    """A new :class:`PracticeWorld` for ``sandbox``, its clock read now.

    Raises:
        relink.errors.ApiError: the sandbox does not answer.
    """
    return PracticeWorld(sandbox, SandboxClock(sandbox.admin))


def world_of(connection: Connection | None) -> PracticeWorld | None:
    """The practice world behind ``connection``; None for a deployment (or no connection)."""
    if connection is None or not connection.embedded:
        return None
    world = connection.practice
    return world if isinstance(world, PracticeWorld) else None


def opened_here(connection: Connection, journal: str | Path, ticket: str) -> bool:
    """Whether ``ticket`` of ``journal`` was opened on this connection's practice sandbox."""
    world = world_of(connection)
    return world is not None and (str(Path(journal).resolve()), ticket) in world.opened


def remember_opened(connection: Connection, journal: str | Path, ticket: str) -> None:
    """Note that ``ticket`` of ``journal`` now runs on this connection's practice sandbox."""
    world = world_of(connection)
    if world is not None:
        world.opened.add((str(Path(journal).resolve()), ticket))


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
    for account in ACCOUNTS:
        # the same token each time: its scope grows to every sample account
        seed_practice_account(sandbox, bundled_sample(account.name), token)
    return _Embedded(practice_world(sandbox), token, folder)


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
