"""An account's executed notebook and done-record are written in a thread (their fsyncs do not
hold up the kernels' loop), and a stop that comes meanwhile waits for them: a stop finds a run
either not saved or saved, never half saved."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace

import pytest
from papermill import PapermillExecutionError

from relink.batch import account_run
from relink.batch.runs import FAILED


def _slow_save(monkeypatch: pytest.MonkeyPatch, outcome: Exception | None = None):
    started, release, saved = threading.Event(), threading.Event(), []

    def save(run, nb, settings, parameters) -> None:
        started.set()
        assert release.wait(30)
        saved.append(run)
        if outcome is not None:
            raise outcome

    monkeypatch.setattr(account_run, "_save_executed", save)
    return started, release, saved


async def _stop_while_saving(run, started, release) -> tuple[bool, bool]:
    task = asyncio.create_task(account_run._save_seen_through(run, None, None, {}))
    await asyncio.to_thread(started.wait, 30)
    task.cancel()
    await asyncio.sleep(0)  # one turn of the loop: the task takes the stop
    cut_short = task.done()
    release.set()
    return cut_short, await task


def test_a_stop_while_saving_waits_for_the_save(monkeypatch: pytest.MonkeyPatch) -> None:
    started, release, saved = _slow_save(monkeypatch)
    run = SimpleNamespace(status="completed")
    cut_short, stopped = asyncio.run(_stop_while_saving(run, started, release))
    assert not cut_short and stopped is True and saved == [run]


def test_a_cell_error_found_while_stopping_is_still_said(monkeypatch: pytest.MonkeyPatch) -> None:
    error = PapermillExecutionError(3, 4, "x", "ValueError", "bad value", [])
    started, release, _ = _slow_save(monkeypatch, error)
    run = SimpleNamespace(status="completed", error="", failed_cell=None)
    cut_short, stopped = asyncio.run(_stop_while_saving(run, started, release))
    assert not cut_short and stopped is True
    assert (run.status, run.error, run.failed_cell) == (FAILED, "ValueError: bad value", 5)


def test_without_a_stop_a_cell_error_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    error = PapermillExecutionError(3, 4, "x", "ValueError", "bad value", [])
    _, release, _ = _slow_save(monkeypatch, error)
    release.set()
    with pytest.raises(PapermillExecutionError):
        asyncio.run(account_run._save_seen_through(SimpleNamespace(), None, None, {}))
