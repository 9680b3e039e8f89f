"""What ``relink batch`` says on the terminal once the summary is written, and how it exits.

:func:`terminal_report` counts the runs (verdicts for an audit, lights for a runbook batch),
names each failed account with its problem in words (accounts left red first), the input
folders' files that were not taken as exports (and why), what changed since ``--compare`` and
where the summary and the calendar are, and decides the exit status.
The command prints it as it is: every name in it is already shown with its control characters
escaped (:func:`relink.display.visible`).
"""

from __future__ import annotations

import signal
from dataclasses import dataclass

from relink.batch.runs import COMPLETED, AccountRun, BatchReport
from relink.batch.stopping import signal_name
from relink.batch.summary.calendar_file import CALENDAR_NAME
from relink.batch.summary.compare import compare_lines
from relink.batch.summary.rows import summary_row
from relink.display import visible

EXIT_COMPLETED = 0  # every run completed, whatever the verdicts
EXIT_FAILED = 1  # a run failed, or left an account red (nothing linked)
EXIT_INTERRUPTED = 130  # Ctrl-C: the summary lists what finished
EXIT_TERMINATED = 143  # SIGTERM: the same; in general 128 + the signal that stopped the batch
SKIPS = 20  # the input folders' files left out that are named here (all are in the summary)


@dataclass(frozen=True)
class TerminalReport:
    """The end of ``relink batch``: ``errors`` for stderr, ``lines`` for stdout, then exit."""

    errors: list[str]  # one per failed account, accounts left red first
    lines: list[str]  # the counts, what changed since --compare, the summary and the calendar
    exit_code: int  # EXIT_COMPLETED, EXIT_FAILED or EXIT_INTERRUPTED


def terminal_report(batch: BatchReport) -> TerminalReport:
    """What to print once ``batch`` is over (:func:`~relink.batch.runner.run_batch` has written
    its summary), and the exit status: 128 + the signal that stopped the batch
    (:data:`EXIT_INTERRUPTED` after Ctrl-C, :data:`EXIT_TERMINATED` after SIGTERM), else
    :data:`EXIT_FAILED` when a run failed, else :data:`EXIT_COMPLETED`."""
    errors = [_failure_line(batch, run) for run in sorted(batch.failed, key=_not_left_red)]
    lines = [_counts_line(batch)]
    lines += [visible(f"relink batch: skipped {item.line()}") for item in batch.skipped[:SKIPS]]
    lines += [visible(f"relink batch: message of {note}") for note in batch.message_notes[:SKIPS]]
    if len(batch.skipped) > SKIPS:
        lines.append(f"relink batch: and {len(batch.skipped) - SKIPS} more skipped (summary.json)")
    if batch.comparison is not None:
        lines += [visible(line) for line in compare_lines(batch.comparison)]
    lines.append(f"summary: {batch.out_dir / 'summary.html'}")
    if batch.calendar_events:
        calendar = batch.out_dir / CALENDAR_NAME
        lines.append(f"calendar: {calendar} ({batch.calendar_events} event(s))")
    if batch.signal:
        code = 128 + batch.signal
    elif batch.interrupted:
        code = EXIT_INTERRUPTED
    else:
        code = EXIT_FAILED if batch.failed else EXIT_COMPLETED
    return TerminalReport(errors, lines, code)


def _not_left_red(run: AccountRun) -> bool:
    return not run.left_red


def _failure_line(batch: BatchReport, run: AccountRun) -> str:
    """One failed account: its name, ticket, failing cell and problem in words."""
    cell = f" at In [{run.failed_execution_count}]" if run.failed_execution_count else ""
    ticket = f" (ticket {run.job.ticket})" if run.job.ticket else ""
    problem = summary_row(run, batch.out_dir)["problem"] or run.error
    return visible(f"relink batch: {run.job.account}{ticket} failed{cell}: {problem}")


def _counts_line(batch: BatchReport) -> str:
    """How many accounts, and how they ended: lights for tickets, verdicts for audits."""
    runs, failed = batch.runs, len(batch.failed)
    if any("light" in (run.result or {}) for run in runs):
        lights = [(run.result or {}).get("light") for run in runs]
        counts = ", ".join(f"{lights.count(light)} {light}" for light in ("green", "amber"))
        line = (
            f"relink batch: {len(runs)} account(s): {counts}, {lights.count('red')} left red, "
            f"{failed} failed"
        )
    else:
        completed = [run for run in runs if run.status == COMPLETED]
        safe = sum(run.result.get("verdict") == "safe" for run in completed)
        line = (
            f"relink batch: {len(runs)} account(s): {len(completed)} audited ({safe} safe, "
            f"{len(completed) - safe} blocked), {failed} failed"
        )
    resumed = sum(run.resumed for run in runs)
    if resumed:
        line += f", {resumed} taken from the earlier run (--resume)"
    if batch.skipped:
        line += f", {len(batch.skipped)} file(s) skipped (not exports: listed in the summary)"
    if batch.interrupted:
        line += f", interrupted by {signal_name(batch.signal or signal.SIGINT)}"
    elif batch.signal:  # once every account had finished: the summary is whole
        line += f", stopped by {signal_name(batch.signal)} once every account had finished"
    return line
