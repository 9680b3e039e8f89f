"""What the practice room keeps with a practice connection: its sandbox, the sandbox's clock
(which a practice runbook's clock follows), and the tickets opened on it.

A practice ticket's journal may outlive its sandbox (a ticket opened on the desk keeps its
journal beside its notebook). :class:`PracticeWorld` remembers which tickets were opened on
this sandbox, so the desk can tell a ticket to continue from one whose sandbox is gone
(:func:`opened_here`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from relink.runbook.connection import Connection
from relink.sandbox.launcher import RunningSandbox, SandboxAdmin


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
