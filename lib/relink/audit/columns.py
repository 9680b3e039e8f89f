"""What a reader of export files hands back: wanted columns, found by alias, as Arrow text.

A :class:`ColumnSpec` names a column and its aliases; :func:`match_columns` finds them in a
header row (both in :mod:`~relink.audit.column_specs`, re-exported); a :class:`Table` is the result,
every value a string or missing, with a ``row`` column numbering rows as a spreadsheet shows
them (header = 1), so rejections can point at them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# The specs and their matching are pandas-free (relink audit reads ahead before pandas is
# imported); re-exported here with what the readers hand back.
from relink.audit.column_specs import ColumnSpec as ColumnSpec
from relink.audit.column_specs import compact_name as compact_name
from relink.audit.column_specs import match_columns as match_columns
from relink.audit.column_specs import missing_columns_error as missing_columns_error

# Every value comes back as Arrow text: what the CSV reader yields, so nothing is copied.
TEXT = pd.ArrowDtype(pa.string())
PROBLEM = "__problem__"  # optional column: why a row cannot be read as it stands
# Optional column: True for a row with no value in any column of the file (every cell empty or
# blanks only), as Excel and many exporters write at the end. Such a row is not an order.
BLANK = "__blank__"


@dataclass
class Table:
    """The wanted columns of one file, plus where they came from."""

    path: Path
    frame: pd.DataFrame
    columns: dict[str, str]  # canonical name -> header as written in the file


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
