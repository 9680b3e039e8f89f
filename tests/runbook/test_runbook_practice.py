"""The practice bar: its actions as plain functions, then its buttons in the panel.

The practice sandbox of this module is its own (letting days pass moves a sandbox's clock for
every account on it): the session's sandbox keeps the time other tests expect. A runbook is on
the embedded sandbox when its connection says so; any other connection gets no practice bar.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import ipywidgets as w
import pytest
from runbook_seeds import NEW_AE, OLD_AE, blocked_orders, order, part, settled_orders

from relink.errors import InputError
from relink.practice import actions as practice
from relink.practice.bar import PracticeBar
from relink.practice.embedded import (
    embedded_connection,
    practice_connection,
    seed_practice_account,
    start_practice_sandbox,
)
from relink.runbook.connection import connect
from relink.runbook.opening import open_runbook
from relink.runbook.options import TicketOptions
from relink.runbook.panel import RunbookPanel
from relink.runbook.procedure import Runbook
from relink.samples import REFERENCE_DATE, bundled_sample
from relink.sandbox.launcher import RunningSandbox, start_sandbox


@pytest.fixture(scope="module")
def practice_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    running = start_sandbox(tmp_path_factory.mktemp("practice-sandbox") / "sandbox.sqlite")
    yield running
    running.stop()


@pytest.fixture
def practice_book(
    practice_sandbox: RunningSandbox, tmp_path: Path, clock: Any
) -> Callable[..., Runbook]:
    """``practice_book(orders=None, linked=OLD_AE, logged_in=OLD_AE) -> Runbook`` on the
    practice sandbox, its connection the embedded kind (as open_runbook makes it)."""

    def make(
        orders: list[dict[str, Any]] | None = None,
        *,
        linked: str | None = OLD_AE,
        logged_in: str | None = OLD_AE,
    ) -> Runbook:
        account_id = f"prac-{uuid.uuid4().hex[:10]}"
        token = f"tok-practice-{uuid.uuid4().hex}"
        practice_sandbox.admin.seed(
            {
                "account_id": account_id,
                "token": token,
                "linked_aliexpress_account": linked,
                "logged_in_aliexpress_account": logged_in,
                "whitelisted": True,
                "orders": orders if orders is not None else blocked_orders(account_id),
            }
        )
        connection = practice_connection(
            connect({"RELINK_API_URL": practice_sandbox.url, "RELINK_API_TOKEN": token}).client,
            practice_sandbox,
        )
        book = Runbook(
            connection.client,
            account_id,
            NEW_AE,
            TicketOptions(operator="tester", journal_path=tmp_path / f"{account_id}.jsonl"),
            clock=clock,
            api_label="SANDBOX",
            practice=True,
            server_clock=connection.server_time,
        )
        book.connection = connection
        return book

    return make


def classes(widget: w.Widget) -> set[str]:
    """Every DOM class in ``widget``'s tree."""
    found = set(getattr(widget, "_dom_classes", ()))
    for child in getattr(widget, "children", ()):
        found |= classes(child)
    return found


def part_status(book: Runbook, number: str) -> tuple[str | None, str | None]:
    """(DSers status, AliExpress status) of the part with AliExpress order ``number``."""
    for found in book.client.orders(book.account):
        for piece in found.parts:
            if piece.aliexpress_order_id == number:
                return piece.dsers_status, piece.aliexpress_status
    raise AssertionError(f"{number}: no such part")


def test_no_practice_against_a_deployment(seed, clock, tmp_path):
    acct = seed()
    deployment = connect(
        {"RELINK_API_URL": acct.url, "RELINK_API_TOKEN": acct.token}, tmp_path / "no.env"
    )
    assert not deployment.embedded
    book = acct.runbook(NEW_AE, clock=clock)
    for connection in (None, deployment):
        book.connection = connection
        assert practice.practice_admin(book) is None
        panel = RunbookPanel(book)
        assert not any(isinstance(extra, PracticeBar) for extra in panel.extras)
        assert not {name for name in classes(panel.widget) if name.startswith("relink-practice")}


def test_the_bar_is_on_the_embedded_sandbox(practice_book):
    book = practice_book()
    panel = RunbookPanel(book)
    [bar] = panel.extras
    assert bar is not None and bar.widget in panel.widget.children
    assert {"relink-practice", "relink-practice-said"} <= classes(panel.widget)
    assert [button.description for button in bar.buttons] == [
        "Merchant cancels the unpaid orders",
        "Let 10 days pass",
        "Log in to AliExpress account",
        "Let the whitelist lapse",
    ]
    assert isinstance(bar.days, w.IntText) and bar.account.value == NEW_AE
    bar.days.value = 1
    assert bar.advance.description == "Let 1 day pass"


def test_merchant_cancels_the_unpaid_orders(practice_book):
    book = practice_book()
    unpaid = f"{book.account}-ae1"
    admin = practice.practice_admin(book)
    assert admin is not None
    said = practice.cancel_unpaid_orders(book, admin)
    assert said.startswith("Audit first") and part_status(book, unpaid)[1] != "FINISH"
    book.audit()
    assert practice.unpaid_orders(book) == [unpaid]
    said = practice.cancel_unpaid_orders(book, admin)
    assert f"The merchant cancelled 1 unpaid AliExpress order on AliExpress ({unpaid})" in said
    assert "Audited again: Audit of" in said
    assert part_status(book, unpaid) == ("awaiting_payment", "FINISH")  # DSers: at the sync
    assert book.sync_quota is None and "sync" not in book.last_results  # no sync spent
    first = {(b.store, b.order): b.reasons for b in book.last_audit.blockers}
    assert first[("alpha", "#1001")] == ("sync_drift",)  # the audit after it sees the drift
    again = practice.cancel_unpaid_orders(book, admin)
    assert again.startswith("No unpaid AliExpress order among the blockers")


def test_let_days_pass_moves_both_clocks(practice_book, clock):
    book = practice_book()
    admin = practice.practice_admin(book)
    assert admin is not None
    server_before, day_before = admin.clock(), book.clock()
    said = practice.let_days_pass(book, admin, 3)
    assert admin.clock() - server_before >= 3 * 86_400
    assert book.clock() - day_before == timedelta(days=3)  # the forecast counts from it
    assert said.startswith(f"3 days passed: it is now {(day_before + timedelta(days=3)).date()}")
    assert "Audited again" not in said  # nothing to refresh before a first audit
    book.audit()
    said = practice.let_days_pass(book, admin, 21)
    assert "Audited again: Audit of" in said
    assert book.last_audit is not None and book.last_audit.at == book.clock()
    for days in (0, -1, practice.MAX_DAYS + 1):
        with pytest.raises(InputError, match="days"):
            practice.let_days_pass(book, admin, days)


def test_log_in_and_the_whitelist_lapse(practice_book):
    book = practice_book(settled_orders("lg"))
    admin = practice.practice_admin(book)
    assert admin is not None
    book.audit()
    assert "First log in to" in book.guard("unlink").reason
    said = practice.log_in(book, admin, NEW_AE)
    assert said == f"The merchant logged in to AliExpress as {NEW_AE}, the ticket's target."
    assert book.link.logged_in == NEW_AE and book.guard("unlink").holds
    said = practice.log_in(book, admin, "someone-else@example.com")
    assert "not the ticket's target" in said and not book.guard("unlink").holds
    assert practice.log_in(book, admin, " ").endswith("nobody is logged in.")

    linked = practice_book(settled_orders("wl"), linked=NEW_AE, logged_in=NEW_AE)
    assert linked.link.light == "green"
    said = practice.lapse_whitelist(linked, admin)
    assert linked.link.light == "amber" and said.startswith(
        f"AliExpress dropped {NEW_AE} from its whitelist"
    )
    assert "the light is amber" in said


def test_the_bar_plays_a_practice_ticket_to_green(practice_book):
    unpaid = order("alpha", "#1001", "awaiting_payment", part("G-ae1", "awaiting_payment"))
    book = practice_book([unpaid, *settled_orders("g")])
    panel = RunbookPanel(book)
    [bar] = panel.extras
    assert bar is not None
    panel.buttons["audit"].click()
    bar.cancel.click()
    assert "The merchant cancelled 1 unpaid AliExpress order" in bar.said.value
    assert "#1001" in panel.blockers.value  # DSers shows it unpaid until the sync
    bar.days.value = 2
    bar.advance.click()
    assert bar.said.value.startswith("<p>2 days passed")
    panel.buttons["sync"].click()
    assert "Sync: done" in panel.status.value and "No blocker" in panel.blockers.value
    assert "First log in to" in panel.reasons["unlink"].value
    bar.login.click()  # the ticket's target, filled in
    assert f"logged in to AliExpress as {NEW_AE}" in bar.said.value
    assert not panel.buttons["unlink"].disabled  # the panel redrew its guards
    panel.buttons["unlink"].click()
    panel.confirm_button.click()
    panel.buttons["relink"].click()
    panel.buttons["verify"].click()
    assert "relink-light-green" in panel.light.value
    bar.lapse.click()
    assert "relink-light-amber" in panel.light.value and "whitelist" in bar.said.value
    bar.days.value = 0
    bar.advance.click()  # an action that cannot be done says why, in the bar
    assert "InputError: days: 0: let 1 to 365 days pass" in bar.said.value
    assert not any(button.disabled for button in bar.buttons)


def test_practice_starts_on_the_samples_day_and_the_runbook_keeps_its_clock(tmp_path, monkeypatch):
    """The practice clock after N days: the runbook's day is the sandbox's, from the samples'
    day on, and no forecast names a day before the blockers' own."""
    monkeypatch.delenv("RELINK_TODAY")  # this machine's date, as on an analyst's desk
    sandbox = start_practice_sandbox(tmp_path)  # as relink open / relink app start it
    try:
        token = f"tok-practice-{uuid.uuid4().hex}"
        seed_practice_account(sandbox, bundled_sample("northwind-home"), token)
        client = connect({"RELINK_API_URL": sandbox.url, "RELINK_API_TOKEN": token}).client
        connection = practice_connection(client, sandbox)
        options = TicketOptions(operator="tester", journal_path=tmp_path / "journal.jsonl")
        book = open_runbook("northwind-home", NEW_AE, options, connection=connection)
        admin = practice.practice_admin(book)
        assert admin is not None
        assert admin.day() == REFERENCE_DATE.date()  # whatever this machine's date
        assert book.clock().date() == REFERENCE_DATE.date() and book.clock_follows_api
        book.audit()
        assert_forecast_after_every_blocker(book)
        for days, day in ((10, 10), (5, 15)):
            said = practice.let_days_pass(book, admin, days)
            today = REFERENCE_DATE.date() + timedelta(days=day)
            assert admin.day() == today and book.clock().date() == today
            assert said.startswith(f"{days} days passed: it is now {today}.")
            assert book.last_audit is not None and book.last_audit.at.date() == today
            assert_forecast_after_every_blocker(book)
    finally:
        sandbox.stop()


def assert_forecast_after_every_blocker(book: Runbook) -> None:
    audit = book.last_audit
    assert audit is not None and audit.blockers
    safe_on = audit.forecast["earliest_safe_date"]
    assert safe_on is not None and safe_on >= book.clock().date().isoformat()
    dated = [b.clears_by for b in audit.blockers if b.clears_by]
    assert dated and all(safe_on >= day for day in dated), (safe_on, dated)
    assert f"Expected safe to unlink on {safe_on}" in audit.forecast_line()


def test_the_embedded_sandbox_is_on_the_samples_day(monkeypatch):
    monkeypatch.delenv("RELINK_TODAY")  # this machine's date, as on an analyst's desk
    connection = embedded_connection()  # this process's, as the ticket's notebook starts it
    assert connection.server_time().date() == REFERENCE_DATE.date()


def test_the_practice_note_and_the_panels_message_overtake_each_other(practice_book):
    book = practice_book()
    panel = RunbookPanel(book)
    [bar] = panel.extras
    panel.buttons["audit"].click()
    bar.cancel.click()
    assert "The merchant cancelled" in bar.said.value and "relink-past" not in bar.said.value
    assert "relink-past" in panel.status.value  # the bar's note is the latest now
    panel.buttons["sync"].click()
    assert "Sync: done" in panel.status.value and "relink-past" not in panel.status.value
    assert bar.said.value.startswith('<div class="relink-past">')
    assert "Earlier, at 09:00 UTC:" in bar.said.value and "The merchant cancelled" in bar.said.value


def test_after_green_a_lapsed_whitelist_says_to_open_a_new_ticket(practice_book):
    book = practice_book(settled_orders("lapse"), logged_in=NEW_AE)
    panel = RunbookPanel(book)
    [bar] = panel.extras
    for step in ("audit", "unlink"):
        panel.buttons[step].click()
    panel.confirm_button.click()
    for step in ("relink", "verify"):
        panel.buttons[step].click()
    assert "relink-light-green" in panel.light.value and book.finished
    bar.lapse.click()  # the whitelist lapses after green
    command = f"relink open {book.account} --to {NEW_AE}"  # the next practice ticket
    assert "relink-light-amber" in panel.light.value
    code = f'<code class="relink-command">{command}</code>'
    assert f"to relink it, open a new ticket with {code}" in panel.light.value
    assert "relink it;" not in panel.light.value  # never advice the panel would refuse
    assert panel.buttons["relink"].disabled
    assert f"needs a new ticket: {command}" in panel.reasons["relink"].value
    assert f"open a new ticket with {command}" in bar.said.value
    panel.buttons["verify"].click()  # a read: never refused
    status = panel.status.value
    assert "Verify: done. Linked to" in status and "not whitelisted" in status
    assert "refused" not in status and command in status


HOLDER = """
import sys
from pathlib import Path
from relink.api.client import Client
from relink.desk.opening import open_ticket
from relink.practice.embedded import practice_connection
from relink.runbook.options import TicketOptions
from relink.sandbox.launcher import RunningSandbox, SandboxAdmin

url, token, account, target, journal = sys.argv[1:]
sandbox = RunningSandbox(url, Path(), None, SandboxAdmin(url))  # not this process's to stop
connection = practice_connection(Client(url, token), sandbox)
options = TicketOptions(operator="first-tab", ticket="PRACTICE-1", journal_path=journal)
book = open_ticket(account, target, options, connection=connection)
print(book.audit().outcome, flush=True)
sys.stdin.readline()  # holds the ticket until the test closes its input
"""


def test_a_practice_ticket_whose_sandbox_is_gone_is_over(practice_sandbox, tmp_path):
    """A second tab on the same practice ticket, then a reload: each is refused with the
    command that opens the next practice ticket, and nothing is sent or journaled."""
    import subprocess
    import sys

    from relink.desk.folder import open_ticket_folder
    from relink.desk.opening import open_ticket

    account = "cedar-outdoor"  # a practice account (the desk opens only those on practice)
    token = f"tok-practice-{uuid.uuid4().hex}"
    seed_practice_account(practice_sandbox, bundled_sample(account), token)  # this module's only
    desk = tmp_path / "desk"
    opened = open_ticket_folder(account, NEW_AE, desk=desk, environ={}, env_file=tmp_path / "x")
    assert opened.ticket == "PRACTICE-1" and opened.practice
    argv = [practice_sandbox.url, token, account, NEW_AE, str(opened.journal)]
    first = subprocess.Popen(
        [sys.executable, "-c", HOLDER, *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == "done"
        journaled = opened.journal.read_text(encoding="utf-8")
        client = connect({"RELINK_API_URL": practice_sandbox.url, "RELINK_API_TOKEN": token})
        options = TicketOptions(ticket="PRACTICE-1", journal_path=opened.journal)
        command = f"relink open {account} --to {NEW_AE} --desk {desk}"

        def second_sandbox() -> Any:  # another kernel: another practice world
            return practice_connection(client.client, practice_sandbox)

        with pytest.raises(InputError) as tab:  # the second tab, while the first is open
            open_ticket(account, NEW_AE, options, connection=second_sandbox())
        said = str(tab.value)
        assert said.startswith("Practice ticket PRACTICE-1 is open in another runbook (first-tab")
        assert said.endswith(f"To practise here, open the next practice ticket with {command}")
    finally:
        first.communicate("\n", timeout=60)  # the first tab's kernel ends: so does its sandbox
    with pytest.raises(InputError) as reload:  # the reload: a new kernel, a new sandbox
        open_ticket(account, NEW_AE, options, connection=second_sandbox())
    said = str(reload.value)
    assert said.startswith("Practice ticket PRACTICE-1 is over: its practice sandbox ended")
    assert said.endswith(f"To practise again, open the next practice ticket with {command}")
    assert opened.journal.read_text(encoding="utf-8") == journaled  # nothing journaled
    assert practice_sandbox.admin.operations(account) == []
    # the command said opens the next practice ticket, which a new sandbox may carry
    following = open_ticket_folder(account, NEW_AE, desk=desk, environ={}, env_file=tmp_path / "x")
    assert following.ticket == "PRACTICE-2"
    options = options.but(ticket="PRACTICE-2", journal_path=following.journal)
    book = open_ticket(account, NEW_AE, options, connection=second_sandbox())
    assert book.ticket.ticket_id == "PRACTICE-2" and book.audit().ok
    again = open_ticket(account, NEW_AE, options, connection=book.connection)
    assert again.last_results["audit"].ok  # the same sandbox continues its own ticket
