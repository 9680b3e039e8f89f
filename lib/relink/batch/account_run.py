"""One account's run (:func:`execute_account`), locally or on a Dask worker: papermill's
parameterisation, the cells on a kernel of the pool through the ``relink`` papermill engine,
then the executed notebook written (atomically), its recorded result read back, its
done-record (:mod:`relink.batch.resume`), and its merchant messages and report
(:func:`write_account_pages`).

A failing notebook is a failed run (with its error and failing cell), never an exception; a
dead kernel, one that never started, fails only its account. Ctrl-C (or SIGTERM) cancels the
run: what ran is saved, and :class:`asyncio.CancelledError` goes on up. An account the runbook
left red (nothing linked, DSers cannot place its orders) is a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import sys
import time
from collections.abc import Callable
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
from relink.batch.parameters import Template, account_parameters
from relink.batch.runs import COMPLETED, FAILED, INTERRUPTED, AccountRun
from relink.batch.summary import reports
from relink.batch.summary.files import write_messages
from relink.batch.summary.report_process import ReportProcess
from relink.display import read_record

LEFT_RED = "left red: nothing linked (DSers cannot place orders)"
_log = logging.getLogger("relink.batch.account_run")
# What a reader of export files quotes from the file itself: the header cells it found.
# Batch reports (summaries, executed notebooks) say what is wrong, never what a file holds:
# a manifest may name a file that is not an export at all.
_FILE_CONTENT = re.compile(r"; columns found: .*", re.DOTALL)


@dataclass(frozen=True)
class RunSettings:
    """What every account's run of one batch shares: the notebook, the parameters given to every
    account (``-p``), where the notebooks go, the cell timeout and the progress callback.

    A Dask worker builds one per task (:mod:`relink.batch.dask_worker`).
    """

    template: Template
    extra: dict[str, Any]
    out_dir: Path
    cell_timeout: float | None
    on_done: Callable[[AccountRun, int, int], None] | None
    # The output folder the executed notebook's papermill metadata names, when it is written
    # elsewhere first (a Dask worker writes into a scratch folder; the client saves it here).
    record_dir: Path | None = None
    # The merchant messages' language where an account's manifest entry gives none (--lang).
    language: str = ""


async def execute_account(run: AccountRun, pool: KernelPool, settings: RunSettings) -> None:
    """Run one account on a kernel of ``pool`` (locally or on a Dask worker) and fill ``run`` in;
    save its notebook, then its done-record (the caller then writes its merchant messages and
    report, :func:`write_account_pages`). A failing notebook is a failed run, never raised;
    Ctrl-C raises :class:`asyncio.CancelledError` once what ran is saved."""
    job = run.job
    folder = settings.out_dir / job.folder
    folder.mkdir(exist_ok=True)
    parameters = account_parameters(job, settings.template, settings.extra)
    done_records.forget(folder)  # runs again: whatever it left before is not done
    recorded = (settings.record_dir or settings.out_dir) / job.folder / settings.template.path.name
    nb = engine.parameterize(
        _copy(settings.template.notebook),
        parameters,
        input_path=str(settings.template.path),
        output_path=str(recorded),
    )
    await _execute(run, nb, pool, settings, parameters)


async def _execute(
    run: AccountRun,
    nb: NotebookNode,
    pool: KernelPool,
    settings: RunSettings,
    parameters: dict[str, Any],
) -> None:
    output = settings.out_dir / run.job.folder / settings.template.path.name
    kernel = None
    stopped = False
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
        # The notebook ran to its end or to a failing cell: the kernel is fine, and free for
        # the next account while this one is written.
        pool.release(kernel, reusable=True)
        kernel = None
        run.duration = time.perf_counter() - started
        run.notebook = output
        stopped = await _save_seen_through(run, nb, settings, parameters)
    except PapermillExecutionError as exc:
        _failed_in_cell(run, exc)
    except (asyncio.CancelledError, Exception) as exc:
        _save_partial(run, nb, output, started)
        task = asyncio.current_task()
        # nbclient reports its own cancellation as DeadKernelError: ask the task, not the error.
        if isinstance(exc, asyncio.CancelledError) or (task and task.cancelling()):
            run.status, run.error = INTERRUPTED, "stopped by Ctrl-C"
            raise asyncio.CancelledError from None
        # A dead kernel, a kernel that never started: this account fails, the others go on.
        _log.debug("run of %s failed", run.job.account, exc_info=True)
        run.status, run.error = FAILED, f"{type(exc).__name__}: {first_line(str(exc))}"
    finally:
        if kernel is not None:  # it died, timed out or was interrupted: not reused
            pool.release(kernel)
    if stopped:  # a stop came while the run was being saved: saved first, stopped now
        raise asyncio.CancelledError


async def _save_seen_through(
    run: AccountRun, nb: NotebookNode, settings: RunSettings, parameters: dict[str, Any]
) -> bool:
    """:func:`_save_executed` in a thread, so that its writes and their fsyncs (a few
    milliseconds each) never hold up the loop that serves the other kernels; seen through to its
    end even when a stop comes meanwhile, so that a stop finds the run either not saved or saved
    (its done-record written, or failed in a cell), never a done-record beside an interrupted
    run. Returns whether a stop came.

    Raises:
        PapermillExecutionError: a cell failed (no stop came meanwhile).
    """
    saving = asyncio.ensure_future(asyncio.to_thread(_save_executed, run, nb, settings, parameters))
    stopped = False
    while True:
        try:
            await asyncio.shield(saving)
            return stopped
        except asyncio.CancelledError:
            stopped = True
            if not saving.done():
                continue  # the writes go on in their thread: wait for them
        except PapermillExecutionError as exc:
            if not stopped:
                raise
            _failed_in_cell(run, exc)
            return True


def _failed_in_cell(run: AccountRun, exc: PapermillExecutionError) -> None:
    run.status, run.error = FAILED, f"{exc.ename}: {first_line(report_text(exc.evalue))}"
    # Index in the saved notebook: papermill inserted two marker cells before the failing one.
    run.failed_cell, run.failed_execution_count = exc.cell_index + 2, exc.exec_count


def _save_executed(
    run: AccountRun, nb: NotebookNode, settings: RunSettings, parameters: dict[str, Any]
) -> None:
    """Write the executed notebook (atomically), read its record back, then write the
    done-record.

    Raises:
        PapermillExecutionError: a cell failed (the notebook is written first, with
            papermill's error markers).
    """
    _scrub_errors(nb)
    raise_for_execution_errors(nb, str(run.notebook))  # on error: writes, then raises
    notebook_sha256 = done_records.write_notebook(nb, run.notebook)  # atomically
    run.result = read_record(nb)
    run.status = COMPLETED if run.result else FAILED
    if not run.result:
        run.error = "the notebook recorded no relink audit result"
    elif run.left_red:
        run.status, run.error = FAILED, LEFT_RED
    _write_done_record(run, settings, parameters, notebook_sha256)  # after the notebook


# From this many accounts on, a batch writes its reports and messages in a report process. Its
# start costs about 0.7 s of CPU (nbconvert's imports, on another core); a report rendered in a
# thread costs its own 15 ms and holds up the kernels' loop meanwhile, about 0.1 s of a batch's
# time a report (measured on 40 accounts, 2 workers): below this, the thread is the cheaper.
REPORT_PROCESS_FROM = 6


class PageWriter:
    """Writes finished accounts' pages (:func:`write_account_pages`) beside the kernels running
    the next accounts: a worker goes on to its next account at once.

    The reports and messages are written by a process of their own
    (:class:`~relink.batch.summary.report_process.ReportProcess`), started here, asked from
    threads that wait for it. Without the process (a batch of fewer than
    :data:`REPORT_PROCESS_FROM` accounts, or it could not start), they are written in the
    threads, with the switch interval of Python's lock shortened meanwhile (5 ms to 0.5 ms) so
    that they never keep the loop that serves the kernels waiting long.
    """

    def __init__(self, accounts: int = REPORT_PROCESS_FROM) -> None:
        self._pending: set[asyncio.Future[None]] = set()
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._interval, 0.0005))
        self._reports: ReportProcess | None = None
        if accounts < REPORT_PROCESS_FROM:
            return
        try:
            self._reports = ReportProcess()
        except OSError:
            _log.debug("no report process: reports rendered in threads", exc_info=True)

    def submit(self, run: AccountRun, language: str = "") -> None:
        if run.notebook is not None:
            write = asyncio.to_thread(write_account_pages, run, language, self._reports)
            future = asyncio.ensure_future(write)
            self._pending.add(future)
            future.add_done_callback(self._pending.discard)

    async def close(self) -> None:
        """Wait for the pages under way (a page not written is written by the summary)."""
        try:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
            if self._reports is not None:
                await asyncio.to_thread(self._reports.close)
        finally:
            sys.setswitchinterval(self._interval)


def write_account_pages(
    run: AccountRun, language: str = "", report_process: ReportProcess | None = None
) -> None:
    """The account's merchant messages and report, beside its notebook, as the summary writes
    them (:func:`relink.batch.summary.write_messages`, then its report; both by
    ``report_process`` when given): written as each account finishes, while the kernels run the
    next ones, rather than all at the end. The summary then finds them up to date, and writes
    or renders again only what changed (on ``--resume``, or when this failed: it is tried again
    there, and said there)."""
    language = run.job.language or language
    try:
        if report_process is not None:
            report_process.render(run.notebook, run.result, language)
        else:
            write_messages(run.notebook.parent, run.result, language)
            reports.render_report(run.notebook)
    except Exception:
        _log.debug("pages of %s: left to the summary", run.job.account, exc_info=True)


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
