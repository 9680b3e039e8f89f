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
(:func:`relink.display.read_record`): one account's run is :mod:`relink.batch.account_run`.
Finally write the summary
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
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from relink.batch import resume as done_records
from relink.batch.account_run import LEFT_RED as LEFT_RED
from relink.batch.account_run import PageWriter, RunSettings, execute_account
from relink.batch.account_run import first_line as first_line
from relink.batch.account_run import report_text as report_text
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
from relink.batch.runs import COMPLETED, INTERRUPTED, AccountRun, BatchReport
from relink.batch.runs import FAILED as FAILED
from relink.batch.stopping import StopSignals, signal_name
from relink.batch.summary import load_previous, write_summary
from relink.batch_helpers import API_SETTINGS
from relink.errors import BatchError


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
    extra = _checked(template, parameters or {}, jobs, allow_destructive)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchError(f"{out}: cannot create the output folder ({exc.strerror})") from exc
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    # each account's language, --lang where its manifest gives none: its pages are written
    # as it finishes (relink.batch.account_run.write_account_pages), before the summary
    jobs = [replace(job, language=job.language or language) for job in jobs]
    batch = BatchReport(out, template.path, workers, [AccountRun(job) for job in jobs])
    batch.skipped = list(skipped)
    batch.language = language
    batch.previous = load_previous(compare) if compare else None
    settings = RunSettings(template, extra, out, cell_timeout, on_done, language=language)
    _run_and_summarise(batch, settings, distribute, resume=resume)
    return batch


def _checked(
    template: Template, parameters: dict[str, str], jobs: Sequence[AccountJob], allow: bool
) -> dict[str, Any]:
    """The ``-p`` parameters every account gets, once every check passed (see run_batch)."""
    destructive = destructive_steps(template, parameters)
    extra = check_parameters(template, parameters, destructive=bool(destructive))
    check_destructive(template, parameters, jobs, allow_destructive=allow)
    check_account_values(jobs)
    return extra


def _run_and_summarise(
    batch: BatchReport,
    settings: RunSettings,
    distribute: Callable[[BatchReport, RunSettings], None] | None,
    *,
    resume: bool,
) -> None:
    """Run what is to run (here or on the cluster), then write the summary, whatever stopped
    the runs."""
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


def _mark_stopped(batch: BatchReport, interrupted: bool, signum: int | None) -> None:
    """Say what stopped the batch: its signal, and in each account it cut short."""
    batch.interrupted = interrupted
    if interrupted:
        signum = signum or signal.SIGINT  # asyncio's Ctrl-C
        for run in batch.runs:
            if run.status == INTERRUPTED:
                run.error = f"stopped by {signal_name(signum)}"
    batch.signal = signum


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

    pages = PageWriter(len(batch.runs))

    async def worker() -> None:
        nonlocal done
        while not queue.empty():
            run = queue.get_nowait()
            await execute_account(run, pool, settings)
            pages.submit(run, settings.language)  # its messages and report, meanwhile
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
            await pages.close()


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
        done_records.clear_leftovers(folder)  # its messages or report cut short: written again
        run.status, run.result, run.resumed = COMPLETED, done["result"], True
        run.notebook, run.duration = done["notebook_path"], done.get("duration")
    return BatchReport(batch.out_dir, batch.notebook, batch.workers, todo)


def _inputs_hash(job: AccountJob, settings: RunSettings) -> str:
    parameters = account_parameters(job, settings.template, settings.extra)
    return done_records.inputs_hash(job.export, job.aliexpress, settings.template.path, parameters)
