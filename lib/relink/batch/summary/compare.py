"""What changed since an earlier batch (``--compare PREVIOUS_DIR``): accounts that became safe,
became blocked or failed, and accounts new or gone, read from the earlier ``summary.json``.

For a runbook batch, green counts as safe and amber or red as blocked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from relink.batch.summary.rows import state_of
from relink.display import visible
from relink.errors import BatchError

# The lists of a comparison (:func:`compare`), each with the words that name it.
COMPARE_LABELS: tuple[tuple[str, str], ...] = (
    ("became_safe", "became safe"),
    ("became_blocked", "became blocked"),
    ("failed", "failed"),
    ("new_accounts", "new"),
    ("gone_accounts", "gone"),
)


def load_previous(folder: str | Path) -> dict[str, Any]:
    """The ``summary.json`` of an earlier batch, for ``--compare``.

    Raises:
        BatchError: the folder has no readable summary.json.
    """
    path = Path(folder) / "summary.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        problem = getattr(exc, "strerror", None) or "not JSON"
        raise BatchError(
            f"{path}: no summary of an earlier batch to compare with ({problem})"
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("accounts"), list):
        raise BatchError(f"{path}: not a relink batch summary")
    document["folder"] = str(folder)
    return document


def compare(previous: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What changed since ``previous`` (:func:`load_previous`): accounts that became safe,
    became blocked, failed, changed otherwise, and accounts new or gone."""
    before = {
        str(row.get("account")): state_of(row)
        for row in previous["accounts"]
        if isinstance(row, dict)
    }
    now = {str(row["account"]): state_of(row) for row in rows}
    changes = [
        {"account": account, "before": before[account], "now": state}
        for account, state in now.items()
        if account in before and before[account] != state
    ]
    good, bad = ("safe", "green"), ("blocked", "amber", "red")
    return {
        "previous": previous.get("folder", ""),
        "previous_started": previous.get("started"),
        "became_safe": [c["account"] for c in changes if c["now"] in good],
        "became_blocked": [c["account"] for c in changes if c["now"] in bad],
        "failed": [c["account"] for c in changes if c["now"] == "failed"],
        "changed": changes,
        "new_accounts": [account for account in now if account not in before],
        "gone_accounts": [account for account in before if account not in now],
    }


def compare_lines(comparison: dict[str, Any]) -> list[str]:
    """``comparison`` as a few lines for the terminal."""
    lines = [
        f"since {comparison['previous']}: {len(comparison['became_safe'])} became safe, "
        f"{len(comparison['became_blocked'])} became blocked, {len(comparison['failed'])} "
        f"failed, {len(comparison['new_accounts'])} new, {len(comparison['gone_accounts'])} gone"
    ]
    for key, label in COMPARE_LABELS:
        names = comparison[key]
        if names:
            shown = ", ".join(visible(name) for name in names[:20])
            more = f" and {len(names) - 20} more" if len(names) > 20 else ""
            lines.append(f"  {label}: {shown}{more}")
    return lines
