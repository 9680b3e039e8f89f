"""The fork server ``relink batch`` starts before its own imports (relink.batch_helpers):
taken by the kernel pool only when it is the server the pool would start, killed otherwise."""

from __future__ import annotations

import asyncio
import os

import pytest
from test_batch_kernels import _check_executed, _run_in_pool

from relink import batch_helpers
from relink.batch.kernels import FORKED, KernelPool
from relink.batch_helpers import API_SETTINGS


@pytest.fixture(autouse=True)
def no_head_start_left(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(batch_helpers.MODE_ENV, raising=False)
    monkeypatch.setenv("RELINK_API_TOKEN", "not-for-the-audit-kernels")
    yield
    batch_helpers.discard()


def _started() -> batch_helpers.ForkServer:
    batch_helpers.start()
    server = batch_helpers._pending
    assert server is not None and server.process.poll() is None
    return server


def test_nothing_is_started_where_kernels_are_not_forked(monkeypatch) -> None:
    for mode in ("standard", "threads"):  # an unknown mode: the pool says what is wrong
        monkeypatch.setenv(batch_helpers.MODE_ENV, mode)
        batch_helpers.start()
        assert batch_helpers._pending is None
    assert batch_helpers.take(batch_helpers.kernels_env(API_SETTINGS)) is None


def test_a_pool_needing_other_kernels_kills_it_and_starts_its_own() -> None:
    server = _started()
    # The runbook's kernels keep the API settings: not the server started for the audit.
    assert batch_helpers.take(batch_helpers.kernels_env(())) is None
    assert server.process.poll() is not None and not server.folder.exists()


def test_discarded_when_the_batch_ran_nothing() -> None:
    server = _started()
    batch_helpers.discard()
    assert server.process.poll() is not None and not server.folder.exists()
    assert batch_helpers._pending is None


@pytest.mark.slow
def test_the_audit_pool_takes_it_and_its_kernels_run() -> None:
    server = _started()
    pool = KernelPool(1, drop_env=API_SETTINGS, reuse=True)
    own_folder = pool._folder
    seen = {}
    original = pool._start_kernel

    async def start_kernel():
        seen["server"] = pool._server
        return await original()

    pool._start_kernel = start_kernel
    mode, notebooks, _ = asyncio.run(_run_in_pool(pool))
    assert mode == FORKED and seen["server"] is server  # taken, not a second server
    assert not own_folder.exists()  # the pool's own folder gave way to the server's
    for nb in notebooks:
        _check_executed(nb, preloaded=True)
    assert server.process.poll() is not None and not server.folder.exists()  # closed by the pool
    assert batch_helpers._pending is None
    # The kernels are forks of it: its environment, without the API settings.
    assert "RELINK_API_TOKEN" not in server.env and "RELINK_API_TOKEN" in os.environ


def test_started_ahead_never_leaves_it_running() -> None:
    with batch_helpers.started_ahead(False):
        assert batch_helpers._pending is None  # --scheduler: nothing started
    with pytest.raises(RuntimeError), batch_helpers.started_ahead():
        server = batch_helpers._pending
        assert server is not None and server.process.poll() is None
        raise RuntimeError("the batch failed before its kernels started")
    assert server.process.poll() is not None and not server.folder.exists()
    assert batch_helpers._pending is None


@pytest.mark.slow
def test_a_fork_server_whose_batch_died_removes_its_folder() -> None:
    server = _started()
    assert server.process.stdout.readline() == b'{"ready": true}\n'
    assert server.socket_path.exists()
    server.process.stdin.close()  # what kill -9 of the batch does to its pipe
    assert server.process.wait(30) == 0
    assert not server.folder.exists()
    server.close_pipes()
    batch_helpers._pending = None
