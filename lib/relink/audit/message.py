"""The messages an analyst sends the merchant, for each stage of a ticket and in their language.

Stages (:data:`STAGES`): ``first`` (what to cancel on AliExpress, what waits for suppliers,
when the switch can happen), ``reminder`` (the unpaid orders are still there; the date, and
whether it moved), ``ready`` (we switch now) and ``done`` (the new AliExpress account is
linked: check it is green in DSers). :func:`ticket_message` renders one stage in one language;
:func:`merchant_message` is the first message (``relink audit --format message``).

Rendered from the audit's top-level JSON keys only (``verdict``, ``blocked_orders``,
``blocking``, ``forecast``, ``warnings``, ``order_dates``), or from a ticket's live check
(:func:`check_record`): never from the blocked orders' list, which may hold half a million
entries and names stores and store orders, and never from anything personal. The only order
numbers a message names are the unpaid AliExpress orders of ``forecast.cancel_now``.

It states only what the audit stands behind: every blocked order is counted once, under the
one step it waits on (``forecast.next_steps``: a check by the team, a cancellation by the
merchant, a supplier, a sync), and the counts add up to the number of orders said to be in
progress; an export that is stale or looks filtered never gives "the switch can happen now"
but says a fresh export is needed; rows that could not be read are said as such; "ready: we
switch now" is written only for an audit with no blocker and nothing to re-export (else the
reminder, with a note saying why). It ends with the desk's sign-off (``sign_off``: ``relink
audit --sign-off``, ``RELINK_MESSAGE_SIGN_OFF``, else the language's own).

The wording is in one Jinja2 template per language (:mod:`relink.audit.languages`: a folder
per language, ``message.j2``, every stage and both kinds, plain text and Markdown); which
numbers and dates appear is decided here, and a template receives plain values and the
locale's number, plural and date forms only (:func:`message_values`). Templates are checked
and rendered in a sandbox (:mod:`relink.audit.message_templates`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from relink.audit.languages import (
    DEFAULT_SIGN_OFF,
    TEMPLATES_VARIABLE,
    HumanDay,
    Language,
    choose_language,
)
from relink.audit.languages import number_words as _number_words
from relink.audit.message_facts import check_record, message_facts
from relink.audit.message_templates import LEGACY_NAMES, TEMPLATE_VALUES, render
from relink.audit.verdict import AuditResult
from relink.display import visible
from relink.errors import RelinkError

__all__ = [
    "DEFAULT_SIGN_OFF",
    "STAGES",
    "TEMPLATE_NAMES",
    "TEMPLATE_VALUES",
    "HumanDay",
    "Message",
    "check_record",
    "merchant_message",
    "message_values",
    "ticket_message",
]

SIGN_OFF_VARIABLE = "RELINK_MESSAGE_SIGN_OFF"
STAGES = ("first", "reminder", "ready", "done")
TEMPLATE_NAMES = LEGACY_NAMES  # the kinds: "text", "markdown"
# Warnings that say the export may not hold every order: a fresh export is needed first.
FRESH_EXPORT_WARNINGS = ("stale_export", "looks_filtered")
MARKDOWN_SPECIAL = frozenset("\\`*_{}[]<>()#+-.!|~")


@dataclass(frozen=True)
class Message:
    """A rendered message: its ``text`` (to send), the ``stage`` and ``language`` (tag) it is
    written for, and ``notes`` for the analyst (why the language or the stage is not the one
    asked; never part of the text)."""

    text: str
    stage: str
    language: str
    notes: tuple[str, ...] = ()


def ticket_message(
    facts: AuditResult | Mapping[str, Any] | Any | None,
    stage: str = "first",
    language: str | None = None,
    kind: str = "text",
    templates: Path | None = None,
    *,
    sign_off: str | None = None,
    previous_date: str | date | None = None,
) -> Message:
    """A ticket's message for ``stage`` in ``language``, from what its last audit found.

    ``facts``: an :class:`AuditResult` or its JSON result (``relink audit --format json``, the
    audit notebook's record), a live audit (an object with ``verdict``, ``blockers`` and
    ``forecast``, as the runbook's snapshot), or a ticket's live check (``check.json``'s record
    or an object with its fields: :func:`check_record`); None only for ``done``, which states
    no finding. ``language``: a tag in any spelling (``pt_br``); empty is English, and one
    without templates falls back (:func:`relink.audit.languages.choose_language`) with a note.
    ``kind``: ``"text"`` or ``"markdown"``. ``templates``: a team's templates folder (else
    ``RELINK_MESSAGE_TEMPLATES``). ``sign_off``: the last lines ("" for none; else
    ``RELINK_MESSAGE_SIGN_OFF``, else the language's). ``previous_date``: the day the merchant
    was last told (the reminder says when it moved).

    Raises:
        RelinkError: an unknown stage or kind; facts without the keys a message needs (or
            with a date that is not ISO); a templates folder that is not one; a template or
            language file that cannot be read, parsed or rendered (one line naming its file).
    """
    if stage not in STAGES:
        raise RelinkError(f"a message stage is one of {', '.join(STAGES)}, not {stage!r}")
    if kind not in TEMPLATE_NAMES:
        raise RelinkError(f"merchant message kind must be 'text' or 'markdown', not {kind!r}")
    if facts is None and stage != "done":
        raise RelinkError(f"the {stage} message needs the ticket's last audit")
    folder = templates if templates is not None else os.environ.get(TEMPLATES_VARIABLE) or None
    folder = Path(folder) if folder else None
    if folder is not None and not folder.is_dir():
        raise RelinkError(f"{visible(folder)}: the message templates folder does not exist")
    chosen = choose_language(language, folder.resolve() if folder is not None else None)
    notes = [chosen.note] if chosen.note else []
    top, note = message_facts(facts)
    notes += [note] if note else []
    values = message_values(
        top,
        markdown=kind == "markdown",
        sign_off=sign_off,
        language=chosen.language,
        previous_date=previous_date,
    )
    rendered, why = _stage_said(stage, values, note)
    notes += [why] if why else []
    values["stage"] = rendered
    text = render(values, chosen.language, kind, folder, first=rendered == "first")
    return Message(text, rendered, chosen.language.tag, tuple(notes))


def merchant_message(
    audit: AuditResult | Mapping[str, Any],
    kind: str = "text",
    templates: Path | None = None,
    *,
    sign_off: str | None = None,
    language: str | None = None,
) -> str:
    """The merchant's first message for one audit, as plain text or Markdown (English unless
    ``language``): :func:`ticket_message`'s text for the ``first`` stage.

    Raises:
        RelinkError: as :func:`ticket_message`.
    """
    return ticket_message(audit, "first", language, kind, templates, sign_off=sign_off).text


def _stage_said(stage: str, values: Mapping[str, Any], failed: str) -> tuple[str, str]:
    """The stage the message is written for, and why it is not ``stage`` ("" when it is).

    "We switch now" only when nothing waits on the merchant, a supplier or a person: no order
    blocks, or each one that does is settled on AliExpress and only needs the sync the change
    starts with (its day has come); the export needs no refresh; the last check did not fail.
    """
    if stage != "ready":
        return stage, ""
    sync_only = (
        values["open_orders"] == values["sync_first"]
        and not values["rows_unread"]
        and values["switch_today"]
    )
    if failed:
        why = "the last live check failed"
    elif not (values["safe"] or sync_only):
        blocking = values["open_orders"] - values["sync_first"]
        why = (
            f"{blocking} order(s) still wait on the merchant, a supplier or the team"
            if blocking
            else f"{values['rows_unread']} row(s) could not be read"
            if values["rows_unread"]
            else "the orders DSers must sync clear on a later day"
        )
    elif values["fresh_export_needed"]:
        why = "the export may not hold every order (a fresh export is needed)"
    else:
        return stage, ""
    return "reminder", f"not ready: {why}: the reminder is written instead of 'we switch now'"


def message_values(
    top: Mapping[str, Any],
    *,
    markdown: bool = False,
    sign_off: str | None = None,
    language: Language | None = None,
    previous_date: str | date | None = None,
) -> dict[str, Any]:
    """What a template receives: counts, flags, AliExpress order numbers, days in the locale's
    form, and the locale's ``count``, ``plural`` and ``number`` (and ``strong``: bold in
    Markdown); nothing else.

    ``top``: the audit's top-level keys (:data:`~relink.audit.message_facts.KEYS`, and
    ``OPTIONAL_KEYS`` when present).
    Order numbers and the sign-off are made safe to show (control characters escaped, and
    Markdown's own characters when ``markdown``). Every blocked order is counted in exactly
    one of ``check_orders``, ``cancel_orders``, ``waiting_orders`` and ``sync_first``, which add
    up to ``open_orders`` (``forecast.next_steps``). ``stage`` is "first" until
    :func:`ticket_message` sets it.

    Raises:
        RelinkError: a blocked result without a forecast or its next steps (a result of an
            earlier relink: audit again), or a date that is not ISO.
    """
    language = language or choose_language(None).language
    locale = language.locale
    safe = top["verdict"] == "safe"
    plan = top["forecast"] or {}
    if not safe and not plan:
        raise RelinkError("the audit result has no forecast: audit the export again")
    steps = plan.get("next_steps")
    if not safe and not steps:
        raise RelinkError(
            "the audit result has no forecast.next_steps: audit the export again with this "
            "version of relink"
        )
    shown = _markdown_escaped if markdown else visible
    steps = {} if safe else steps
    waiting = steps.get("wait") or {}
    switch = _day(plan.get("earliest_safe_date_with_merchant_action"), locale)
    unhelped = _day(plan.get("earliest_safe_date"), locale)
    as_of = _day(plan.get("as_of"), locale)
    before = _day(previous_date, locale)
    cancel_now = [] if safe else [shown(str(number)) for number in plan.get("cancel_now") or []]
    unpaid_without_number = 0 if safe else int(plan.get("unpaid_without_aliexpress_number") or 0)
    codes = {warning.get("code") for warning in top["warnings"] or []}
    dates = top.get("order_dates") or {}
    number, plural, count = _number_words(locale)
    return {
        "stage": "first",
        "safe": safe,
        "open_orders": int(top["blocked_orders"]),
        # each blocked order once, under the one step it waits on: these add up to open_orders
        "check_orders": int((steps.get("check") or {}).get("orders") or 0),
        "cancel_orders": int((steps.get("cancel") or {}).get("orders") or 0),
        "waiting_orders": int(waiting.get("orders") or 0),
        "sync_first": int((steps.get("sync") or {}).get("orders") or 0),
        "waiting_since": _day(waiting.get("oldest_order_date"), locale),
        "late_orders": int(waiting.get("late_orders") or 0),  # of the waiting orders
        "cancel_now": cancel_now,
        "unpaid_without_number": unpaid_without_number,
        "unpaid_orders": len(cancel_now) + unpaid_without_number,
        "has_unpaid": bool(cancel_now or unpaid_without_number),
        "rows_unread": 0 if safe else int(plan.get("rows_unread") or 0),
        # A reason (an unknown status, a dispute, rows not read) means no date holds yet.
        "needs_check": not safe and (plan.get("reason") is not None or switch is None),
        "switch_date": switch,
        "switch_today": switch is not None and switch == as_of,
        # None when unknown (a live check keeps only the date with the merchant's action)
        "switch_date_if_nothing_done": unhelped,
        "dates_differ": switch != unhelped,
        "payment_window_days": int((plan.get("estimates") or {}).get("payment_window_days", 20)),
        "as_of": as_of,
        "check_again": bool(top["warnings"]),  # a warning: look at the orders again first
        # the export may not hold every order: never "the switch can happen now"
        "fresh_export_needed": bool(codes & set(FRESH_EXPORT_WARNINGS)),
        "export_stale": "stale_export" in codes,
        "orders_until": _day(dates.get("last"), locale) if "stale_export" in codes else None,
        "previous_date": before,  # the day the merchant was told before (the reminder)
        "date_moved": before is not None and before != switch,
        "sign_off": _sign_off(sign_off, shown, language.sign_off),
        "markdown": markdown,
        "strong": _strong if markdown else _plain,
        "count": count,
        "plural": plural,
        "number": number,
    }


def _sign_off(text: str | None, shown: Any, default: str) -> str:
    """The desk's sign-off as shown: a line break, or a typed backslash-n, starts a line."""
    if text is None:
        text = os.environ.get(SIGN_OFF_VARIABLE)
    if text is None:
        text = default
    lines = [line.strip() for line in text.replace("\\n", "\n").splitlines()]
    return "\n".join(shown(line) for line in lines if line)


def _day(value: object, locale: str) -> HumanDay | None:
    if value is None or value == "":
        return None
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        raise RelinkError(f"the audit result holds {str(value)[:40]!r} as a date") from None
    return HumanDay.of(day, locale)


def _markdown_escaped(text: str) -> str:
    return "".join("\\" + c if c in MARKDOWN_SPECIAL else c for c in visible(text))


def _strong(text: str) -> str:
    return f"**{text}**"


def _plain(text: str) -> str:
    return text
