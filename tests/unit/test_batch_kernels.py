"""relink batch's kernels and engine: the documented extension points, the fork server, the
fallback to standard kernels (forced by ``RELINK_BATCH_KERNELS=standard`` or a fork server that
cannot start). The whole batch under both is in tests/notebooks/test_batch_runs.py."""

from __future__ import annotations

import asyncio
import os
from importlib.metadata import entry_points

import nbformat
import pytest

from relink import batch_helpers
from relink.batch.engine import RelinkEngine
from relink.batch.kernels import FORKED, STANDARD, KernelPool, KernelStartError
from relink.batch.provisioner import ForkServerProvisioner
from relink.batch_helpers import kernel_mode
from relink.errors import BatchError


def test_entry_points_are_registered() -> None:
    """The installed package declares both (pip install -e . after changing pyproject.toml)."""
    (provisioner,) = entry_points(
        group="jupyter_client.kernel_provisioners", name="relink-fork-server"
    )
    assert provisioner.load() is ForkServerProvisioner
    (engine,) = entry_points(group="papermill.engine", name="relink")
    assert engine.load() is RelinkEngine

    from jupyter_client.provisioning import KernelProvisionerFactory
    from papermill.engines import papermill_engines

    assert papermill_engines.get_engine("relink") is RelinkEngine
    factory = KernelProvisionerFactory.instance()
    assert factory._check_availability("relink-fork-server")


def test_kernel_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(batch_helpers.MODE_ENV, raising=False)
    assert kernel_mode() == FORKED  # POSIX, the default
    assert kernel_mode("standard") == STANDARD
    monkeypatch.setenv(batch_helpers.MODE_ENV, "standard")
    assert kernel_mode() == STANDARD
    assert kernel_mode("forked") == FORKED  # the argument wins over the environment
    monkeypatch.setenv(batch_helpers.MODE_ENV, "Forked ")
    assert kernel_mode() == FORKED
    monkeypatch.setattr(batch_helpers.os, "name", "nt")  # no os.fork: standard kernels
    assert kernel_mode() == STANDARD and kernel_mode("auto") == STANDARD
    with pytest.raises(BatchError, match="auto, forked or standard"):
        kernel_mode("threads")


def _notebook() -> nbformat.NotebookNode:
    cells = [
        nbformat.v4.new_markdown_cell("# title"),
        nbformat.v4.new_code_cell("import os\npid = os.getpid()\npid"),
        nbformat.v4.new_code_cell("import sys\n'pandas' in sys.modules"),
    ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "language": "python"}
    notebook.metadata["papermill"] = {}
    for cell in notebook.cells:
        cell.metadata["papermill"] = {}
    return notebook


async def _run_in_pool(pool: KernelPool) -> tuple[str | None, list[nbformat.NotebookNode], type]:
    """Two notebooks on two kernels of ``pool``; returns its mode, the notebooks, a provisioner."""
    notebooks = []
    try:
        await pool.start()
        for _ in range(2):
            km = await pool.acquire()
            provisioner = type(km.provisioner)
            try:
                nb = _notebook()
                await RelinkEngine.async_execute_notebook(nb, pool.kernel_name, km=km, timeout=60)
                notebooks.append(nb)
            finally:
                pool.release(km)
    finally:
        await pool.close()
    return pool.mode, notebooks, provisioner


def _check_executed(nb: nbformat.NotebookNode, *, preloaded: bool) -> None:
    assert nb.metadata.papermill["end_time"] and nb.metadata.language_info["name"] == "python"
    assert [c.metadata.papermill["status"] for c in nb.cells] == ["completed"] * 3
    assert nb.cells[0].metadata.papermill["start_time"]  # markdown cells too, as papermill does
    assert nb.cells[2].outputs[0]["data"]["text/plain"] == str(preloaded)


@pytest.mark.slow
def test_forked_kernels_go_through_the_provisioner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(batch_helpers.MODE_ENV, raising=False)
    mode, notebooks, provisioner = asyncio.run(_run_in_pool(KernelPool(1)))
    assert (mode, provisioner) == (FORKED, ForkServerProvisioner)
    for nb in notebooks:
        _check_executed(nb, preloaded=True)  # forked from the server that imported pandas
    pids = [int(nb.cells[1].outputs[0]["data"]["text/plain"]) for nb in notebooks]
    assert pids[0] != pids[1]  # a fresh kernel per run
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # killed after its run


@pytest.mark.slow
def test_standard_kernels_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(batch_helpers.MODE_ENV, "standard")
    mode, notebooks, provisioner = asyncio.run(_run_in_pool(KernelPool(1)))
    assert mode == STANDARD and provisioner.__name__ == "LocalProvisioner"
    for nb in notebooks:
        _check_executed(nb, preloaded=False)  # a new Python: nothing imported ahead


@pytest.mark.slow
def test_standard_kernels_when_the_fork_server_cannot_start(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(batch_helpers.MODE_ENV, raising=False)

    async def broken(self: KernelPool) -> None:
        raise KernelStartError("the kernel fork server did not start: simulated")

    monkeypatch.setattr(KernelPool, "_start_server", broken)
    mode, notebooks, _ = asyncio.run(_run_in_pool(KernelPool(1)))
    assert mode == STANDARD
    assert "starting standard kernels instead" in caplog.text
    _check_executed(notebooks[0], preloaded=False)


@pytest.mark.slow
def test_papermill_runs_the_relink_engine(tmp_path) -> None:
    """The engine through papermill's own entry point: papermill starts the kernel itself."""
    import papermill

    source = _notebook()
    source.cells[1].metadata["tags"] = ["parameters"]
    source.cells[1].source = "pid = 0"
    nbformat.write(source, tmp_path / "in.ipynb")
    out = papermill.execute_notebook(
        str(tmp_path / "in.ipynb"),
        str(tmp_path / "out.ipynb"),
        parameters={"pid": 7},
        engine_name="relink",
        progress_bar=False,
    )
    saved = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert saved.cells[2].metadata.tags == ["injected-parameters"]
    assert out.metadata.papermill["parameters"] == {"pid": 7}
    assert [c.metadata.papermill["status"] for c in saved.cells] == ["completed"] * 4


async def _run_reused(pool: KernelPool, sources: list[str]) -> list[nbformat.NotebookNode]:
    """One notebook per source, one after another, on ``pool``'s kernel (given back reusable)."""
    notebooks = []
    try:
        await pool.start()
        for source in sources:
            km = await pool.acquire()
            nb = _notebook()
            nb.cells[2].source = source
            try:
                await RelinkEngine.async_execute_notebook(
                    nb, pool.kernel_name, km=km, kc=pool.client(km), timeout=60
                )
            finally:
                pool.release(km, reusable=True)
            notebooks.append(nb)
    finally:
        await pool.close()
    return notebooks


@pytest.mark.slow
def test_a_reused_kernel_starts_each_notebook_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """With reuse, the same kernel runs the next notebook: nothing the first one defined is
    left, and the counter restarts at In [1], as in a new kernel."""
    monkeypatch.delenv(batch_helpers.MODE_ENV, raising=False)
    first, second = asyncio.run(
        _run_reused(KernelPool(1, reuse=True), ["left = 'over'\nleft", "'left' in dir()"])
    )
    pids = [int(nb.cells[1].outputs[0]["data"]["text/plain"]) for nb in (first, second)]
    assert pids[0] == pids[1]  # the same kernel
    assert first.cells[2].outputs[0]["data"]["text/plain"] == "'over'"
    assert second.cells[2].outputs[0]["data"]["text/plain"] == "False"
    for nb in (first, second):
        assert [cell.get("execution_count") for cell in nb.cells] == [None, 1, 2]
    with pytest.raises(ProcessLookupError):
        os.kill(pids[0], 0)  # killed when the pool closed


@pytest.mark.slow
def test_a_kernel_not_given_back_reusable_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(batch_helpers.MODE_ENV, raising=False)

    async def two_runs() -> list[int]:
        pool = KernelPool(1, reuse=True)
        pids = []
        try:
            await pool.start()
            for reusable in (False, True):
                km = await pool.acquire()
                nb = _notebook()
                await RelinkEngine.async_execute_notebook(
                    nb, pool.kernel_name, km=km, kc=pool.client(km), timeout=60
                )
                pids.append(int(nb.cells[1].outputs[0]["data"]["text/plain"]))
                pool.release(km, reusable=reusable)
        finally:
            await pool.close()
        return pids

    pids = asyncio.run(two_runs())
    assert pids[0] != pids[1]  # interrupted, dead or timed out: a new kernel takes its place
