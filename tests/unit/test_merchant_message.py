"""The merchant's message: what to cancel, what waits on suppliers, when the switch can be.

Exports are written here with dated unpaid, unshipped and partly shipped orders beside
personal-data columns: the message must name the unpaid AliExpress orders and nothing else
that identifies an order, a store or a person.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from relink.audit import audit, read_aliexpress, read_export
from relink.audit.message import TEMPLATES_VARIABLE, merchant_message
from relink.cli import main
from relink.errors import RelinkError

AS_OF = date(2026, 11, 20)  # a Friday
HEADER = [
    "Order No.",
    "Status",
    "Store",
    "AliExpress Order No.",
    "Tracking No.",
    "Order Date",
    "Customer Name",
    "Email",
    "Phone",
    "Shipping Address",
]
PERSON = {
    "#2001": ("Ana Souza", "ana.souza@example.com", "+55 11 5555-0101", "Rua das Flores 12"),
    "#2002": ("Jürgen Weiß", "jw@example.org", "+49 30 5555 0202", "Königsallee 9, Berlin"),
    "#2003": ("Mei Tanaka", "mei.t@example.net", "+81 3-5555-0303", "2-1 Shibuya, Tokyo"),
    "#2004": ("Liam Byrne", "liam@example.ie", "+353 1 555 0404", "14 Quay Street, Galway"),
    "#2005": ("Zoë Martin", "zoe@example.fr", "+33 1 55 55 05 05", "8 rue Oberkampf, Paris"),
    "#2006": ("Omar Haddad", "omar@example.com", "+1 212-555-0606", "77 Pine Road, Austin TX"),
    "#2007": ("Sara Lind", "sara.lind@example.se", "+46 8 555 0707", "Storgatan 3, Umeå"),
}
UNPAID = ["700000000000001", "700000000000002"]
OTHER_ALIEXPRESS = ["700000000000003", "700000000000004", "700000000000005", "700000000000006"]
OTHER_ALIEXPRESS += ["700000000000007", "700000000000008"]
STORES = ["Loja Azul", "Nordlicht Shop"]


def row(order: str, status: str, store: str, aliexpress: str, tracking: str, day: str):
    return [order, status, store, aliexpress, tracking, day, *PERSON[order]]


ROWS = [
    HEADER,
    # unpaid: the window ends 2026-11-30 and 2026-12-05; #2007 has no AliExpress number
    row("#2001", "Awaiting payment", "Loja Azul", UNPAID[0], "", "2026-11-10 09:12"),
    row("#2002", "Awaiting payment", "Loja Azul", UNPAID[1], "", "2026-11-15 18:40"),
    row("#2007", "Awaiting payment", "Nordlicht Shop", "", "", "2026-11-18 07:03"),
    # unshipped (expected by 2026-11-24) and partly shipped (by 2026-11-22)
    row("#2003", "Awaiting shipment", "Loja Azul", OTHER_ALIEXPRESS[0], "", "2026-11-16 11:00"),
    row(
        "#2004",
        "Awaiting fulfillment",
        "Nordlicht Shop",
        OTHER_ALIEXPRESS[1],
        "LP0001",
        "2026-11-14 10:30",
    ),
    row(
        "#2004",
        "Awaiting fulfillment",
        "Nordlicht Shop",
        OTHER_ALIEXPRESS[2],
        "",
        "2026-11-14 10:30",
    ),
    # settled: never named
    row("#2005", "Fulfilled", "Loja Azul", OTHER_ALIEXPRESS[3], "LP0002", "2026-11-01 08:00"),
    row("#2006", "Canceled", "Loja Azul", OTHER_ALIEXPRESS[4], "", "2026-11-05 12:00"),
    row("#2001", "Fulfilled", "Nordlicht Shop", OTHER_ALIEXPRESS[5], "LP0003", "2026-11-02 08:00"),
]
WITH_ACTION, IF_NOTHING_DONE = "Tuesday 24 November 2026", "Tuesday 8 December 2026"
OLDEST_WAITING = "Saturday 14 November 2026"


@pytest.fixture
def blocked_export(write_csv) -> Path:
    return write_csv(ROWS, "orders.csv")


def long_numbers(text: str) -> list[str]:
    return sorted(re.findall(r"\d{5,}", text))


def assert_nothing_personal(text: str) -> None:
    for value in [v for person in PERSON.values() for v in person] + STORES + ["LP000"]:
        assert value not in text, value
    for order in PERSON:
        assert order not in text and order[1:] not in text, order
    assert "customer" not in text.lower()


@pytest.mark.parametrize("kind", ["text", "markdown"])
def test_the_message_names_the_unpaid_orders_the_suppliers_wait_and_both_dates(
    blocked_export: Path, kind: str
) -> None:
    result = audit(read_export(blocked_export), as_of=AS_OF)
    assert result.forecast["cancel_now"] == UNPAID  # the export says what the message must

    message = merchant_message(result, kind)

    assert long_numbers(message) == UNPAID  # the unpaid ones, and no other AliExpress order
    assert "1 more unpaid order has no AliExpress order number" in message
    assert (
        f"2 orders are waiting for the supplier to ship (the oldest was placed on "
        f"{OLDEST_WAITING})" in message
    )
    assert f"we expect to make the switch on {WITH_ACTION}" in message
    assert "once the unpaid orders are cancelled" in message
    assert "end of their 20-day payment window" in message
    assert f"the switch moves to {IF_NOTHING_DONE}" in message
    assert_nothing_personal(message)
    assert "blocker_parts" not in result.__dict__  # the blocked orders were never built
    if kind == "markdown":
        assert "**When:**" in message and f"- AliExpress order {UNPAID[0]}\n" in message
    else:
        assert "**" not in message


def test_the_json_result_and_its_notebook_record_give_the_same_message(
    blocked_export: Path,
) -> None:
    result = audit(read_export(blocked_export), as_of=AS_OF)
    as_json = json.loads(result.to_json())
    assert merchant_message(as_json) == merchant_message(result)
    assert merchant_message(as_json, "markdown") == merchant_message(result, "markdown")


def test_relink_audit_format_message_prints_it(blocked_export: Path) -> None:
    expected = merchant_message(audit(read_export(blocked_export), as_of=AS_OF))
    command = [sys.executable, "-m", "relink", "audit", str(blocked_export)]
    command += ["--format", "message", "--today", AS_OF.isoformat()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (1, "")  # blocked: the exit code stays
    assert done.stdout == expected
    assert long_numbers(done.stdout) == UNPAID
    assert_nothing_personal(done.stdout)

    markdown = CliRunner().invoke(
        main, ["audit", str(blocked_export), "--format", "message-md", "--today", "2026-11-20"]
    )
    assert markdown.exit_code == 1
    assert markdown.stdout == merchant_message(
        audit(read_export(blocked_export), as_of=AS_OF), "markdown"
    )


def test_a_template_folder_rewords_one_message_and_leaves_the_other(
    blocked_export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = audit(read_export(blocked_export), as_of=AS_OF)
    folder = tmp_path / "pt"
    folder.mkdir()
    (folder / "merchant_message.txt.j2").write_text(
        "Olá! Cancele: {{ cancel_now | join(', ') }}. Troca em "
        "{{ switch_date.day }}/{{ switch_date.month }}/{{ switch_date.year }}.\n",
        encoding="utf-8",
    )
    translated = f"Olá! Cancele: {UNPAID[0]}, {UNPAID[1]}. Troca em 24/11/2026.\n"
    assert merchant_message(result, "text", folder) == translated
    assert merchant_message(result, "markdown", folder) == merchant_message(result, "markdown")

    monkeypatch.setenv(TEMPLATES_VARIABLE, str(folder))
    assert merchant_message(result) == translated
    done = CliRunner().invoke(main, ["audit", str(blocked_export), "--format", "message"])
    assert done.stdout == translated


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("Hello\n{% if safe %}\nno end\n", "line 3: Unexpected end of template"),
        ("Hello\n\n{{ customer_name }}\n", "line 3: UndefinedError: 'customer_name' is undefined"),
        ("{% include 'greeting.j2' %}\n", "line 1: TemplateNotFound: greeting.j2"),
    ],
)
def test_a_broken_template_is_one_line_naming_its_file_and_line(
    blocked_export: Path, tmp_path: Path, template: str, problem: str
) -> None:
    (tmp_path / "merchant_message.txt.j2").write_text(template, encoding="utf-8")
    result = audit(read_export(blocked_export), as_of=AS_OF)
    with pytest.raises(RelinkError) as raised:
        merchant_message(result, templates=tmp_path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path / 'merchant_message.txt.j2'}, line ")
    assert problem in message

    done = CliRunner().invoke(
        main, ["audit", str(blocked_export), "--format", "message", "--templates", str(tmp_path)]
    )
    assert done.exit_code == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and problem in done.stderr


def test_a_missing_folder_or_an_unknown_kind_is_one_line(blocked_export: Path) -> None:
    result = audit(read_export(blocked_export), as_of=AS_OF)
    with pytest.raises(RelinkError, match=r"^/nowhere/templates: the message templates folder"):
        merchant_message(result, templates=Path("/nowhere/templates"))
    with pytest.raises(RelinkError, match=r"^merchant message kind must be 'text' or 'markdown'"):
        merchant_message(result, "html")
    with pytest.raises(RelinkError, match="has no forecast, warnings"):
        merchant_message(
            {"verdict": "blocked", "export": "x.csv", "blocked_orders": 1, "blocking": {}}
        )


def test_a_safe_account_can_switch_now(write_csv) -> None:
    export = write_csv(
        [HEADER, row("#2005", "Fulfilled", "Loja Azul", "700000000000009", "LP0002", "2026-11-18")]
    )
    result = audit(read_export(export), as_of=AS_OF)
    assert result.safe
    message = merchant_message(result)
    assert "the switch to your new AliExpress account can happen now" in message
    assert "nothing you need to do" in message
    assert "cancel" not in message.lower() and long_numbers(message) == []
    assert_nothing_personal(message)


def test_an_unknown_status_gives_no_date_but_still_the_cancellations(write_csv) -> None:
    export = write_csv([*ROWS, row("#2006", "On hold", "Nordlicht Shop", "", "", "2026-11-19")])
    result = audit(read_export(export), as_of=AS_OF)
    assert result.forecast["earliest_safe_date"] is None  # the reason says why no date holds

    message = merchant_message(result)

    assert "Our team needs to check some of your orders before we can give you a date" in message
    assert "We will come back to you" in message
    assert "we expect" not in message and "2026" not in message.replace(OLDEST_WAITING, "")
    assert long_numbers(message) == UNPAID
    assert_nothing_personal(message)


def test_drifting_orders_are_synced_first_without_the_merchant(write_csv) -> None:
    export = write_csv(ROWS[:2] + ROWS[-3:])  # #2001 unpaid in DSers, settled orders
    side = write_csv(
        [
            ["aliexpress_order_id", "order_status", "end_reason"],
            [UNPAID[0], "FINISH", "buyer_cancel"],  # AliExpress closed it: a sync clears it
            [OTHER_ALIEXPRESS[3], "FINISH", ""],
            [OTHER_ALIEXPRESS[4], "FINISH", "buyer_cancel"],
            [OTHER_ALIEXPRESS[5], "FINISH", ""],
        ],
        "aliexpress.csv",
    )
    result = audit(read_export(export), read_aliexpress(side), as_of=AS_OF)
    assert result.forecast["sync_first"] == 1 and result.forecast["cancel_now"] == []

    message = merchant_message(result)

    assert "1 order shows a different status in DSers than on AliExpress" in message
    assert "we will bring DSers up to date first. Nothing to do on your side." in message
    assert "cancel" not in message.lower() and long_numbers(message) == []
    assert "we expect to make the switch today, Friday 20 November 2026" in message


def test_order_numbers_from_a_file_cannot_drive_a_terminal_or_the_markdown(
    blocked_export: Path,
) -> None:
    record = json.loads(audit(read_export(blocked_export), as_of=AS_OF).to_json())
    record["forecast"]["cancel_now"] = ["7001\x1b[2J", "**7002**"]
    assert "- AliExpress order 7001\\x1b[2J\n" in merchant_message(record)
    assert "- AliExpress order \\*\\*7002\\*\\*\n" in merchant_message(record, "markdown")


def test_a_template_that_is_not_utf8_is_named(blocked_export: Path, tmp_path: Path) -> None:
    (tmp_path / "merchant_message.md.j2").write_bytes("Olá\n".encode("cp1252"))
    result = audit(read_export(blocked_export), as_of=AS_OF)
    with pytest.raises(RelinkError, match=r"merchant_message\.md\.j2: cannot be read as UTF-8"):
        merchant_message(result, "markdown", tmp_path)
