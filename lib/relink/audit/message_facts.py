"""What a merchant message is rendered from: the audit's top-level keys, whichever way the
findings come (an export audit or its JSON result, the runbook's live audit, a ticket's live
check), and nothing else: never the blocked orders' list, never anything personal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from relink.audit.verdict import AuditResult
from relink.display import visible
from relink.errors import RelinkError

KEYS = ("verdict", "export", "blocked_orders", "blocking", "forecast", "warnings")
OPTIONAL_KEYS = ("order_dates",)  # read when present (results of relink before it: absent)
_NOTHING_FOUND = {"verdict": "safe", "blocked_orders": 0, "forecast": {}, "warnings": []}


def check_record(check: Mapping[str, Any] | Any) -> dict[str, Any]:
    """A ticket's live check (``check.json``'s record, or an object with its fields:
    ``checked_at``, ``blockers``, ``unpaid``, ``waiting``, ``expected_ready``,
    ``unpaid_orders``, and ``late`` and ``expected_without_action`` when the record has them)
    as the audit's top-level keys a message is rendered from.

    Each blocked order once: ``unpaid`` under the merchant's cancellation (``unpaid_orders``
    named, the others without an AliExpress number), ``waiting`` under the suppliers, the rest
    under a sync when the check expects a date, else under the team's check (no date). A
    check without the day if nothing is done: the message then says the switch may wait for
    the payment window, never a day it does not know.

    Raises:
        RelinkError: a count that is not one, or counts that do not add up (more unpaid and
            waiting orders than blockers).
    """

    def get(name: str) -> Any:
        return check.get(name) if isinstance(check, Mapping) else getattr(check, name, None)

    try:
        blockers, unpaid, waiting = (
            int(get(name) or 0) for name in ("blockers", "unpaid", "waiting")
        )
    except (TypeError, ValueError):
        raise RelinkError("the live check's counts are not numbers: check again") from None
    numbers = [str(number) for number in get("unpaid_orders") or ()]
    unpaid = max(unpaid, len(numbers))
    if unpaid + waiting > blockers:
        raise RelinkError(
            f"the live check counts {unpaid} unpaid and {waiting} waiting orders of "
            f"{blockers} blocking: check again"
        )
    expected = get("expected_ready")
    rest = blockers - unpaid - waiting
    late = min(int(get("late") or 0), waiting)  # of the waiting orders (a later record's field)
    steps = {
        "check": {"orders": 0 if expected else rest},
        "cancel": {"orders": unpaid},
        "wait": {"orders": waiting, "oldest_order_date": None, "late_orders": late},
        "sync": {"orders": rest if expected else 0},
    }
    forecast = {
        "as_of": str(get("checked_at") or "")[:10] or None,
        "earliest_safe_date_with_merchant_action": expected,
        # the day if nobody acts, when the record keeps it (a later record's field)
        "earliest_safe_date": get("expected_without_action"),
        "reason": None if expected else "no date at the last live check",
        "cancel_now": numbers,
        "unpaid_without_aliexpress_number": unpaid - len(numbers),
        "next_steps": steps,
        "rows_unread": 0,
    }
    verdict = "blocked" if blockers else "safe"
    return {"verdict": verdict, "export": "", "blocked_orders": blockers, "blocking": {},
            "forecast": forecast, "warnings": []}  # fmt: skip


def message_facts(facts: Any) -> tuple[dict[str, Any], str]:
    """The audit's top-level keys from what :func:`relink.audit.message.ticket_message` was
    given (see there), and a note when they are a check that could not be made (its findings
    are the check before).

    Raises:
        RelinkError: a result without the keys a message needs, or a check whose counts are
            not numbers or do not add up.
    """
    if facts is None:
        return dict(_NOTHING_FOUND), ""
    if isinstance(facts, AuditResult):  # its attributes: never to_dict(), which builds blockers
        return {key: getattr(facts, key) for key in KEYS + OPTIONAL_KEYS}, ""
    is_check = (
        "checked_at" in facts and "blockers" in facts
        if isinstance(facts, Mapping)
        else hasattr(facts, "checked_at") and hasattr(facts, "unpaid_orders")
    )
    if is_check:
        error = facts.get("error") if isinstance(facts, Mapping) else facts.error
        note = (
            f"the last live check failed ({visible(str(error))[:120]}): the message is from "
            "the check before"
            if error
            else ""
        )
        return check_record(facts), note
    if not isinstance(facts, Mapping) and hasattr(facts, "forecast") and hasattr(facts, "verdict"):
        # a live audit (the runbook's AuditSnapshot): its verdict, count and forecast; the
        # message reads no more (not its blocked orders, which name stores and store orders)
        return {"verdict": facts.verdict, "export": "", "blocked_orders": len(facts.blockers),
                "blocking": {}, "forecast": dict(facts.forecast or {}),
                "warnings": []}, ""  # fmt: skip
    return _top_level(facts), ""


def _top_level(audit: Mapping[str, Any] | Any) -> dict[str, Any]:
    if not isinstance(audit, Mapping):
        raise RelinkError(f"a merchant message needs an audit result, not {type(audit).__name__}")
    missing = [key for key in KEYS if key not in audit]
    if missing:
        raise RelinkError(
            f"the audit result has no {', '.join(missing)}: audit the export again "
            "with this version of relink"
        )
    if audit["verdict"] not in ("safe", "blocked"):
        raise RelinkError(f"the audit result's verdict is {str(audit['verdict'])[:40]!r}")
    return {key: audit[key] for key in KEYS} | {key: audit.get(key) for key in OPTIONAL_KEYS}
