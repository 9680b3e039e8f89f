"""Run the audit notebook once per account, N at a time, and write the batch summary.

Recipe (:func:`run_batch`): load the notebook once; for each account, take a kernel from a
:class:`~relink.batch.kernels.KernelPool` (forked from a warm fork server through a
jupyter_client kernel provisioner, or a standard kernel where there is none; reused from one
account to the next, reset between two, for a notebook that changes no account), inject the
account's parameters with papermill's own ``parameterize_notebook``, execute the cells with the
``relink`` papermill engine (:mod:`relink.batch.engine`: nbclient's ``NotebookClient`` on that
kernel, reporting to papermill's execution manager, so the executed notebook carries papermill's
metadata and injected-parameters cell, exactly as ``papermill`` would write it), save it as
``DIR/<account>/<notebook name>``, then read the recorded result back from it
(:func:`relink.display.read_record`). Finally write the summary
(:func:`relink.batch.summary.write_summary`).

A failing run does not stop the others: it is listed with the error and the failing cell, and
its partial notebook is kept (with papermill's error markers). Ctrl-C or SIGTERM cancels the
runs in flight, kills every kernel, removes the kernels' temporary folder and still writes the
summary for what finished (:mod:`relink.batch.stopping`).

The notebook and the parameters are checked first (:mod:`relink.batch.parameters`: no secret
in a parameter, every safeguard of a batch that changes accounts). The kernels of a notebook
that changes no account (one without a ``target_aliexpress_account`` parameter, such as the
audit notebook) do not even inherit the API settings. An account the runbook left red (nothing
linked, DSers cannot place its orders) is a failure (:mod:`relink.batch.runs`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from papermill import PapermillExecutionError
from papermill.execute import raise_for_execution_errors

from relink.batch import engine
from relink.batch import resume as done_records
from relink.batch.kernels import KernelPool
from relink.batch.manifest import AccountJob, SkippedFile
from relink.batch.parameters import (
    DEFAULT_NOTEBOOK,
    Template,
    account_parameters,
    check_account_values,
    check_destructive,
    check_parameters,
    destructive_steps,
    load_template,
)
from relink.batch.runs import COMPLETED, FAILED, INTERRUPTED, AccountRun, BatchReport
from relink.batch.stopping import StopSignals, signal_name
from relink.batch.summary import load_previous, write_summary
from relink.display import read_record
from relink.errors import BatchError

# Never handed to the kernels of a notebook that changes no account.
API_SETTINGS = ("RELINK_API_TOKEN", "RELINK_API_URL")
LEFT_RED = "left red: nothing linked (DSers cannot place orders)"
_log = logging.getLogger("relink.batch.runner")
# What a reader of export files quotes from the file itself: the header cells it found.
# Batch reports (summaries, executed notebooks) say what is wrong, never what a file holds:
# a manifest may name a file that is not an export at all.
_FILE_CONTENT = re.compile(r"; columns found: .*", re.DOTALL)


def run_batch(
    jobs: Sequence[AccountJob],
    out_dir: str | Path,
    *,
    notebook: str | Path = DEFAULT_NOTEBOOK,
    workers: int | None = None,
    parameters: dict[str, str] | None = None,
    on_done: Callable[[AccountRun, int, int], None] | None = None,
    cell_timeout: float | None = None,
    allow_destructive: bool = False,
    distribute: Callable[[BatchReport, RunSettings], None] | None = None,
    resume: bool = False,
    compare: str | Path | None = None,
    skipped: Sequence[SkippedFile] = (),
    language: str = "",
) -> BatchReport:
    """Run ``notebook`` for every job's account, ``workers`` at a time; write the summary.

    With ``distribute`` (``relink.batch.distributed.on_cluster("tcp://HOST:PORT")``) every
    account runs as a task on that Dask cluster instead (the ``relink[dask]`` extra;
    ``workers`` is then the cluster's threads); the summary is written the same way.

    ``skipped``: the files of the input folders that were not taken as exports
    (:func:`relink.batch.manifest.collect_inputs`), listed in the summary. ``language``: the
    merchant messages' language for the accounts whose manifest entry gives none.

    ``on_done(run, done, total)`` is called as each account finishes. Returns the report with
    ``interrupted`` set if Ctrl-C or SIGTERM stopped the batch (its ``signal`` says which): the
    runs in flight are stopped (``interrupted``), those not started left ``not run``, every
    kernel killed and the kernels' temporary folder removed before the summary is written
    (:mod:`relink.batch.stopping`). A batch that would unlink or relink
    accounts needs ``allow_destructive`` and more (:func:`check_destructive`); everything is
    checked before any kernel starts.

    Raises:
        BatchError: the notebook or the parameters cannot be used, a destructive batch lacks a
            safeguard, or the output folder cannot be created.
    """
    template = load_template(notebook)
    parameters = parameters or {}
    destructive = destructive_steps(template, parameters)
    extra = check_parameters(template, parameters, destructive=bool(destructive))
    check_destructive(template, parameters, jobs, allow_destructive=allow_destructive)
    check_account_values(jobs)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchError(f"{out}: cannot create the output folder ({exc.strerror})") from exc
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    batch = BatchReport(out, template.path, workers, [AccountRun(job) for job in jobs])
    batch.skipped = list(skipped)
    batch.language = language
    batch.previous = load_previous(compare) if compare else None
    settings = RunSettings(template, extra, out, cell_timeout, on_done)
    with StopSignals() as stop:  # SIGTERM stops the batch as Ctrl-C does (relink.batch.stopping)
        todo = batch
        try:
            todo = _skip_done(batch, settings) if resume else batch
            if distribute is not None:
                distribute(todo, settings)
            elif todo.runs:
                asyncio.run(_run_all(todo, settings, stop))
        except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM outside the kernels' loop
            if todo.interrupted:
                raise  # a second Ctrl-C while the first one's stop was under way: at once
            todo.interrupted = True
            stop.signum = stop.signum or getattr(exc, "signum", signal.SIGINT)
        with stop.deferred():  # a SIGTERM now: the summary is still written, then exit 143
            _mark_stopped(batch, todo.interrupted, stop.signum)
            batch.finished = datetime.now(UTC)
            write_summary(batch)
        batch.signal = batch.signal or stop.signum
    return batch


def _mark_stopped(batch: BatchReport, interrupted: bool, signum: int | None) -> None:
    """Say what stopped the batch: its signal, and in each account it cut short."""
    batch.interrupted = interrupted
    if interrupted:
        signum = signum or signal.SIGINT  # asyncio's Ctrl-C
        for run in batch.runs:
            if run.status == INTERRUPTED:
                run.error = f"stopped by {signal_name(signum)}"
    batch.signal = signum


@dataclass(frozen=True)
class RunSettings:
    """What every account's run of one batch shares: the notebook, the parameters given to every
    account (``-p``), where the notebooks go, the cell timeout and the progress callback.

    :func:`relink.batch.distributed.run_distributed` builds one per task on a Dask worker.
    """

    template: Template
    extra: dict[str, Any]
    out_dir: Path
    cell_timeout: float | None
    on_done: Callable[[AccountRun, int, int], None] | None
    # The output folder the executed notebook's papermill metadata names, when it is written
    # elsewhere first (a Dask worker writes into a scratch folder; the client saves it here).
    record_dir: Path | None = None


async def _run_all(
    batch: BatchReport, settings: RunSettings, stop: StopSignals | None = None
) -> None:
    """Run every account; on cancellation (Ctrl-C, or SIGTERM through ``stop``) stop the runs in
    flight and return. The kernels are stopped and their folder removed in any case."""
    stop = stop or StopSignals()  # not entered: changes no handler
    with stop.cancelling():
        await _run_queue(batch, settings, stop)


async def _run_queue(batch: BatchReport, settings: RunSettings, stop: StopSignals) -> None:
    queue: asyncio.Queue[AccountRun] = asyncio.Queue()
    for run in batch.runs:
        queue.put_nowait(run)
    done = 0
    pool = KernelPool(batch.workers, **pool_options(settings.template))

    async def worker() -> None:
        nonlocal done
        while not queue.empty():
            run = queue.get_nowait()
            await execute_account(run, pool, settings)
            done += 1
            if settings.on_done:
                settings.on_done(run, done, len(batch.runs))

    tasks: list[asyncio.Task[None]] = []
    try:
        await pool.start()
        tasks = [asyncio.create_task(worker()) for _ in range(batch.workers)]
        await asyncio.gather(*tasks)
    except asyncio.CancelledError:
        batch.interrupted = True
        current = asyncio.current_task()
        if current is not None:
            current.uncancel()  # handled here: the summary is still to be written
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        with stop.deferred():  # a SIGTERM must not cut the kernels' clean-up short
            await pool.close()


def pool_options(template: Template) -> dict[str, Any]:
    """How the kernels of ``template``'s runs are started: a notebook that changes no account
    (the audit) runs on reused kernels without the API settings; one that changes accounts (the
    runbook) gets a fresh kernel per account, with them."""
    audit_only = not template.changes_accounts
    return {"drop_env": API_SETTINGS if audit_only else (), "reuse": audit_only}


def _skip_done(batch: BatchReport, settings: RunSettings) -> BatchReport:
    """--resume: take back every account an earlier batch finished with the same inputs
    (:mod:`relink.batch.resume`); return a report of the runs still to do."""
    todo = []
    for run in batch.runs:
        try:
            inputs = _inputs_hash(run.job, settings)
        except OSError:
            todo.append(run)  # a file cannot be read: the run says so
            continue
        folder = settings.out_dir / run.job.folder
        done = done_records.restore(folder, settings.template.path.name, inputs)
        if done is None:
            todo.append(run)
            continue
        run.status, run.result, run.resumed = COMPLETED, done["result"], True
        run.notebook, run.duration = done["notebook_path"], done.get("duration")
    return BatchReport(batch.out_dir, batch.notebook, batch.workers, todo)


def _inputs_hash(job: AccountJob, settings: RunSettings) -> str:
    parameters = account_parameters(job, settings.template, settings.extra)
    return done_records.inputs_hash(job.export, job.aliexpress, settings.template.path, parameters)


def _write_done_record(
    run: AccountRun, settings: RunSettings, parameters: dict[str, Any], notebook_sha256: str
) -> None:
    job = run.job
    try:
        inputs = done_records.inputs_hash(
            job.export, job.aliexpress, settings.template.path, parameters
        )
    except OSError:
        return  # an input vanished meanwhile: no record, the account runs again on --resume
    done_records.write_record(
        settings.out_dir / job.folder,
        account=job.account,
        notebook=settings.template.path.name,
        notebook_sha256=notebook_sha256,
        inputs=inputs,
        status=run.status,
        duration=run.duration,
        error=run.error,
        finished=datetime.now(UTC).isoformat(timespec="seconds"),
    )


async def execute_account(run: AccountRun, pool: KernelPool, settings: RunSettings) -> None:
    """Run one account on a kernel of ``pool`` (locally or on a Dask worker) and fill ``run`` in;
    save its notebook, then its done-record. A failing notebook is a failed run, never raised;
    Ctrl-C raises :class:`asyncio.CancelledError` once what ran is saved."""
    job = run.job
    folder = settings.out_dir / job.folder
    folder.mkdir(exist_ok=True)
    output = folder / settings.template.path.name
    parameters = account_parameters(job, settings.template, settings.extra)
    done_records.forget(folder)  # runs again: whatever it left before is not done
    recorded = (settings.record_dir or settings.out_dir) / job.folder / output.name
    nb = engine.parameterize(
        _copy(settings.template.notebook),
        parameters,
        input_path=str(settings.template.path),
        output_path=str(recorded),
    )
    kernel, reusable = None, False
    started = time.perf_counter()
    try:
        kernel = await pool.acquire()
        started = time.perf_counter()
        await engine.RelinkEngine.async_execute_notebook(
            nb,
            pool.kernel_name,
            km=kernel,
            kc=pool.client(kernel),
            timeout=settings.cell_timeout,
            startup_timeout=pool.startup_timeout,
        )
        reusable = True  # the notebook ran to its end or to a failing cell: the kernel is fine
        run.duration = time.perf_counter() - started
        run.notebook = output
        _scrub_errors(nb)
        raise_for_execution_errors(nb, str(output))  # on error: writes, then raises
        notebook_sha256 = done_records.write_notebook(nb, output)  # atomically
        run.result = read_record(nb)
        run.status = COMPLETED if run.result else FAILED
        if not run.result:
            run.error = "the notebook recorded no relink audit result"
        elif run.left_red:
            run.status, run.error = FAILED, LEFT_RED
        _write_done_record(run, settings, parameters, notebook_sha256)  # after the notebook
    except PapermillExecutionError as exc:
        reusable = True
        run.status, run.error = FAILED, f"{exc.ename}: {first_line(report_text(exc.evalue))}"
        # Index in the saved notebook: papermill inserted two marker cells before the failing one.
        run.failed_cell, run.failed_execution_count = exc.cell_index + 2, exc.exec_count
    except (asyncio.CancelledError, Exception) as exc:
        _save_partial(run, nb, output, started)
        task = asyncio.current_task()
        # nbclient reports its own cancellation as DeadKernelError: ask the task, not the error.
        if isinstance(exc, asyncio.CancelledError) or (task and task.cancelling()):
            run.status, run.error = INTERRUPTED, "stopped by Ctrl-C"
            raise asyncio.CancelledError from None
        # A dead kernel, a kernel that never started: this account fails, the others go on.
        _log.debug("run of %s failed", job.account, exc_info=True)
        run.status, run.error = FAILED, f"{type(exc).__name__}: {first_line(str(exc))}"
    finally:
        if kernel is not None:
            pool.release(kernel, reusable=reusable)


def _save_partial(run: AccountRun, nb: NotebookNode, output: Path, started: float) -> None:
    run.duration = time.perf_counter() - started
    for index, cell in enumerate(nb.cells):
        if cell.metadata.get("papermill", {}).get("status") == engine.RUNNING:
            run.failed_cell, run.failed_execution_count = index, cell.get("execution_count")
    with contextlib.suppress(OSError):
        nbformat.write(nb, str(output))
        run.notebook = output


def report_text(text: str) -> str:
    """An error message as batch reports it: without the file content a reader quoted."""
    return _FILE_CONTENT.sub("", text or "")


def _scrub_errors(nb: NotebookNode) -> None:
    """Drop the file content errors quoted from the notebook's error outputs, before saving."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                out["evalue"] = report_text(out.get("evalue", ""))
                out["traceback"] = [report_text(line) for line in out.get("traceback", [])]


def _copy(template: NotebookNode) -> NotebookNode:
    return nbformat.from_dict(json.loads(json.dumps(template)))


def first_line(text: str) -> str:
    """The first non-empty line of an error message, stripped ("" for none)."""
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""
