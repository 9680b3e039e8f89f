"""The ticket's messages, every stage in every language, over the audit's cases.

The cases: every bundled sample account (with its AliExpress file when it has one) on a day
before the samples' day, on it and two weeks later (stale exports, closed payment windows, late
suppliers); a written export with customer columns (unpaid orders with and without an
AliExpress number, waiting and partly shipped orders), with an unknown status, with drift, and
an export with a row that cannot be read; and tickets' live checks. In each language the
message must name exactly the unpaid AliExpress orders, write the audit's days in the locale's
own form (Babel), say the same counts as the English message (whose counts add up to the
blocked orders), and hold no customer data (the sample exports' customer columns).
"""

from __future__ import annotations

import csv
import functools
import io
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from babel.dates import format_date
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from relink.audit import audit, read_aliexpress, read_export
from relink.audit.languages import languages, normalise_tag
from relink.audit.message import STAGES, check_record, merchant_message, ticket_message
from relink.cli import main
from relink.errors import RelinkError
from relink.samples import bundled_sample

SAMPLES = ("northwind-home", "bluebird-pets", "cedar-outdoor", "delta-gadgets")
SAMPLES += ("emerald-beauty", "fjord-kitchen")
DAYS = (date(2026, 11, 12), date(2026, 11, 20), date(2026, 12, 7))
AS_OF = date(2026, 11, 20)
PERSONAL = ("Customer Name", "Email", "Phone", "Shipping Address", "Store", "Store Name", "Shop")
LANGUAGES = sorted(languages())
HEADER = ["Order No.", "Status", "Store", "AliExpress Order No.", "Order Date"]
HEADER += ["Customer Name", "Email", "Phone", "Shipping Address"]
PEOPLE = [
    ("Ana Souza", "ana.souza@example.com", "+55 11 5555-0101", "Rua das Flores 12"),
    ("Jürgen Weiß", "jw@example.org", "+49 30 5555 0202", "Königsallee 9, Berlin"),
    ("Zoë Martin", "zoe@example.fr", "+33 1 55 55 05 05", "8 rue Oberkampf, Paris"),
]
WRITTEN = [
    ["#2001", "Awaiting payment", "Loja Azul", "700000000000001", "2026-11-10", *PEOPLE[0]],
    ["#2002", "Awaiting payment", "Loja Azul", "700000000000002", "2026-11-15", *PEOPLE[1]],
    ["#2007", "Awaiting payment", "Nordlicht", "", "2026-11-18", *PEOPLE[2]],
    ["#2003", "Awaiting shipment", "Loja Azul", "700000000000003", "2026-11-16", *PEOPLE[0]],
    ["#2004", "Awaiting fulfillment", "Nordlicht", "700000000000004", "2026-11-14", *PEOPLE[1]],
    ["#2005", "Fulfilled", "Loja Azul", "700000000000005", "2026-11-01", *PEOPLE[2]],
]
CHECKS = {
    "check-blocked": {
        "checked_at": "2026-11-20T09:00:00Z",
        "blockers": 4,
        "unpaid": 2,
        "waiting": 1,
        "expected_ready": "2026-11-27",
        "unpaid_orders": ["8000000000000001", "8000000000000002"],
        "moved": ["a new order arrived"],
        "error": None,
        "sequence": 2,
    },
    "check-no-date": {
        "checked_at": "2026-11-21T09:00:00Z",
        "blockers": 2,
        "unpaid": 1,
        "waiting": 0,
        "expected_ready": None,
        "unpaid_orders": [],
        "moved": [],
        "error": "the API did not answer",
        "sequence": 1,
    },
    "check-ships-today": {  # the day has come: the supplier ships any day now
        "checked_at": "2026-11-27T09:00:00Z",
        "blockers": 4,
        "unpaid": 1,
        "waiting": 1,
        "expected_ready": "2026-11-27",
        "unpaid_orders": ["8000000000000001"],
        "moved": [],
        "error": None,
        "sequence": 2,
    },
    "check-sync-only": {  # settled on AliExpress: the change's own sync clears it
        "checked_at": "2026-11-27T09:00:00Z",
        "blockers": 1,
        "unpaid": 0,
        "waiting": 0,
        "expected_ready": "2026-11-27",
        "unpaid_orders": [],
        "moved": [],
        "error": None,
        "sequence": 3,
    },
    "check-ready": {
        "checked_at": "2026-11-27T09:00:00Z",
        "blockers": 0,
        "unpaid": 0,
        "waiting": 0,
        "expected_ready": "2026-11-27",
        "unpaid_orders": [],
        "moved": [],
        "error": None,
        "sequence": 3,
    },
}


def _csv_text(path: Path) -> str:
    """A sample CSV's text, in whichever encoding ``relink samples`` wrote it."""
    data = path.read_bytes()
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def _table(path: Path) -> list[list[str]]:
    """A sample export's cells, as text (every sheet of a workbook)."""
    if path.suffix == ".xlsx":
        book = CalamineWorkbook.from_path(str(path))
        return [
            [str(cell) for cell in row]
            for name in book.sheet_names
            for row in book.get_sheet_by_name(name).to_python()
        ]
    lines = _csv_text(path).splitlines(keepends=True)
    if lines and lines[0].lower().startswith("sep="):
        lines = lines[1:]
    delimiter = max((",", ";", "\t"), key=lines[0].count)
    return list(csv.reader(io.StringIO("".join(lines)), delimiter=delimiter))


@functools.cache
def customer_data() -> frozenset[str]:
    """Every customer name, e-mail, phone, address and store of the sample exports."""
    found = {value for person in PEOPLE for value in person} | {"Loja Azul", "Nordlicht"}
    for name in SAMPLES:
        rows = _table(bundled_sample(name).export)
        header_at = next(i for i, row in enumerate(rows) if "Customer Name" in row)
        header = rows[header_at]
        columns = [i for i, cell in enumerate(header) if cell.strip() in PERSONAL]
        for row in rows[header_at + 1 :]:
            found |= {row[i].strip() for i in columns if i < len(row) and row[i].strip()}
    assert len(found) > 50  # the samples' people are there to be looked for
    return frozenset(found)


@functools.cache
def cases(tmp: str) -> dict[str, Any]:
    """Every case: an audit result, or a live check's record."""
    found: dict[str, Any] = {}
    for name in SAMPLES:
        sample = bundled_sample(name)
        export = read_export(sample.export)
        side = read_aliexpress(sample.aliexpress) if sample.aliexpress else None
        for day in DAYS:
            found[f"{name}@{day}"] = audit(export, as_of=day)
            if side is not None:
                found[f"{name}+aliexpress@{day}"] = audit(export, side, as_of=day)
    folder = Path(tmp)
    written = _write(folder / "written.csv", [HEADER, *WRITTEN])
    found["written"] = audit(read_export(written), as_of=AS_OF)
    unknown = [*WRITTEN, ["#2008", "On hold", "Nordlicht", "", "2026-11-19", *PEOPLE[2]]]
    found["unknown-status"] = audit(
        read_export(_write(folder / "u.csv", [HEADER, *unknown])), as_of=AS_OF
    )
    side = _write(
        folder / "ae.csv",
        [["aliexpress_order_id", "order_status", "end_reason"], ["700000000000001", "FINISH", "x"]],
    )
    one = read_export(_write(folder / "d.csv", [HEADER, WRITTEN[0]]))
    found["drift"] = audit(one, read_aliexpress(side), as_of=AS_OF)
    fjord = bundled_sample("fjord-kitchen").export.read_bytes()
    unread = folder / "unread.csv"
    unread.write_bytes(fjord + b",Fulfilled,Fjord Kitchen,,,2026-11-10,,,,,,\r\n")
    found["unreadable-row"] = audit(read_export(unread), as_of=date(2026, 11, 12))
    found.update(CHECKS)
    return found


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return cases(str(tmp_path_factory.mktemp("messages")))


CASE_NAMES = [f"{name}@{day}" for name in SAMPLES for day in DAYS]
CASE_NAMES += [f"{n}+aliexpress@{day}" for n in ("northwind-home", "bluebird-pets") for day in DAYS]
CASE_NAMES += ["written", "unknown-status", "drift", "unreadable-row", *CHECKS]


def top_level(facts: Any) -> dict[str, Any]:
    if isinstance(facts, dict) and "checked_at" in facts:
        return check_record(facts)
    return {key: getattr(facts, key) for key in ("verdict", "blocked_orders", "forecast")} | {
        "warnings": facts.warnings,
        "order_dates": facts.order_dates,
    }


def days_said(top: dict[str, Any], stage: str) -> tuple[list[date], list[date]]:
    """The days the first message and the reminder must name, as the audit stands behind, and
    every day the audit knows (a message may name them: they are not counts)."""
    plan = top["forecast"] or {}
    codes = {warning["code"] for warning in top["warnings"] or []}
    steps = plan.get("next_steps") or {}
    waiting = steps.get("wait") or {}
    known = [plan.get("as_of"), plan.get("earliest_safe_date"), waiting.get("oldest_order_date")]
    known += [plan.get("earliest_safe_date_with_merchant_action")]
    known += [(top.get("order_dates") or {}).get("last")]
    must = []
    if top["verdict"] == "safe":
        if "stale_export" in codes and stage in ("first", "reminder"):
            must.append(top["order_dates"]["last"])
    else:
        if waiting.get("oldest_order_date"):
            must.append(waiting["oldest_order_date"])
        with_action = plan.get("earliest_safe_date_with_merchant_action")
        shipped_today = with_action == plan.get("as_of") and waiting.get("orders")
        if plan.get("reason") is None and with_action and not shipped_today:
            must.append(with_action)
        unhelped = plan.get("earliest_safe_date")
        has_unpaid = plan.get("cancel_now") or plan.get("unpaid_without_aliexpress_number")
        if plan.get("reason") is None and has_unpaid and unhelped not in (None, with_action):
            must.append(unhelped)
        if "stale_export" in codes:
            must.append(top["order_dates"]["last"])
    as_days = [date.fromisoformat(day) for day in must]
    return as_days, [date.fromisoformat(day) for day in known if day] + as_days


def numbers_said(text: str, locale: str, days: list[date]) -> list[int]:
    """The counts a message says: its numbers but the days and the AliExpress order numbers."""
    for day in days:
        text = text.replace(format_date(day, "full", locale=locale), " ")
    text = re.sub(r"\d{5,}", " ", text)
    return sorted(int(n) for n in re.findall(r"\d+", text))


@pytest.mark.parametrize("case", CASE_NAMES)
def test_every_stage_renders_in_every_language_naming_only_what_the_audit_stands_behind(
    corpus: dict[str, Any], case: str
) -> None:
    facts = corpus[case]
    top = top_level(facts)
    unpaid = sorted(top["forecast"].get("cancel_now") or []) if top["verdict"] != "safe" else []
    previous = date(2026, 11, 30)
    forbidden = customer_data()
    for stage in STAGES:
        english = ticket_message(facts, stage, "en", previous_date=previous)
        must, known = days_said(top, english.stage)
        known.append(previous)
        english_numbers = numbers_said(english.text, "en_GB", known)
        if english.stage in ("first", "reminder") and top["verdict"] == "blocked":
            total = re.search(r"(\d+) of your orders (?:is|are) still in progress", english.text)
            groups = re.findall(
                r"(?m)^(?:\*\*[^*]+\*\* |[A-Z][a-z ]+: )?(\d+) of them ", english.text
            )
            if top["blocked_orders"]:
                assert int(total.group(1)) == top["blocked_orders"] == sum(map(int, groups))
        for language in LANGUAGES:
            locale = languages()[language].locale
            for kind in ("text", "markdown"):
                message = ticket_message(facts, stage, language, kind, previous_date=previous)
                where = f"{case}, {stage} in {language} ({kind})"
                text = message.text
                assert message.language == language and message.stage == english.stage, where
                assert sorted(re.findall(r"\d{5,}", text)) == (
                    unpaid if message.stage in ("first", "reminder") else []
                ), where
                for day in must if message.stage in ("first", "reminder") else []:
                    assert format_date(day, "full", locale=locale) in text, (where, day)
                assert not re.search(r"\d{4}-\d\d-\d\d", text), where  # never an ISO date
                assert numbers_said(text, locale, known) == english_numbers, where
                assert not [value for value in forbidden if value in text], where
                assert "{{" not in text and "{%" not in text and "  \n\n" not in text, where
                if kind == "text":
                    assert "**" not in text, where


def test_ready_is_written_only_when_no_order_blocks(corpus: dict[str, Any]) -> None:
    blocked = ticket_message(corpus["written"], "ready", "de")
    assert blocked.stage == "reminder" and blocked.language == "de"
    assert blocked.notes == (
        "not ready: 5 order(s) still wait on the merchant, a supplier or the team: the "
        "reminder is written instead of 'we switch now'",
    )
    stale = ticket_message(corpus["fjord-kitchen@2026-12-07"], "ready", "fr")
    assert stale.stage == "reminder" and "fresh export" in stale.notes[0]
    assert "nouvel export" in stale.text
    for case in ("check-ready", "check-sync-only"):  # as LiveCheck.ready says
        ready = ticket_message(corpus[case], "ready", "pt-BR")
        assert (ready.stage, ready.notes) == ("ready", ())
        assert "estamos trocando agora" in ready.text
    failed = ticket_message({**CHECKS["check-ready"], "error": "timeout"}, "ready", "en")
    assert failed.stage == "reminder"
    assert failed.notes[1] == (
        "not ready: the last live check failed: the reminder is written instead of 'we switch now'"
    )
    done = ticket_message(None, "done", "it")
    assert "Fatto:" in done.text and "(in verde)" in done.text
    with pytest.raises(RelinkError, match="the first message needs the ticket's last audit"):
        ticket_message(None, "first")
    with pytest.raises(RelinkError, match="a message stage is one of first, reminder, ready, done"):
        ticket_message(corpus["written"], "later")


def test_a_live_check_gives_its_orders_and_its_date_in_the_locale(corpus: dict[str, Any]) -> None:
    message = ticket_message(CHECKS["check-blocked"], "reminder", "es", previous_date="2026-11-25")
    assert re.findall(r"\d{5,}", message.text) == CHECKS["check-blocked"]["unpaid_orders"]
    assert "4 de sus pedidos siguen en curso" in message.text
    assert "el viernes, 27 de noviembre de 2026" in message.text
    assert "miércoles, 25 de noviembre de 2026" in message.text  # the date it moved from
    assert "puede que el cambio tenga que esperar hasta entonces" in message.text  # no day known
    from relink.desk.checks import LiveCheck  # the record itself, as the queue reads it

    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in CHECKS["check-blocked"].items()}
    record = LiveCheck(**fields, late=1, expected_without_action="2026-12-04")
    as_record = ticket_message(record, "reminder", "es", previous_date="2026-11-25")
    assert as_record.text == message.text.replace(
        "y puede que el cambio tenga que esperar hasta entonces.",
        "y el cambio pasa al viernes, 4 de diciembre de 2026.",
    ).replace(
        "No tiene que hacer nada: se completará una vez enviado, cuando su número de seguimiento "
        "llegue a DSers.",
        "No tiene que hacer nada: se completará una vez enviado, cuando su número de seguimiento "
        "llegue a DSers. Está tardando más de lo habitual: puede ser útil preguntar al proveedor "
        "en AliExpress cuándo lo enviará.",
    )
    failed = ticket_message(CHECKS["check-no-date"], "first", "fr")
    assert failed.notes == (
        "the last live check failed (the API did not answer): the message is from the check before",
    )
    assert "nous ne pouvons donc pas encore vous donner" not in failed.text
    assert "Nous devons terminer la vérification de cette commande" in failed.text
    with pytest.raises(RelinkError, match="counts 2 unpaid and 1 waiting orders of 1 blocking"):
        ticket_message({**CHECKS["check-blocked"], "blockers": 1}, "first")


@pytest.mark.parametrize(
    ("asked", "language", "note"),
    [
        ("pt_BR", "pt-BR", ""),
        ("pt-br", "pt-BR", ""),
        (" DE ", "de", ""),
        ("fr-CA", "fr", "no message templates for fr-CA: the message is in French (fr)"),
        ("pt", "pt-BR", "no message templates for pt: the message is in Portuguese (Brazil)"),
        ("nl", "en", "no message templates for nl (there are: de, en, es, fr, it, pt-BR): the "),
        ("../../etc", "en", "'../../etc' is not a language tag: the message is in English"),
        ("", "en", ""),
        (None, "en", ""),
    ],
)
def test_a_language_is_normalised_and_an_unknown_one_falls_back_with_a_note(
    corpus: dict[str, Any], asked: str | None, language: str, note: str
) -> None:
    message = ticket_message(corpus["written"], "first", asked)
    assert message.language == language
    assert (message.notes[0] if message.notes else "").startswith(note)
    if language == "en":
        assert message.text == merchant_message(corpus["written"])


def test_relink_audit_lang_and_stage_say_the_fallback_on_stderr(corpus, tmp_path: Path) -> None:
    export = _write(tmp_path / "orders.csv", [HEADER, *WRITTEN])
    command = ["audit", str(export), "--format", "message", "--today", "2026-11-20"]
    french = CliRunner().invoke(main, [*command, "--lang", "fr_fr", "--stage", "reminder"])
    assert french.exit_code == 1 and "Petit rappel" in french.stdout
    assert french.stderr == (
        "relink audit: no message templates for fr-FR: the message is in French (fr)\n"
    )
    unknown = CliRunner().invoke(main, [*command, "--lang", "xx"])
    assert unknown.exit_code == 1 and unknown.stdout.startswith("Hello,\n")
    assert "no message templates for xx" in unknown.stderr
    assert "the message is in English" in unknown.stderr


DUTCH = """{#- Dutch: a team's own language -#}
Hallo,

{% if stage == "first" and not safe %}
{{ count(open_orders, "bestelling loopt", "bestellingen lopen") }} nog.
{% for number in cancel_now %}
- AliExpress-bestelling {{ number }}
{% endfor %}
Overstap: {{ switch_date }}.
{% else %}
Klaar.
{% endif %}
{{ sign_off }}
"""


def test_a_new_language_folder_is_picked_up(
    corpus: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    team = tmp_path / "templates"
    (team / "nl").mkdir(parents=True)
    (team / "nl" / "message.j2").write_text(DUTCH, encoding="utf-8")
    (team / "nl" / "language.json").write_text(
        '{"name": "Dutch", "locale": "nl", "sign_off": "Met vriendelijke groet"}', encoding="utf-8"
    )
    (team / "sv").mkdir()  # no message.j2: not a language
    assert "nl" in languages(team) and "sv" not in languages(team) and "nl" not in languages()

    message = ticket_message(corpus["written"], "first", "NL", templates=team)
    assert (message.language, message.notes) == ("nl", ())
    assert message.text == (
        "Hallo,\n\n5 bestellingen lopen nog.\n- AliExpress-bestelling 700000000000001\n"
        "- AliExpress-bestelling 700000000000002\nOverstap: dinsdag 24 november 2026.\n"
        "Met vriendelijke groet\n"
    )
    monkeypatch.setenv("RELINK_MESSAGE_TEMPLATES", str(team))
    assert ticket_message(corpus["written"], "first", "nl").text == message.text
    # relink's own languages are still there, and a team's folder replaces one of them
    assert ticket_message(corpus["written"], "first", "it").language == "it"
    (team / "it").mkdir()
    (team / "it" / "message.j2").write_text("Ciao dal team.\n", encoding="utf-8")
    assert ticket_message(corpus["written"], "first", "it").text == "Ciao dal team.\n"


def test_relinks_languages_are_its_template_folders_and_nothing_else() -> None:
    import relink.audit

    shipped = Path(relink.audit.__file__).with_name("templates")
    folders = {path.parent.name for path in shipped.glob("*/message.j2")}
    assert set(languages()) == folders == {"de", "en", "es", "fr", "it", "pt-BR"}
    assert {tag: languages()[tag].locale for tag in folders} == {
        "de": "de", "en": "en_GB", "es": "es", "fr": "fr", "it": "it", "pt-BR": "pt_BR"
    }  # fmt: skip


def test_a_language_folder_a_team_breaks_is_one_line(corpus, tmp_path: Path) -> None:
    (tmp_path / "nl").mkdir()
    (tmp_path / "nl" / "message.j2").write_text("Hallo {{ klant }}\n", encoding="utf-8")
    with pytest.raises(RelinkError, match=r"nl/message\.j2, line 1: 'klant' is undefined"):
        ticket_message(corpus["written"], "first", "nl", templates=tmp_path)
    (tmp_path / "nl" / "language.json").write_text('{"locale": "xx_YY"}', encoding="utf-8")
    with pytest.raises(RelinkError, match=r"language\.json: Babel knows no locale 'xx_YY'"):
        ticket_message(corpus["written"], "first", "nl", templates=tmp_path)


@pytest.mark.parametrize(
    ("locale", "forms", "counts", "words"),
    [
        ("fr", ("commande", "commandes"), (0, 1, 2), ["0 commande", "1 commande", "2 commandes"]),
        ("pt_BR", ("pedido", "pedidos"), (0, 1, 2), ["0 pedido", "1 pedido", "2 pedidos"]),
        ("en_GB", ("order", "orders"), (0, 1, 1234), ["0 orders", "1 order", "1,234 orders"]),
        ("de", ("Bestellung", "Bestellungen"), (1, 1234), ["1 Bestellung", "1.234 Bestellungen"]),
    ],
)
def test_plural_forms_and_numbers_are_the_locales(locale, forms, counts, words) -> None:
    from relink.audit.languages import number_words

    singular, plural = forms
    _, _, count = number_words(locale)
    assert [count(n, singular, plural) for n in counts] == words


def test_tags_are_normalised() -> None:
    assert [normalise_tag(t) for t in ("pt_br", "PT-BR", "zh_hant_tw", "es-419", "x", "a/b")] == [
        "pt-BR",
        "pt-BR",
        "zh-Hant-TW",
        "es-419",
        None,
        None,
    ]
