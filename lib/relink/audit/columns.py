"""What a reader of export files hands back: wanted columns, found by alias, as Arrow text.

A :class:`ColumnSpec` names a column and its aliases; :func:`match_columns` finds them in a
header row (case, spaces, punctuation and underscores ignored); a :class:`Table` is the result,
every value a string or missing, with a ``row`` column numbering rows as a spreadsheet shows
them (header = 1), so rejections can point at them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from relink.errors import ExportError

# Every value comes back as Arrow text: what the CSV reader yields, so nothing is copied.
TEXT = pd.ArrowDtype(pa.string())
PROBLEM = "__problem__"  # optional column: why a row cannot be read as it stands
# Optional column: True for a row with no value in any column of the file (every cell empty or
# blanks only), as Excel and many exporters write at the end. Such a row is not an order.
BLANK = "__blank__"


def compact_name(name: object) -> str:
    """Column-name key: case, spaces, punctuation and underscores ignored."""
    return re.sub(r"[^0-9a-z]", "", str(name).casefold())


@dataclass(frozen=True)
class ColumnSpec:
    """A column the caller wants, found under any of ``aliases`` (first match wins)."""

    name: str
    aliases: tuple[str, ...]
    required: bool = False
    keys: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", tuple(compact_name(a) for a in self.aliases))


@dataclass
class Table:
    """The wanted columns of one file, plus where they came from."""

    path: Path
    frame: pd.DataFrame
    columns: dict[str, str]  # canonical name -> header as written in the file


def match_columns(
    path: Path, header: list[object], specs: tuple[ColumnSpec, ...]
) -> dict[str, int] | None:
    """Map canonical names to header positions; ``None`` when a required column is absent."""
    positions: dict[str, int] = {}
    keys = [compact_name(h) if h is not None else "" for h in header]
    for spec in specs:
        for key in spec.keys:
            if key in keys:
                positions[spec.name] = keys.index(key)
                break
        else:
            if spec.required:
                return None
    return positions


def blank_in_wanted(frame: pd.DataFrame, names: Iterable[str]) -> np.ndarray:
    """The positions of the rows whose columns ``names`` are all missing or blanks only.

    Column by column, each on the rows still in question: the first (the order number) rules
    out nearly every row, so the others are looked at only for the few left.
    """
    chosen: np.ndarray | None = None  # None: every row
    for name in names:
        values = frame[name].array.__arrow_array__()
        if chosen is not None:
            values = values.take(pa.array(chosen, pa.int64()))
        blank = pc.or_kleene(pc.equal(values, ""), pc.utf8_is_space(values)).fill_null(True)
        blank = blank.to_numpy(zero_copy_only=False)
        chosen = np.flatnonzero(blank) if chosen is None else chosen[blank]
        if not len(chosen):
            break
    return chosen if chosen is not None else np.arange(len(frame))


def blank_value(value: object) -> bool:
    """Whether one cell holds no value: missing, empty, or blanks only."""
    if isinstance(value, str):
        return not value.strip()
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def missing_columns_error(path: Path, header: list[object], specs: tuple[ColumnSpec, ...]):
    found = [str(h) for h in header if h is not None and str(h).strip()]
    keys = {compact_name(h) for h in found}
    missing = [s for s in specs if s.required and not keys.intersection(s.keys)]
    wanted = "; ".join(f"no {s.name} column (looked for: {', '.join(s.aliases)})" for s in missing)
    # a header cell can be anything (an unterminated quote swallows the file): keep it short
    cells = [name if len(name) <= 60 else f"{name[:57]}..." for name in found[:30]]
    shown = ", ".join(cells) + (", ..." if len(found) > 30 else "")
    return ExportError(path, f"{wanted}; columns found: {shown or 'none'}")
