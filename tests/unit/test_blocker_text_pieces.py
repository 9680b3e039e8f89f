"""The pieces of the blocked orders' JSON text against their plain-Python definitions.

``escaped`` skips the regular expression when no byte needs escaping, and ``iso_days`` formats
each day of the span once: both must give exactly what ``json.dumps`` and ``date.isoformat``
give, for any text and any day.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from relink.audit.blocker_text import escaped
from relink.audit.dates import NO_DATE, iso_days

EPOCH = date(1970, 1, 1)
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), text, st.sampled_from(['"', "\\", "\n", "ok"]))),
    start=st.integers(0, 3),
)
def test_escaped_is_json_dumps_without_the_quotes(values, start) -> None:
    array = pa.array(values, pa.string()).slice(min(start, len(values)))  # an offset, too
    plain = array.to_pylist()
    expected = [None if v is None else json.dumps(v, ensure_ascii=False)[1:-1] for v in plain]
    assert escaped(array).to_pylist() == expected


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.just(NO_DATE), st.integers(-719_162, 2_932_896), st.integers(20_000, 20_400)),
        max_size=40,
    )
)
def test_iso_days_is_the_iso_date(days) -> None:
    expected = [None if d == NO_DATE else (EPOCH + timedelta(days=d)).isoformat() for d in days]
    got = iso_days(np.array(days, dtype=np.int32))
    assert got.type == pa.string()
    assert got.to_pylist() == expected
