"""Where a ``relink batch`` account's time goes: start-up, kernel, each cell, writing, report.

Runs ``relink.batch.runner.run_batch`` in this process on ``--accounts`` copies of the bundled
samples (as ``batch_speed.py`` makes them) with ``--workers`` (default 1, so that the stages
add up to the batch's time), timing each stage with wrappers around the functions that do it:

- start-up: the kernel pool's start (the fork server's imports), once per batch;
- kernel: waiting for a started (or reset) kernel, per account;
- each cell: papermill's duration of the cell (what the batch waits for), and the kernel's own
  time (nbclient's ``execute_input`` to ``execute_reply``); the difference, summed with the
  kernel-info request, is the messaging overhead;
- writing the executed notebook, the done-record, the merchant messages, the report (nbconvert;
  rendered here in this process even where the batch would use a process pool);
- the summary files (what ``write_summary`` spends besides messages and reports).

Wall-clock milliseconds per account (a stage that runs once is divided by the accounts); a
stage that runs in a thread beside the kernels (the report, after issue 22) is timed in its
thread and overlaps the next account's cells, so the stages may add up to more than the total. It
works on the code before and after the speed work (the wrapped names exist in both), so the
two profiles in benchmarks/README.md come from the same script.

Usage: ``python benchmarks/batch_profile.py [--accounts 24] [--workers 1]``
"""

from __future__ import annotations

import argparse
import collections
import functools
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

from relink.batch import kernels, resume, runner

try:
    from relink.batch import account_run
except ImportError:  # before issue 22, one account's run lived in runner
    account_run = runner
from relink.batch.engine import RelinkEngine
from relink.batch.manifest import collect_inputs
from relink.batch.summary import files, report_process, reports

sys.path.insert(0, str(Path(__file__).parent))
from batch_speed import make_accounts

SPENT: collections.Counter[str] = collections.Counter()
SUMMARY = "summary files (all, once)"
_in_summary = False  # inside write_summary: its messages and reports are counted apart


def _timed(owner: Any, name: str, stage: str) -> None:
    """Wrap ``owner.name`` (a function or coroutine function) to add its time to ``stage``."""
    if not hasattr(owner, name):
        return
    original = getattr(owner, name)
    if getattr(original, "_profiled", False):
        return

    def add(started: float) -> None:
        where = f"{stage} (in the summary)" if _in_summary and stage != SUMMARY else stage
        SPENT[where] += time.perf_counter() - started

    if _is_coroutine(original):

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                add(started)

    else:

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            global _in_summary
            started = time.perf_counter()
            _in_summary = _in_summary or stage == SUMMARY
            try:
                return original(*args, **kwargs)
            finally:
                add(started)
                _in_summary = _in_summary and stage != SUMMARY

    wrapper._profiled = True  # type: ignore[attr-defined]
    if isinstance(owner, type) and isinstance(owner.__dict__.get(name), classmethod):
        setattr(owner, name, classmethod(lambda cls, *a, **k: wrapper(*a, **k)))
    else:
        setattr(owner, name, wrapper)


def _is_coroutine(function: Callable[..., Any]) -> bool:
    import inspect

    return inspect.iscoroutinefunction(function)


def _in_process(render: Callable[..., Any], notebooks: Any, **_: Any) -> Any:
    return render(notebooks, processes=1)


def instrument() -> None:
    # Reports the summary renders (before issue 22: all of them), in this process so that they
    # are timed (the batch renders more than 8 in a process pool).
    for name in ("render_missing", "render_stale"):  # its name before and after issue 21
        if hasattr(reports, name):
            render = getattr(reports, name)
            setattr(reports, name, functools.partial(_in_process, render))
    _timed(kernels.KernelPool, "start", "start-up: fork server and first kernels")
    _timed(NotebookClient, "async_start_new_kernel_client", "kernel: connect, wait until ready")
    _timed(kernels.KernelPool, "acquire", "kernel: wait for a started or reset kernel")
    _timed(RelinkEngine, "async_execute_notebook", "execute (engine)")
    _timed(resume, "write_notebook", "write the executed notebook")
    for module in (runner, account_run):  # where they live before and after issue 22
        _timed(module, "_write_done_record", "write the done-record")
        _timed(module, "write_messages", "merchant messages")
    _timed(files, "write_messages", "merchant messages")
    _timed(reports, "render_report", "report (nbconvert)")
    # since issue 22: rendered by the report process; the time a page thread waits for it
    _timed(report_process.ReportProcess, "render", "report (report process, waited for)")
    _timed(runner, "write_summary", SUMMARY)


def cell_times(notebooks: list[Path]) -> tuple[dict[str, float], dict[str, float]]:
    """Per code cell (by its last line): papermill's duration, and the kernel's own time."""
    waited: dict[str, float] = collections.defaultdict(float)
    kernel: dict[str, float] = collections.defaultdict(float)
    for path in notebooks:
        nb = nbformat.read(str(path), as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            tags = cell.metadata.get("tags", [])
            label = "injected parameters" if "injected-parameters" in tags else None
            label = label or cell.source.strip().splitlines()[-1][:60]
            waited[label] += cell.metadata.get("papermill", {}).get("duration") or 0.0
            execution = cell.metadata.get("execution", {})
            if "iopub.execute_input" in execution and "shell.execute_reply" in execution:
                start = datetime.fromisoformat(execution["iopub.execute_input"])
                end = datetime.fromisoformat(execution["shell.execute_reply"])
                kernel[label] += (end - start).total_seconds()
    return waited, kernel


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=24)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    instrument()
    with tempfile.TemporaryDirectory(prefix="relink-profile-") as tmp:
        folder = Path(tmp) / "exports"
        make_accounts(folder, args.accounts)
        jobs = collect_inputs([str(folder / "manifest.csv")]).jobs
        started = time.perf_counter()
        batch = runner.run_batch(jobs, Path(tmp) / "out", workers=args.workers)
        total = time.perf_counter() - started
        notebooks = [run.notebook for run in batch.runs if run.notebook]
        waited, kernel = cell_times(notebooks)
    n = args.accounts
    statuses = collections.Counter(run.status for run in batch.runs)
    print(f"{n} accounts, {args.workers} worker(s): {total:.2f} s ({total / n * 1000:.0f} ms an")
    print(f"account; {dict(statuses)})\n")
    print("| stage | ms per account |\n|---|---|")
    execute = SPENT.pop("execute (engine)", 0.0)
    summary = SPENT.pop(SUMMARY, 0.0)
    summary -= sum(seconds for stage, seconds in SPENT.items() if "(in the summary)" in stage)
    for stage, seconds in SPENT.items():
        print(f"| {stage} | {seconds / n * 1000:.1f} |")
    print(f"| execute the notebook (all cells, nbclient) | {execute / n * 1000:.1f} |")
    for label, seconds in waited.items():
        print(f"| - cell `{label}` (kernel's own time) | {seconds / n * 1000:.1f} "
              f"({kernel[label] / n * 1000:.1f}) |")  # fmt: skip
    messaging = execute - sum(kernel.values())
    print(f"| - messaging and nbclient around the cells | {messaging / n * 1000:.1f} |")
    print(f"| summary files once (besides messages and reports) | {summary / n * 1000:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
