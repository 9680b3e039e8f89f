"""Run the audit notebook once per account, N at a time, and write the batch summary.

Recipe (:func:`run_batch`): load the notebook once; for each account, take a fresh kernel from
a :class:`~relink.batch.kernels.KernelPool` (forked from a warm fork server through a
jupyter_client kernel provisioner, or a standard kernel where there is none), inject the
account's parameters with papermill's own ``parameterize_notebook``, execute the cells with the
``relink`` papermill engine (:mod:`relink.batch.engine`: nbclient's ``NotebookClient`` on that
kernel, reporting to papermill's execution manager, so the executed notebook carries papermill's
metadata and injected-parameters cell, exactly as ``papermill`` would write it), save it as
``DIR/<account>/<notebook name>``, then read the recorded result back from it
(:func:`relink.display.read_record`). Finally write ``summary.csv``,
``summary.json`` and ``summary.html``.

A failing run does not stop the others: it is listed with the error and the failing cell, and
its partial notebook is kept (with papermill's error markers). Ctrl-C cancels the runs in
flight, kills every kernel, and still writes the summary for what finished.

Nothing secret goes in as a parameter: :func:`check_parameters` refuses secret-looking names
and values equal to a secret in the environment or in the working directory's ``.env``. The
kernels of a notebook that changes no account (one without a ``target_aliexpress_account``
parameter, such as the audit notebook) do not even inherit the API settings.

Nothing changes an account by accident: a batch whose notebook declares ``steps`` and will run
``unlink`` or ``relink`` (:func:`destructive_steps`) starts only with ``allow_destructive``
(``--allow-destructive``) and ``-p confirm true``, and only when every account comes from a
manifest naming its own target AliExpress account and ticket (:func:`check_destructive`).
Each account then gets its ``target_aliexpress_account`` and ``ticket`` from its manifest row.

A runbook result carries the link's ``light``: an account left red (nothing linked, DSers
cannot place its orders) is a failure, listed first in every summary.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import csv
import json
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from papermill import PapermillExecutionError
from papermill.execute import raise_for_execution_errors
from papermill.iorw import load_notebook_node
from papermill.translators import PythonTranslator

from relink.api.settings import read_env_file
from relink.batch import engine, reports
from relink.batch import resume as done_records
from relink.batch import summary as report
from relink.batch.kernels import KernelPool
from relink.batch.manifest import AccountJob
from relink.display import read_record
from relink.errors import BatchError
from relink.resources import AUDIT_NOTEBOOK, RUNBOOK_NOTEBOOK

DEFAULT_NOTEBOOK: Path = AUDIT_NOTEBOOK  # notebooks/audit.ipynb, packaged (relink.resources)
RUNBOOK_NOTEBOOK: Path = RUNBOOK_NOTEBOOK  # runbook/change_aliexpress_account.ipynb, packaged
ACCOUNT_PARAMETERS = ("export_path", "aliexpress_path", "account")  # set per account by batch
# Set per account from the manifest when the notebook declares them (the runbook does).
TICKET_PARAMETERS = ("target_aliexpress_account", "ticket")
DESTRUCTIVE_STEPS = frozenset({"unlink", "relink"})
# Never handed to the kernels of a notebook that changes no account.
API_SETTINGS = ("RELINK_API_TOKEN", "RELINK_API_URL")
COMPLETED, FAILED, INTERRUPTED, NOT_RUN = "completed", "failed", "interrupted", "not run"
LEFT_RED = "left red: nothing linked (DSers cannot place orders)"
_SECRET_NAME = re.compile(r"token|secret|passw|api_?key|credential|private", re.IGNORECASE)
_log = logging.getLogger("relink.batch.runner")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# What a reader of export files quotes from the file itself: the header cells it found.
# Batch reports (summaries, executed notebooks) say what is wrong, never what a file holds:
# a manifest may name a file that is not an export at all.
_FILE_CONTENT = re.compile(r"; columns found: .*", re.DOTALL)


@dataclass
class AccountRun:
    """What became of one account's run.

    ``failed_cell`` is the 0-based index of the failing cell in the saved notebook (papermill's
    error markers included), ``failed_execution_count`` its ``In [n]``.
    """

    job: AccountJob
    status: str = NOT_RUN
    notebook: Path | None = None
    duration: float | None = None
    result: dict[str, Any] | None = None
    error: str = ""
    failed_cell: int | None = None
    failed_execution_count: int | None = None
    resumed: bool = False  # finished by an earlier batch into the same folder (--resume)

    @property
    def left_red(self) -> bool:
        """The runbook recorded a red light: nothing is linked at the end."""
        return (self.result or {}).get("light") == "red"

    def summary_row(self, out_dir: Path) -> dict[str, Any]:
        """One row of the summary (:func:`relink.batch.summary.summary_columns`).

        The ticket columns (``ticket`` to ``api``) are empty for an audit result.
        """
        result = self.result or {}
        blocking = result.get("blocking") or {}
        override = result.get("override")
        if isinstance(override, dict):
            override = override.get("reason") or "yes"
        row: dict[str, Any] = {
            "account": self.job.account,
            "status": self.status,
            "ticket": result.get("ticket") or self.job.ticket,
            "target": result.get("target_aliexpress_account") or self.job.target,
            "light": result.get("light", ""),
            "steps_done": ",".join(str(step) for step in result.get("steps_done") or []),
            "linked": result.get("linked_aliexpress_account") or "",
            "override": str(override or ""),
            "api": result.get("api") or "",
            "verdict": result.get("verdict", ""),
            "orders": result.get("orders"),
            "blocked_orders": result.get("blocked_orders"),
            **{str(reason): count for reason, count in blocking.items()},
            "rows_in": result.get("rows_in"),
            "rows_rejected": result.get("rows_rejected"),
            "export": self.job.export.name,
            "notebook": self.notebook.relative_to(out_dir).as_posix() if self.notebook else "",
            "duration_s": None if self.duration is None else round(self.duration, 2),
            "error": self.error,
            "failed_cell": self.failed_cell,
            "failed_execution_count": self.failed_execution_count,
        }
        report_file = reports.report_path(self.notebook) if self.notebook else None
        row["report"] = (
            report_file.relative_to(out_dir).as_posix()
            if report_file is not None and report_file.is_file()
            else ""
        )
        row["problem"] = report.problem_text(row, self.failed_section())
        row["resumed"] = self.resumed
        return row

    def failed_section(self) -> str:
        """The heading of the notebook section whose cell failed ("" when unknown)."""
        if self.failed_cell is None or self.notebook is None:
            return ""
        try:
            cells = nbformat.read(str(self.notebook), as_version=4).cells
        except Exception:  # a half-written notebook: the error still says what failed
            return ""
        for cell in reversed(cells[: self.failed_cell]):
            tags = cell.get("metadata", {}).get("tags", [])
            if cell.cell_type == "markdown" and "papermill-error-cell-tag" not in tags:
                for line in cell.source.splitlines():
                    if line.startswith("#"):
                        return line.lstrip("#").strip()
        return ""


@dataclass
class BatchReport:
    """Every account's run, in input order, and where the summary went."""

    out_dir: Path
    notebook: Path
    workers: int
    runs: list[AccountRun]
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished: datetime | None = None
    interrupted: bool = False
    previous: dict[str, Any] | None = None  # --compare: the previous batch's summary.json
    comparison: dict[str, Any] | None = None  # what changed since (written by write_summary)

    @property
    def failed(self) -> list[AccountRun]:
        return [run for run in self.runs if run.status == FAILED]

    @property
    def summary_order(self) -> list[AccountRun]:
        """The runs as every summary lists them: accounts left red first, then input order."""
        return sorted(self.runs, key=lambda run: not run.left_red)


@dataclass(frozen=True)
class Template:
    """The notebook every account runs, outputs dropped, and its parameters' declared types."""

    path: Path
    notebook: NotebookNode
    declared: dict[str, str]
    defaults: dict[str, str] = field(default_factory=dict)  # each default's source text

    @property
    def changes_accounts(self) -> bool:
        """The notebook takes a target AliExpress account: it is the runbook, not an audit."""
        return "target_aliexpress_account" in self.declared


def load_template(path: str | Path) -> Template:
    """Load the notebook to run, with its stored outputs dropped (a run replaces them anyway).

    Raises:
        BatchError: the file is missing or not a notebook, has no ``parameters`` cell, is not a
            Python notebook, or does not declare the account parameters.
    """
    path = Path(path)
    if not path.is_file():
        hint = " (pass --notebook)" if path == DEFAULT_NOTEBOOK else ""
        raise BatchError(f"{path}: no such notebook{hint}")
    try:
        template = load_notebook_node(str(path))
    except Exception as exc:  # nbformat raises several unrelated types for a bad file
        raise BatchError(f"{path}: not a readable notebook ({type(exc).__name__})") from exc
    language = template.metadata.get("kernelspec", {}).get("language", "python")
    if language != "python":
        raise BatchError(f"{path}: relink batch runs Python notebooks, not {language}")
    tagged = [cell for cell in template.cells if "parameters" in cell.metadata.get("tags", [])]
    if not tagged:
        raise BatchError(f"{path}: no cell is tagged 'parameters'")
    # What `papermill --help-notebook` reads: the declared names, types and defaults.
    declared = {spec.name: spec for spec in PythonTranslator.inspect(tagged[0])}
    missing = [name for name in ACCOUNT_PARAMETERS if name not in declared]
    if missing:
        raise BatchError(f"{path}: its parameters cell lacks {', '.join(missing)}")
    for cell in template.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    types = {name: spec.inferred_type_name for name, spec in declared.items()}
    defaults = {name: spec.default for name, spec in declared.items()}
    return Template(path, template, types, defaults)


def check_parameters(
    template: Template, parameters: dict[str, str], *, destructive: bool = False
) -> dict[str, Any]:
    """Validate ``-p NAME VALUE`` pairs and convert each to the type its notebook declares.

    Raises:
        BatchError: a name is unknown to the notebook, set per account by batch (always for
            the account's files, in a ``destructive`` batch for its target and ticket), an
            override, or looks like a secret; a value is a secret from the environment or the
            working directory's ``.env``, or does not fit the type.
    """
    declared = template.declared
    converted: dict[str, Any] = {}
    for name, value in parameters.items():
        if name in ACCOUNT_PARAMETERS:
            raise BatchError(f"-p {name}: set per account by relink batch")
        if name not in declared:
            raise BatchError(f"-p {name}: the notebook has no such parameter")
        if destructive and name in TICKET_PARAMETERS:
            raise BatchError(
                f"-p {name}: per account, from the manifest (never one for the whole batch)"
            )
        if name.startswith("override"):
            raise BatchError(
                f"-p {name}: an override is decided for one ticket by a person, never in a batch"
            )
        if _SECRET_NAME.search(name) or value in _secrets():
            raise BatchError(
                f"-p {name}: secrets never go in parameters (papermill writes them into the "
                "executed notebook); the notebook reads them from the environment"
            )
        converted[name] = _convert(name, value, declared[name])
    return converted


def destructive_steps(template: Template, parameters: dict[str, str]) -> list[str]:
    """The steps that change an account (unlink, relink) the notebook will run; [] for none.

    Only a notebook that declares ``steps`` runs steps: those of ``-p steps``, else its
    default. A default that cannot be read as a literal counts as destructive.
    """
    if "steps" not in template.declared:
        return []
    if "steps" in parameters:
        steps: Any = parameters["steps"]
    else:
        try:
            steps = ast.literal_eval(template.defaults.get("steps") or "''")
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return sorted(DESTRUCTIVE_STEPS)  # unknown: assume the worst
    names = re.split(r"[\s,]+", steps) if isinstance(steps, str) else list(steps or [])
    found = [str(n).strip().lower() for n in names]
    return [name for name in dict.fromkeys(found) if name in DESTRUCTIVE_STEPS]


def check_destructive(
    template: Template,
    parameters: dict[str, str],
    jobs: Sequence[AccountJob],
    *,
    allow_destructive: bool = False,
) -> list[str]:
    """Refuse a batch that would change accounts without every safeguard; return its steps.

    A destructive batch (:func:`destructive_steps`) needs ``allow_destructive``, a notebook
    that takes ``target_aliexpress_account`` and ``ticket``, ``-p confirm true`` (when the
    notebook declares ``confirm``), and every account from a manifest with its own target and
    ticket, each account once.

    Raises:
        BatchError: one safeguard is missing; the message names the account and its row.
    """
    steps = destructive_steps(template, parameters)
    if not steps:
        return []
    what = f"steps {','.join(steps)} change accounts"
    if not allow_destructive:
        raise BatchError(f"{what}: pass --allow-destructive (and -p confirm true) to run them")
    lacking = [name for name in TICKET_PARAMETERS if name not in template.declared]
    if lacking:
        raise BatchError(
            f"{what}, but {template.path.name} takes no {' nor '.join(lacking)} parameter: "
            "batch could not give each account its own target and ticket from the manifest"
        )
    confirm = parameters.get("confirm", "")
    if "confirm" in template.declared and confirm.strip().lower() not in {"true", "1", "yes"}:
        raise BatchError(f"{what}: pass -p confirm true as well as --allow-destructive")
    accounts: dict[str, AccountJob] = {}
    for job in jobs:
        if not job.from_manifest:
            raise BatchError(
                f"{job.account} ({job.export.name}): {what}, so every account must come from a "
                "manifest naming its target and ticket, not from a plain export or folder"
            )
        missing = [key for key in ("target", "ticket") if not getattr(job, key)]
        if missing:
            raise BatchError(
                f"{job.source} (account {job.account}): no {' and no '.join(missing)}; {what}, "
                "so each account needs its own target AliExpress account and ticket"
            )
        if job.account in accounts:
            raise BatchError(
                f"{job.source}: account {job.account} is listed twice (also at "
                f"{accounts[job.account].source}): one ticket per account per batch"
            )
        accounts[job.account] = job
    return steps


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
    distribute: Callable[[BatchReport, _Settings], None] | None = None,
    resume: bool = False,
    compare: str | Path | None = None,
) -> BatchReport:
    """Run ``notebook`` for every job's account, ``workers`` at a time; write the summary.

    With ``distribute`` (``relink.batch.distributed.on_cluster("tcp://HOST:PORT")``) every
    account runs as a task on that Dask cluster instead (the ``relink[dask]`` extra;
    ``workers`` is then the cluster's threads); the summary is written the same way.

    ``on_done(run, done, total)`` is called as each account finishes. Returns the report with
    ``interrupted`` set if Ctrl-C stopped the batch. A batch that would unlink or relink
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
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchError(f"{out}: cannot create the output folder ({exc.strerror})") from exc
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    batch = BatchReport(out, template.path, workers, [AccountRun(job) for job in jobs])
    batch.previous = report.load_previous(compare) if compare else None
    settings = _Settings(template, extra, out, cell_timeout, on_done)
    todo = _skip_done(batch, settings) if resume else batch
    if distribute is not None:
        distribute(todo, settings)
    elif todo.runs:
        asyncio.run(_run_all(todo, settings))
    batch.interrupted = todo.interrupted
    batch.finished = datetime.now(UTC)
    write_summary(batch)
    return batch


def write_summary(batch: BatchReport) -> None:
    """Write each account's report (missing or stale ones), then ``summary.csv``,
    ``summary.xlsx``, ``summary.json`` and ``summary.html`` into the output folder.

    With ``batch.previous`` (``--compare``) the JSON and the page say what changed since.
    """
    runs = batch.summary_order
    reports.render_missing([run.notebook for run in runs if run.notebook is not None])
    rows = [run.summary_row(batch.out_dir) for run in runs]
    reasons = report.reasons_in(run.result for run in runs)
    columns = report.summary_columns(reasons)
    with (batch.out_dir / "summary.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=columns, restval="", extrasaction="ignore", lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows({key: csv_safe(value) for key, value in row.items()} for row in rows)
    report.write_xlsx(batch.out_dir / "summary.xlsx", columns, rows)
    comparison = report.compare(batch.previous, rows) if batch.previous else None
    batch.comparison = comparison
    document = {
        "schema_version": 1,
        "notebook": batch.notebook.name,
        "started": batch.started.isoformat(timespec="seconds"),
        "finished": batch.finished.isoformat(timespec="seconds") if batch.finished else None,
        "workers": batch.workers,
        "interrupted": batch.interrupted,
        "resumed": sum(run.resumed for run in runs),
        "totals": report.fleet_totals(rows, reasons),
        "compare": comparison,
        "accounts": [{**row, "result": run.result} for row, run in zip(rows, runs, strict=True)],
    }
    (batch.out_dir / "summary.json").write_text(
        json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    when = batch.started.strftime("%Y-%m-%d %H:%M UTC")
    generated = f"relink batch, {when}: notebook {batch.notebook.name}, {batch.workers} worker(s)"
    resumed = document["resumed"]
    if resumed:
        generated += f"; {resumed} account(s) taken from an earlier run (--resume)"
    if batch.interrupted:
        generated += " (interrupted by Ctrl-C: the accounts not run are listed as such)"
    tickets = any("light" in (run.result or {}) for run in runs)
    title = "relink batch ticket summary" if tickets else "relink batch audit summary"
    page = report.summary_html(
        rows,
        title=title,
        generated=generated,
        reasons=reasons,
        tickets=tickets,
        comparison=comparison,
    )
    (batch.out_dir / "summary.html").write_text(page, encoding="utf-8")


def csv_safe(value: Any) -> Any:
    """``value`` for a CSV cell a spreadsheet will not run: text that starts a formula
    (``= + - @``, tab, carriage return, or the full-width ``＝ ＋ － ＠`` some spreadsheets
    fold to them) gets a leading apostrophe.

    A carriage return inside the text becomes a line feed: Python 3.11's writer would not quote
    it, and a reader would split the row there.
    """
    if not isinstance(value, str):
        return value
    if value.startswith(_FORMULA_START):
        value = "'" + value
    return value.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(frozen=True)
class _Settings:
    template: Template
    extra: dict[str, Any]
    out_dir: Path
    cell_timeout: float | None
    on_done: Callable[[AccountRun, int, int], None] | None
    # The output folder the executed notebook's papermill metadata names, when it is written
    # elsewhere first (a Dask worker writes into a scratch folder; the client saves it here).
    record_dir: Path | None = None


async def _run_all(batch: BatchReport, settings: _Settings) -> None:
    """Run every account; on cancellation (Ctrl-C) stop the runs in flight and return."""
    queue: asyncio.Queue[AccountRun] = asyncio.Queue()
    for run in batch.runs:
        queue.put_nowait(run)
    done = 0
    pool = KernelPool(
        batch.workers, drop_env=() if settings.template.changes_accounts else API_SETTINGS
    )

    async def worker() -> None:
        nonlocal done
        while not queue.empty():
            run = queue.get_nowait()
            await _run_account(run, pool, settings)
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
        await pool.close()


def account_parameters(
    job: AccountJob, template: Template, extra: dict[str, Any]
) -> dict[str, Any]:
    """The parameters one account's run gets: its files and name, ``-p``, its ticket."""
    parameters = {
        "export_path": str(job.export),
        "aliexpress_path": str(job.aliexpress or ""),
        "account": job.account,
        **extra,
    }
    for name, value in (("target_aliexpress_account", job.target), ("ticket", job.ticket)):
        if name in template.declared and value:
            parameters[name] = value  # the manifest's, for this account
    return parameters


def _skip_done(batch: BatchReport, settings: _Settings) -> BatchReport:
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


def _inputs_hash(job: AccountJob, settings: _Settings) -> str:
    parameters = account_parameters(job, settings.template, settings.extra)
    return done_records.inputs_hash(job.export, job.aliexpress, settings.template.path, parameters)


def _write_done_record(
    run: AccountRun, settings: _Settings, parameters: dict[str, Any], notebook_sha256: str
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


async def _run_account(run: AccountRun, pool: KernelPool, settings: _Settings) -> None:
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
    kernel = None
    started = time.perf_counter()
    try:
        kernel = await pool.acquire()
        started = time.perf_counter()
        await engine.RelinkEngine.async_execute_notebook(
            nb,
            pool.kernel_name,
            km=kernel,
            timeout=settings.cell_timeout,
            startup_timeout=pool.startup_timeout,
        )
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
        run.status, run.error = FAILED, f"{exc.ename}: {_first_line(report_text(exc.evalue))}"
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
        run.status, run.error = FAILED, f"{type(exc).__name__}: {_first_line(str(exc))}"
    finally:
        if kernel is not None:
            pool.release(kernel)


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


def _secrets() -> set[str]:
    """Secret values a parameter must not carry: from the environment and from ``.env``."""
    try:
        from_file = read_env_file(".env")
    except (OSError, UnicodeDecodeError):
        from_file = {}
    found = {**from_file, **os.environ}
    pairs = [*found.items(), *from_file.items()]
    return {value for key, value in pairs if _SECRET_NAME.search(key) and len(value) >= 4}


def _convert(name: str, value: str, type_name: str) -> Any:
    try:
        if type_name == "int":
            return int(value)
        if type_name == "float":
            return float(value)
    except ValueError:
        raise BatchError(f"-p {name}: {value!r} is not a {type_name}") from None
    if type_name == "bool":
        if value.lower() not in {"true", "false", "1", "0", "yes", "no"}:
            raise BatchError(f"-p {name}: {value!r} is not true or false")
        return value.lower() in {"true", "1", "yes"}
    return value


def _first_line(text: str) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""
