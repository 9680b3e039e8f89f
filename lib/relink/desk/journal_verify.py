"""``relink journal --verify``: each ticket's journal against the server's record of its change.

A journal is the analyst's own file: anyone with the desk's folder can edit it. What it says
was done on the account is vouched for only by the server, which keeps every operation under a
change (``GET /v1/accounts/{a}/changes/{id}/operations``). :func:`verify` reads each journal
under a folder and lists every disagreement, one line each:

- a line where the chain breaks (:mod:`relink.runbook.chain`): edited, removed or inserted;
- an unlink or relink the journal says was done that the server's record does not hold (under
  the attempt's idempotency key), or that names no change the server could vouch for it under;
- an unlink or relink the journal says was sent and never answered: the server either never saw
  it, or did it and the journal lacks the outcome;
- a disconnect or link the server did under the ticket's change that the journal lacks.

Unchained journals (an older relink's) are read and said to be unchained. Journals written
against another API (a practice sandbox long gone, another deployment) cannot be checked here
and are named.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relink.api.client import Client, Operation
from relink.api.refusals import person, when_text
from relink.desk.journal_report import find_journals, looks_like_journal
from relink.display import visible
from relink.errors import AuthError, InputError, NotFoundError
from relink.runbook import journal as jr
from relink.runbook.chain import check_chain

DESTRUCTIVE_KINDS = {"unlink": "disconnect", "relink": "link"}
STEP_OF_KIND = {kind: step for step, kind in DESTRUCTIVE_KINDS.items()}


@dataclass(frozen=True)
class Finding:
    """One disagreement: where in which journal, which ticket, what."""

    journal: str
    line: int | None
    ticket: str
    text: str

    def line_text(self) -> str:
        where = f"{self.journal}, line {self.line}" if self.line else self.journal
        ticket = f"ticket {self.ticket}: " if self.ticket else ""
        return visible(f"{where}: {ticket}{self.text}")


@dataclass
class Verification:
    """What :func:`verify` found: the disagreements, and what it could not check."""

    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tickets: int = 0
    operations: int = 0

    def summary(self) -> str:
        checked = f"{self.tickets} ticket(s), {self.operations} server operation(s) checked"
        if self.findings:
            return f"{len(self.findings)} disagreement(s) with the server's record ({checked})"
        return f"the journals agree with the server's record ({checked})"


@dataclass
class _Ticket:
    account: str
    ticket: str
    lines: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def change_ids(self) -> list[str]:
        found: list[str] = []
        for _number, entry in self.lines:
            for holder in (entry.get("request"), entry.get("details")):
                change = holder.get("change_id") if isinstance(holder, dict) else None
                if isinstance(change, str) and change and change not in found:
                    found.append(change)
        return found


def verify(root: Path, client: Client, api_label: str, *, account: str = "") -> Verification:
    """Compare every journal under ``root`` (of ``account`` when given) with the server.

    Raises:
        InputError: ``root`` does not exist.
        relink.errors.ApiError: the server failed or did not answer (not a 404 on a change:
            that is a finding).
    """
    if not root.exists():
        raise InputError(f"{root}: no such folder")
    result = Verification()
    for path in find_journals(root):
        name = path.name if path == root else path.relative_to(root).as_posix()
        try:
            if not path.is_file() or not looks_like_journal(path):
                continue
            chain = check_chain(path)
            tickets = _tickets(path)
        except OSError as exc:
            result.notes.append(f"{name}: cannot be read ({exc.strerror or exc})")
            continue
        chosen = [t for t in tickets if not account or t.account == account]
        if not chosen:
            continue
        result.findings += [Finding(name, b.line, "", b.problem) for b in chain.breaks]
        if chain.unchained:
            result.notes.append(f"{name}: {chain.unchained_text()}")
        for ticket in chosen:
            _verify_ticket(ticket, name, client, api_label, result)
    return result


def _tickets(path: Path) -> list[_Ticket]:
    """The journal's entries with their line numbers, by (account, ticket), in order."""
    tickets: dict[tuple[str, str], _Ticket] = {}
    accounts: dict[str, str] = {}
    raw = path.read_bytes().decode("utf-8", errors="replace").split("\n")
    for number, line in enumerate(raw, start=1):
        if not line.strip():
            continue
        entry, _why = jr.parse_entry(line)
        if entry is None:
            continue
        ticket_id = entry["ticket"]
        account = str(entry.get("account") or accounts.get(ticket_id, ""))
        accounts.setdefault(ticket_id, account)
        key = (account, ticket_id)
        tickets.setdefault(key, _Ticket(account, ticket_id)).lines.append((number, entry))
    return list(tickets.values())


def _verify_ticket(
    ticket: _Ticket, journal: str, client: Client, api_label: str, result: Verification
) -> None:
    apis = {str(e["api"]) for _n, e in ticket.lines if isinstance(e.get("api"), str)}
    if apis and api_label not in apis:
        where = ", ".join(sorted(apis))
        result.notes.append(
            f"{journal}: ticket {ticket.ticket} was worked on {where}, not {api_label}: "
            "not verified here"
        )
        return
    result.tickets += 1
    operations: list[Operation] = []
    for change_id in ticket.change_ids():
        try:
            found = client.change_operations(ticket.account, change_id)
        except (NotFoundError, AuthError) as exc:
            result.findings.append(
                Finding(
                    journal,
                    None,
                    ticket.ticket,
                    f"the journal names change {change_id}, which the server does not show "
                    f"(HTTP {exc.status} {exc.code})",
                )
            )
            continue
        operations += found
    result.operations += len(operations)
    result.findings += compare(ticket.lines, operations, journal, ticket.ticket)


def compare(
    lines: list[tuple[int, dict[str, Any]]], operations: list[Operation], journal: str, ticket: str
) -> list[Finding]:
    """The disagreements between one ticket's journal lines and its change's operations."""
    done_ops = {
        op.idempotency_key: op
        for op in operations
        if op.outcome == "done" and op.kind in STEP_OF_KIND and op.idempotency_key
    }
    findings: list[Finding] = []
    keys_in_journal: set[str] = set()
    started: dict[str, tuple[int, dict[str, Any]]] = {}
    for number, entry in lines:
        step, key = entry.get("step"), entry.get("idempotency_key")
        if step not in DESTRUCTIVE_KINDS:
            continue
        if isinstance(key, str):
            keys_in_journal.add(key)
        if entry.get("phase") == jr.STARTED:
            started[str(entry.get("attempt"))] = (number, entry)
            continue
        answered = started.pop(str(entry.get("attempt")), None)
        if answered is not None and entry.get("resolved") is False:
            started[str(entry.get("attempt"))] = answered  # no answer: still in doubt
        if entry.get("phase") == jr.FINISHED and entry.get("outcome") == "done":
            op = done_ops.get(key) if isinstance(key, str) else None
            if op is None or op.kind != DESTRUCTIVE_KINDS[step]:
                why = (
                    f"under its idempotency key {key}"
                    if isinstance(key, str)
                    else "(it names no idempotency key the server could know it by)"
                )
                findings.append(
                    Finding(
                        journal,
                        number,
                        ticket,
                        f"the journal says the {step} was done, but the server's record of "
                        f"the change has no {DESTRUCTIVE_KINDS[step]} {why}",
                    )
                )
    for number, entry in started.values():
        key = entry.get("idempotency_key")
        op = done_ops.get(key) if isinstance(key, str) else None
        text = (
            f"the {entry['step']} was sent and the server did it (operation {op.operation_id}), "
            "but the journal lacks its outcome"
            if op is not None
            else f"the {entry['step']} was sent per the journal, but the server never saw it "
            "(it got no answer, or the line was written by hand): never done"
        )
        findings.append(Finding(journal, number, ticket, text))
    for key, op in done_ops.items():
        if key not in keys_in_journal:
            who = person(op.principal, op.principal_name)
            findings.append(
                Finding(
                    journal,
                    None,
                    ticket,
                    f"the server did a {op.kind} under this ticket's change (operation "
                    f"{op.operation_id}, by {who}, at {when_text(op.at.isoformat())}) that the "
                    "journal lacks",
                )
            )
    return findings


def verify_command(root: Path, account: str = "") -> None:
    """``relink journal --verify``: print each disagreement, then the summary; exit 0 when
    the journals agree, 1 when they do not, 2 for bad input, 3 when the API fails.

    Raises:
        SystemExit: always, with that status.
    """
    import click

    from relink.api.settings import api_settings
    from relink.errors import ApiError, RelinkError
    from relink.exits import fail
    from relink.runbook.connection import connect

    try:
        if not api_settings().get("RELINK_API_URL"):
            raise InputError(
                "relink journal --verify compares the journals with the account API's record: "
                "set RELINK_API_URL and RELINK_API_TOKEN (the environment or a .env file)"
            )
        connection = connect()
        click.echo(connection.describe())
        found = verify(root, connection.client, connection.api_label, account=account)
    except InputError as exc:
        fail(visible(str(exc)))
    except (ApiError, RelinkError) as exc:  # the API failed or did not answer
        fail(visible(str(exc)), 3)
    for note in found.notes:
        click.echo(f"relink journal: {visible(note)}", err=True)
    for finding in found.findings:
        click.echo(finding.line_text())
    click.echo(found.summary())
    raise SystemExit(1 if found.findings else 0)
