"""Stopping a batch: Ctrl-C (SIGINT) or SIGTERM stop the runs, keep what finished, write the
summary and leave nothing behind; then ``relink batch`` exits 128 + the signal (130, 143).

Ctrl-C is asyncio's: while the kernels run, :func:`asyncio.run` cancels the batch's task on the
first one (:func:`relink.batch.runner.run_batch` then stops the runs in flight, kills every
kernel and removes the kernels' temporary folder), and a second one stops at once. SIGTERM (what
``kill``, systemd, Kubernetes and CI runners send) would end the process on the spot, with no
summary and the kernels' folder left in the temporary directory: :class:`StopSignals` makes it
stop the batch as the first Ctrl-C does. While the kernels run it cancels the batch's task
(:meth:`StopSignals.cancelling`); in plain code (a Dask client waiting for its tasks, the
accounts being read for ``--resume``) it raises :class:`Interrupted`, a
:class:`KeyboardInterrupt`, where Ctrl-C would raise one; while the kernels are being stopped
and the summary written (:meth:`StopSignals.deferred`) it is only noted, so that both finish.
Once a stop is under way, another SIGTERM changes nothing (SIGKILL does).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any


def signal_name(signum: int) -> str:
    """How a summary says what stopped a batch: ``Ctrl-C`` for SIGINT, else its name."""
    return "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name


class Interrupted(KeyboardInterrupt):
    """A stop signal, raised in plain code as Ctrl-C raises :class:`KeyboardInterrupt`."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal_name(signum))
        self.signum = signum


class StopSignals:
    """While entered (in the main thread): SIGTERM stops the batch as the first Ctrl-C does.

    :attr:`signum` is the SIGTERM received, if any; the previous handler comes back on exit.
    Elsewhere than in the main thread, nothing changes (Python handles signals there only).
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._task: asyncio.Task[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._deferred = 0
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._on_signal)
            self._installed = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._installed:
            signal.signal(signal.SIGTERM, self._previous)
            self._installed = False

    @contextlib.contextmanager
    def cancelling(self) -> Iterator[None]:
        """In a coroutine: SIGTERM cancels the current task (as asyncio's Ctrl-C does)."""
        self._task, self._loop = asyncio.current_task(), asyncio.get_running_loop()
        try:
            yield
        finally:
            self._task = self._loop = None

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """SIGTERM is only noted meanwhile: what runs here (stopping the kernels, writing the
        summary) finishes; the batch exits 143 after it."""
        self._deferred += 1
        try:
            yield
        finally:
            self._deferred -= 1

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.signum is not None:
            return  # a stop is under way: let it finish
        self.signum = signum
        if self._deferred:
            return  # noted: what runs finishes, then the batch exits 128 + signum
        task, loop = self._task, self._loop
        if task is None or loop is None:
            raise Interrupted(signum)
        if not task.done() and not task.cancelling():  # not already stopping (Ctrl-C)
            task.cancel()
            loop.call_soon_threadsafe(lambda: None)  # wake the loop from its select()
