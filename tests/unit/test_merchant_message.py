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
WITH_ACTION, IF_NOTHING_DONE = "Tuesday, 24 November 2026", "Tuesday, 8 December 2026"
OLDEST_WAITING = "Saturday, 14 November 2026"


@pytest.fixture
def blocked_export(write_csv) -> Path:
    return write_csv(ROWS, "orders.csv")


def long_numbers(text: str) -> list[str]:
    return sorted(re.findall(r"\d{5,}", text))


GROUPS = re.compile(
    r"(\d+) of them (?:is unpaid|are unpaid|is waiting|are waiting|shows? a different status"
    r"|needs? a closer look)"
)


def said_counts(message: str) -> tuple[int | None, list[int]]:
    """The orders the message says are in progress, and its groups' counts, in its order."""
    total = re.search(r"(\d+) of your orders (?:is|are) still in progress", message)
    return (int(total.group(1)) if total else None, [int(n) for n in GROUPS.findall(message)])


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
        f"2 of them are waiting for the supplier to ship (the oldest was placed on "
        f"{OLDEST_WAITING})" in message
    )
    assert "5 of your orders are still in progress" in message
    assert "3 of them are unpaid on AliExpress" in message  # #2001, #2002 and #2007
    assert said_counts(message) == (5, [3, 2])
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
        ("Hello\n\n{{ customer_name }}\n", "line 3: 'customer_name' is undefined: a message"),
        ("{% include 'greeting.j2' %}\n", "line 1: includes or imports another template"),
        ("Hi\n{% extends 'merchant_message.md.j2' %}\n", "line 2: extends another template"),
        ("{{ safe }}\n{{ range(3) | list }}\n", "line 2: 'range' is undefined"),
        ("{{ as_of.__class__ }}\n", "line 1: SecurityError: access to attribute '__class__'"),
        ("{{ cancel_now.append(1) }}\n", "line 1: SecurityError: access to attribute 'append'"),
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

    assert "1 of them needs a closer look by our team first" in message
    assert "We need to finish checking that order before we can give you a date" in message
    assert "We will come back to you" in message
    assert said_counts(message) == (6, [3, 2, 1])
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

    assert "1 of them shows a different status in DSers than on AliExpress" in message
    assert said_counts(message) == (1, [1])
    assert "we will bring DSers up to date first. Nothing to do on your side." in message
    assert "cancel" not in message.lower() and long_numbers(message) == []
    assert "we expect to make the switch today, Friday, 20 November 2026" in message


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


@pytest.mark.parametrize("kind", ["text", "markdown"])
def test_northwind_with_its_aliexpress_file_counts_each_order_once(kind) -> None:
    from relink.samples import bundled_sample

    sample = bundled_sample("northwind-home")
    result = audit(read_export(sample.export), read_aliexpress(sample.aliexpress), as_of=AS_OF)
    steps = result.forecast["next_steps"]
    assert sum(step["orders"] for step in steps.values()) == result.blocked_orders == 5
    message = merchant_message(result, kind)
    # #1004 drifts and then waits for its supplier: it is said once, with the waiting orders
    total, groups = said_counts(message)
    assert (total, groups) == (5, [1, 3, 1]) and sum(groups) == total
    assert "1 of these is taking longer than usual" in message  # of the 3 waiting
    assert long_numbers(message) == ["8972863928061453"]


def test_a_stale_export_is_never_told_the_switch_can_happen_now() -> None:
    from relink.samples import bundled_sample

    export = read_export(bundled_sample("fjord-kitchen").export)  # newest order: 11 November
    fresh = merchant_message(audit(export, as_of=date(2026, 11, 12)))
    assert "the switch to your new AliExpress account can happen now" in fresh

    stale = audit(export, as_of=AS_OF)
    assert stale.safe and [w["code"] for w in stale.warnings] == ["stale_export"]
    for kind in ("text", "markdown"):
        message = merchant_message(stale, kind)
        assert "can happen now" not in message
        assert "ends with your orders of Wednesday, 11 November 2026" in message
        assert "orders placed since are not in it" in message
        assert "we need a fresh export of your orders before the switch" in message
    blocked = merchant_message(audit(read_export(bundled_sample().export), as_of=AS_OF))
    assert "we need a fresh export" not in blocked  # northwind's newest order is 2 days old


def test_a_stale_blocked_export_needs_a_fresh_export_to_confirm_its_dates() -> None:
    from relink.samples import bundled_sample

    result = audit(read_export(bundled_sample().export), as_of=date(2026, 12, 7))
    message = merchant_message(result)
    assert "we need a fresh export of your orders before the switch, to confirm these dates" in (
        message
    )


def test_one_unreadable_row_is_said_as_such_not_as_orders_to_check(tmp_path: Path) -> None:
    from relink.samples import bundled_sample

    path = tmp_path / "fjord.csv"
    unreadable = b",Fulfilled,Fjord Kitchen,,,2026-11-10,,,,,,\r\n"  # a value, no order number
    path.write_bytes(bundled_sample("fjord-kitchen").export.read_bytes() + unreadable)
    result = audit(read_export(path), as_of=date(2026, 11, 12))
    assert result.verdict == "blocked" and result.blocked_orders == 0
    assert result.forecast["rows_unread"] == 1
    message = merchant_message(result)
    assert "1 line of the export of your orders we have could not be read" in message
    assert "we need a corrected export of your orders before we can give you a date" in message
    assert "check some of your orders" not in message and "can happen now" not in message
    assert said_counts(message) == (None, [])  # no order is said to be in progress


def test_the_sign_off_is_the_desks(blocked_export: Path, tmp_path: Path, monkeypatch) -> None:
    result = audit(read_export(blocked_export), as_of=AS_OF)
    assert merchant_message(result).endswith(
        "just reply to this message.\n\nKind regards,\nThe support team\n"
    )
    assert merchant_message(result, "markdown").endswith("Kind regards,  \nThe support team\n")
    signed = merchant_message(result, sign_off="Cheers,\\nAna_B, relink desk")
    assert signed.endswith("message.\n\nCheers,\nAna_B, relink desk\n")
    markdown = merchant_message(result, "markdown", sign_off="Cheers,\nAna_B")
    assert markdown.endswith("Cheers,  \nAna\\_B\n")  # shown as written
    assert merchant_message(result, sign_off="").endswith("just reply to this message.\n")

    monkeypatch.setenv("RELINK_MESSAGE_SIGN_OFF", "Best,\\nThe Fjord desk")
    assert merchant_message(result).endswith("message.\n\nBest,\nThe Fjord desk\n")
    command = ["audit", str(blocked_export), "--format", "message", "--today", "2026-11-20"]
    assert CliRunner().invoke(main, command).stdout.endswith("Best,\nThe Fjord desk\n")
    done = CliRunner().invoke(main, [*command, "--sign-off", "Bye\x1b[2J\\nDesk"])
    assert done.stdout.endswith("message.\n\nBye\\x1b[2J\nDesk\n")  # never sent to a terminal

    (tmp_path / "merchant_message.txt.j2").write_text("Olá.\n--\n{{ sign_off }}\n")
    assert merchant_message(result, templates=tmp_path) == "Olá.\n--\nBest,\nThe Fjord desk\n"


LANGUAGE_FOLDERS = sorted(
    path.parent
    for path in (Path(__file__).parents[2] / "lib/relink/audit/templates").glob("*/message.j2")
)


@pytest.mark.parametrize("folder", LANGUAGE_FOLDERS, ids=lambda folder: folder.name)
def test_each_template_lists_the_values_it_receives(blocked_export: Path, folder: Path) -> None:
    from relink.audit.message import message_values

    opening = (folder / "message.j2").read_text(encoding="utf-8").split("-#}")[0]
    values = message_values(json.loads(audit(read_export(blocked_export), as_of=AS_OF).to_json()))
    assert [name for name in values if not re.search(rf"\b{name}\b", opening)] == []


def test_the_documented_values_are_what_a_template_receives(blocked_export: Path) -> None:
    from relink.audit.message import TEMPLATE_VALUES, message_values

    values = message_values(json.loads(audit(read_export(blocked_export), as_of=AS_OF).to_json()))
    assert set(values) == TEMPLATE_VALUES


@pytest.mark.parametrize(
    "attack",
    [
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ joiner.__init__.__globals__.os.environ.RELINK_API_TOKEN }}",
        "{{ namespace.__init__.__globals__ }}",
        "{{ lipsum.__globals__ }}",
        "{{ count.__globals__.os.environ }}",
        "{{ as_of.of.__func__.__globals__ }}",
        "{{ '{0.__class__}'.format(as_of) }}",
        "{{ self.__init__ }}",
    ],
)
def test_a_template_reaching_past_its_values_is_refused(
    blocked_export: Path, tmp_path: Path, attack: str
) -> None:
    (tmp_path / "merchant_message.txt.j2").write_text(f"Hello\n\n{attack}\n", encoding="utf-8")
    result = audit(read_export(blocked_export), as_of=AS_OF)
    with pytest.raises(RelinkError) as raised:
        merchant_message(result, templates=tmp_path)
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'merchant_message.txt.j2'}, line 3: "), message
    assert "\n" not in message and "environ" not in message


def test_a_symlinked_template_is_refused(blocked_export: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("the root password\n", encoding="utf-8")
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "merchant_message.txt.j2").symlink_to(secret)
    result = audit(read_export(blocked_export), as_of=AS_OF)
    with pytest.raises(RelinkError, match="is a symbolic link") as raised:
        merchant_message(result, templates=folder)
    assert "root password" not in str(raised.value)
    assert merchant_message(result, "markdown", folder) == merchant_message(result, "markdown")
