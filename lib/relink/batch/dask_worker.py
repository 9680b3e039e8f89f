"""The Dask side of ``relink batch --scheduler``: what runs on a worker.

:func:`run_account` is the task (one account, on this worker's warm kernels, exactly as locally:
:func:`relink.batch.account_run.execute_account`, then the account's messages and report), and
:class:`KernelPools` the worker plugin that starts the worker's kernel pool when a batch
connects. One event loop thread per worker process serves every account's kernel I/O, and the
pools are kept warm for the next batches (:func:`_pool`). See :mod:`relink.batch.distributed`
for the client's side.
"""

from __future__ import annotations

import asyncio
import functools
import json
import socket
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import nbformat

from relink.batch import resume as done_records
from relink.batch.account_run import (
    RunSettings,
    execute_account,
    first_line,
    write_account_pages,
)
from relink.batch.kernels import KernelPool
from relink.batch.manifest import AccountJob
from relink.batch.parameters import Template
from relink.batch.runs import FAILED, NOT_RUN, AccountRun
from relink.batch.summary.report_process import ReportProcess

try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # without the relink[dask] extra: run_distributed says what to install
    WorkerPlugin = object  # type: ignore[assignment,misc]


def run_account(common: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
    """The Dask task: run one account on this worker's warm kernels; never raises for a run.

    Returns the run's ``status``, ``error``, ``duration``, ``result``, ``failed_cell``,
    ``failed_execution_count``, the ``files`` the run wrote in its account folder (the
    executed notebook first, then its done-record), and where it ran (``worker``, ``host``).
    """
    size = _worker_threads()
    loop = _event_loop()
    return asyncio.run_coroutine_threadsafe(_run_remote(common, job, size), loop).result()


class KernelPools(WorkerPlugin):
    """Worker plugin: start the worker's kernel pool when the batch connects, not at its first
    account. Nothing to tear down: the fork server kills its kernels when its worker exits."""

    def __init__(self, drop_env: Iterable[str], reuse: bool = False) -> None:
        self.drop_env = tuple(drop_env)
        self.reuse = reuse

    def setup(self, worker: Any) -> None:
        size = _threads_of(worker)
        # Not awaited: a worker's event loop must not wait for the fork server's imports.
        asyncio.run_coroutine_threadsafe(_pool(self.drop_env, self.reuse, size), _event_loop())
        _report_process()


# --- on the client ---------------------------------------------------------------------------


_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_pools: dict[tuple[frozenset[str], bool], asyncio.Task[KernelPool]] = {}
_templates: dict[str, Template] = {}
_reports: ReportProcess | None = None


def _event_loop() -> asyncio.AbstractEventLoop:
    """This process's kernel loop: one thread runs every account's kernel I/O, as locally."""
    global _loop
    with _lock:
        if _loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="relink-kernels", daemon=True)
            thread.start()
            _loop = loop
        return _loop


def _report_process() -> ReportProcess | None:
    """This worker's report process (as locally: the kernels' loop is not kept waiting), started
    with the batch's first connection and again if it died; None if it cannot start (the
    report is then rendered in the task's thread). It exits with its worker (its stdin
    closes)."""
    global _reports
    with _lock:
        if _reports is None or not _reports.alive:
            try:
                _reports = ReportProcess()
            except OSError:
                _reports = None
        return _reports


def _worker_threads() -> int:
    try:
        from distributed import get_worker

        return _threads_of(get_worker())
    except (ImportError, ValueError):  # not in a worker (called directly)
        return 1


def _threads_of(worker: Any) -> int:
    state = getattr(worker, "state", None)
    return max(1, int(getattr(state, "nthreads", 1) or 1))


async def _pool(drop_env: Iterable[str], reuse: bool, size: int) -> KernelPool:
    """This process's warm pool for ``drop_env`` and ``reuse``; a new one if the last one died.
    On the loop."""
    key = (frozenset(drop_env), reuse)
    task = _pools.get(key)
    if task is not None and task.done():
        broken = task.cancelled() or task.exception() is not None
        if not broken and not task.result().alive:
            await task.result().close()
            broken = True
        if broken:
            task = None
    if task is None:
        task = asyncio.ensure_future(_start_pool(key, size))
        _pools[key] = task
    return await asyncio.shield(task)


async def _start_pool(key: tuple[frozenset[str], bool], size: int) -> KernelPool:
    pool = KernelPool(size, drop_env=key[0], reuse=key[1])
    try:
        await pool.start()
    except BaseException:
        await pool.close()
        raise
    return pool


def _template(common: dict[str, Any]) -> Template:
    template = _templates.get(common["digest"])
    if template is None:
        notebook = nbformat.from_dict(json.loads(common["notebook"]))
        template = Template(Path(common["path"]), notebook, common["declared"], common["defaults"])
        _templates[common["digest"]] = template
    return template


async def _run_remote(common: dict[str, Any], spec: dict[str, Any], size: int) -> dict[str, Any]:
    job = AccountJob(
        spec["account"],
        Path(spec["export"]),
        Path(spec["aliexpress"]) if spec["aliexpress"] else None,
        spec["folder"],
        spec["target"],
        spec["ticket"],
        language=spec.get("language", ""),
    )
    run = AccountRun(job)
    template = _template(common)
    files: list[tuple[str, bytes]] = []
    started = time.perf_counter()
    try:
        pool = await _pool(common["drop_env"], common.get("reuse", False), size)
    except Exception as exc:  # the fork server did not start: this account fails, others go on
        run.status, run.error = FAILED, f"{type(exc).__name__}: {first_line(str(exc))}"
        run.duration = time.perf_counter() - started
    else:
        with tempfile.TemporaryDirectory(prefix="relink-task-") as scratch:
            settings = RunSettings(
                template,
                common["extra"],
                Path(scratch),
                common["cell_timeout"],
                None,
                record_dir=Path(common["out_dir"]),
                language=common.get("language", ""),
            )
            await execute_account(run, pool, settings)
            if run.notebook is not None:  # its messages and report travel with it
                reports = _report_process()
                await asyncio.to_thread(write_account_pages, run, settings.language, reports)
            folder = Path(scratch) / job.folder
            written = sorted(folder.iterdir(), key=functools.partial(_file_order, template))
            files = [(path.name, path.read_bytes()) for path in written if path.is_file()]
    return {
        "status": run.status if run.status != NOT_RUN else FAILED,
        "error": run.error,
        "duration": run.duration,
        "result": run.result,
        "failed_cell": run.failed_cell,
        "failed_execution_count": run.failed_execution_count,
        "files": files,  # the account folder's files, the notebook first, the done-record last
        "notebook_name": template.path.name,
        "worker": _worker_address(),
        "host": socket.gethostname(),
    }


def _file_order(template: Template, path: Path) -> tuple[int, str]:
    """The order the client writes an account's files in, as a local run does: the notebook,
    the merchant messages, the report (newer than both, so not rendered again), the
    done-record last."""
    if path.name == template.path.name:
        return 0, path.name
    if path.name == done_records.RECORD_NAME:
        return 3, path.name
    return (2 if path.suffix == ".html" else 1), path.name


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return ""
