"""``relink recheck``: the command (parse, run :mod:`relink.desk.recheck`, report, exit code).

What it prints is for a person reading a cron mail as much as a terminal: first, marked, any
ticket that was ready and is blocked again; then the API, what was checked, what became ready,
whose date moved and why, what could not be checked and what was skipped. Nothing is asked;
colour only on a terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from relink.desk.recheck import CHECKED, DEFAULT_JOBS, DEFAULT_MAX_WAIT, FAILED, Outcome, Selection
from relink.display import visible
from relink.errors import RelinkError
from relink.exits import fail, say
from relink.runbook.connection import Connection

EXIT_NOTHING_READY = 0
EXIT_READY = 1
EXIT_UNREADABLE = 2
EXIT_NOT_CHECKED = 3
EXIT_READY_AND_NOT_CHECKED = 4
LOUD_MARK = "!!"


@click.command("recheck")
@click.argument("accounts", nargs=-1, metavar="[ACCOUNT]...")
@click.option(
    "--due/--all",
    "due",
    default=True,
    help="The tickets due today (default), or every open ticket.",
)
@click.option(
    "--desk",
    type=click.Path(file_okay=False, path_type=Path),
    help="The desk folder  [default: $RELINK_DESK, else ./desk]",
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 32),
    default=DEFAULT_JOBS,
    show_default=True,
    help="Tickets audited at once.",
)
@click.option(
    "--max-wait",
    type=click.FloatRange(0),
    default=DEFAULT_MAX_WAIT,
    show_default=True,
    metavar="SECONDS",
    help="How long the run may be held by the API's 429s in all before a ticket still "
    "refused counts as not checked.",
)
def recheck_command(
    accounts: tuple[str, ...], due: bool, desk: Path | None, jobs: int, max_wait: float
) -> None:
    """Audit each open ticket of the desk live again (read only) and update its record.

    Open tickets are those neither done (verified green) nor abandoned. --due (the default)
    takes those never checked, whose last check failed, for which no date holds, or whose
    expected date is today or earlier (a ticket waiting for the merchant is due each day: it
    can be ready once they cancel); --all takes every open one; ACCOUNT... keeps those
    accounts' tickets. Each is audited as the runbook audits (GETs only: nothing on the
    account changes), JOBS at a time; a 429 holds the whole run for its Retry-After. The
    result goes to the ticket's check.json (blockers, unpaid, waiting, expected date, why it
    moved); a check that fails keeps the previous findings and records the error. A ticket
    being re-checked by another run is skipped; so are practice tickets (their sandbox lived in
    their kernel) and tickets whose unlink or relink has been sent (the change is under way).
    Then DESK/desk.ics is written: one event per ticket's expected date.

    Counted from RELINK_TODAY's day when set, else today (UTC). The API: RELINK_API_URL and
    RELINK_API_TOKEN (the environment, or .env).

    \b
    Exit status:
      0  nothing became ready (every ticket chosen was checked or skipped)
      1  at least one ticket became ready
      2  nothing was checked: a bad argument, an unreadable desk, no API settings
      3  at least one ticket could not be checked, and none became ready
      4  at least one became ready and at least one could not be checked
    A ticket that was ready and is blocked again is printed first, marked !!.
    """
    from relink.desk import recheck as rc
    from relink.desk.desk_calendar import write_desk_calendar
    from relink.desk.folder import desk_folder
    from relink.runbook.connection import connect
    from relink.runbook.live_audit import default_clock

    try:
        folder = desk_folder(desk)
        clock = default_clock()
        selection = rc.Selection(due, tuple(accounts), clock().date())
        tickets, known = rc.chosen_tickets(folder, selection)
        first = connect(max_retry_after=0.0) if tickets else None  # settings checked once
    except RelinkError as exc:
        fail(str(exc), EXIT_UNREADABLE)
    gate = rc.RateGate(max_wait)

    def connection() -> Connection:  # each worker its own client (429s come back at once)
        return connect(max_retry_after=0.0)

    outcomes = known + rc.recheck_tickets(tickets, connection, clock, jobs=jobs, gate=gate)
    try:
        calendar = write_desk_calendar(folder)
    except (RelinkError, OSError) as exc:
        calendar = None
        say(f"relink: warning: {folder / 'desk.ics'} not written: {exc}", err=True)
    api = ""
    if first is not None:
        api = first.describe()
        first.client.close()
    report(outcomes, api, selection, gate.waited, calendar)
    sys.exit(exit_code(outcomes))


def exit_code(outcomes: Sequence[Outcome]) -> int:
    """The run's exit status (see the command's help)."""
    ready = any(outcome.became_ready for outcome in outcomes)
    not_checked = any(outcome.kind == FAILED for outcome in outcomes)
    if ready and not_checked:
        return EXIT_READY_AND_NOT_CHECKED
    if not_checked:
        return EXIT_NOT_CHECKED
    return EXIT_READY if ready else EXIT_NOTHING_READY


def report(
    outcomes: Sequence[Outcome],
    api: str,
    selection: Selection,
    waited: float,
    calendar: Path | None,
) -> None:
    """Print the run: the loud lines first, then each section that has tickets."""
    for outcome in outcomes:
        if outcome.ready_no_more and outcome.after is not None:
            text = (
                f"{LOUD_MARK} {outcome.ticket.name} WAS READY AND IS BLOCKED AGAIN: "
                f"{_blocking(outcome.after.blockers)}. {' '.join(outcome.after.moved)}"
            )
            click.echo(click.style(visible(text.strip()), fg="red", bold=True))
    if api:
        say(api)
    checked = [o for o in outcomes if o.kind == CHECKED]
    failed = [o for o in outcomes if o.kind == FAILED]
    skipped = [o for o in outcomes if o.kind not in (CHECKED, FAILED)]
    if not outcomes:
        scope = "is due today" if selection.due else "is open"
        say(f"Nothing to re-check: no ticket on the desk {scope}.")
    else:
        said = f"{len(outcomes)} ticket(s): {len(checked)} checked, {len(failed)} not checked"
        say(f"{said}, {len(skipped)} skipped.")
    if waited:
        say(f"The API asked the run to wait (429): {waited:.1f} s in all.")
    _section("Became ready", [(o, _ready_text(o)) for o in checked if o.became_ready])
    moved = [o for o in checked if o.date_moved and not o.became_ready and not o.ready_no_more]
    _section("Date moved", [(o, _moved(o)) for o in moved])
    _section("Could not be checked", [(o, _failure(o)) for o in failed])
    _section("Skipped", [(o, o.note) for o in skipped])
    rest = [o for o in checked if not (o.became_ready or o.date_moved or o.ready_no_more)]
    _section("Still ready", [(o, _still(o)) for o in rest if o.after and o.after.ready])
    _section("Not ready yet", [(o, _still(o)) for o in rest if o.after and not o.after.ready])
    if calendar is not None:
        say(f"Calendar: {calendar}")


def _section(title: str, rows: list[tuple[Outcome, str]]) -> None:
    if not rows:
        return
    say(f"{title} ({len(rows)}):")
    for outcome, text in rows:
        note = f" Note: {outcome.note}" if outcome.kind == CHECKED and outcome.note else ""
        say(f"  {outcome.ticket.name}: {text}{note}")


def _blocking(blockers: int) -> str:
    if blockers == 1:
        return "1 order blocks the unlink"
    return f"{blockers} orders block the unlink"


def _moved(outcome: Outcome) -> str:
    return " ".join(outcome.after.moved) if outcome.after else ""


def _failure(outcome: Outcome) -> str:
    kept = outcome.before is not None and outcome.before.orders is not None
    return outcome.note + (" (the previous findings are kept)" if kept else "")


def _ready_text(outcome: Outcome) -> str:
    after = outcome.after
    if after is None or not after.blockers:
        text = "no order blocks the unlink"
    elif after.blockers == 1:
        text = "1 order still blocks, settled on AliExpress: the change's own sync clears it"
    else:
        text = (
            f"{after.blockers} orders still block, settled on AliExpress: the change's own "
            "sync clears them"
        )
    text += ". Open the ticket and make the change (its unlink audits again first)."
    return f"{text} Since the last check: {_moved(outcome)}" if after and after.moved else text


def _still(outcome: Outcome) -> str:
    after = outcome.after
    if after is None:
        return ""
    if after.ready:
        return "open the ticket and make the change (its unlink audits again first)"
    when = f"expected ready on {after.expected_ready}" if after.expected_ready else "no date holds"
    parts = [f"{after.unpaid} unpaid to cancel"] if after.unpaid else []
    if after.waiting:
        late = f", {after.late} late" if after.late else ""
        parts.append(f"{after.waiting} waiting on suppliers{late}")
    detail = f" ({'; '.join(parts)})" if parts else ""
    text = f"{_blocking(after.blockers)}{detail}; {when}."
    return f"{text} {_moved(outcome)}" if after.moved else text
