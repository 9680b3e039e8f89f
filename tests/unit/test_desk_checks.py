"""A ticket's live-check record (check.json): written whole, read back equal, refused when bad."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from relink.desk.checks import CHECK_NAME, LiveCheck, read_check, write_check
from relink.errors import InputError

CHECK = LiveCheck(
    checked_at="2026-11-20T09:00:00Z",
    blockers=3,
    unpaid=1,
    waiting=2,
    expected_ready="2026-11-28",
    unpaid_orders=("8123456789012345",),
    moved=("A new order arrived: 3 orders block (were 2).",),
    error=None,
    sequence=2,
)


def test_a_folder_never_checked_has_no_record(tmp_path: Path) -> None:
    assert read_check(tmp_path) is None


def test_a_record_reads_back_equal(tmp_path: Path) -> None:
    write_check(tmp_path, CHECK)
    assert read_check(tmp_path) == CHECK
    unknown = LiveCheck("2026-11-21T00:00:00Z", 1, 0, 0, None, (), (), "API down", 0)
    write_check(tmp_path, unknown)
    assert read_check(tmp_path) == unknown


def test_the_record_is_written_whole_and_the_teams_only(tmp_path: Path) -> None:
    write_check(tmp_path, CHECK)
    assert [p.name for p in tmp_path.iterdir()] == [CHECK_NAME]  # no temporary left
    assert os.stat(tmp_path / CHECK_NAME).st_mode & 0o777 == 0o660  # the group, never others
    stored = json.loads((tmp_path / CHECK_NAME).read_text())
    assert stored["unpaid_orders"] == ["8123456789012345"] and stored["format"] == 1


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "not a live-check record"),
        (json.dumps({**CHECK.to_json(), "blockers": "3"}), "'blockers' is not a count"),
        (json.dumps({**CHECK.to_json(), "blockers": True}), "'blockers' is not a count"),
        (json.dumps({**CHECK.to_json(), "moved": "x"}), "'moved' is not a list of texts"),
        (json.dumps({**CHECK.to_json(), "checked_at": None}), "'checked_at' is not a text"),
        (json.dumps({k: v for k, v in CHECK.to_json().items() if k != "sequence"}), "'sequence'"),
    ],
)
def test_an_unreadable_record_is_one_error_naming_the_file(
    tmp_path: Path, content: str, says: str
) -> None:
    (tmp_path / CHECK_NAME).write_text(content)
    with pytest.raises(InputError) as caught:
        read_check(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / CHECK_NAME}: ")
    assert says in str(caught.value)


def test_a_record_without_the_added_fields_reads_with_their_defaults(tmp_path: Path) -> None:
    added = ("late", "orders", "failed_at", "expected_without_action")
    stored = {k: v for k, v in CHECK.to_json().items() if k not in added}
    (tmp_path / CHECK_NAME).write_text(json.dumps(stored))
    assert read_check(tmp_path) == CHECK


@pytest.mark.parametrize(
    ("changes", "ready"),
    [
        ({}, False),  # an unpaid order and two waiting
        ({"blockers": 0, "unpaid": 0, "waiting": 0, "expected_ready": "2026-11-20"}, True),
        # two orders AliExpress has settled: the change's own sync clears them today
        ({"blockers": 2, "unpaid": 0, "waiting": 0, "expected_ready": "2026-11-20"}, True),
        ({"blockers": 2, "unpaid": 0, "waiting": 0, "expected_ready": "2026-11-21"}, False),
        ({"blockers": 2, "unpaid": 0, "waiting": 0, "expected_ready": None}, False),  # a person
        ({"blockers": 2, "unpaid": 0, "waiting": 1, "expected_ready": "2026-11-20"}, False),
        ({"blockers": 0, "unpaid": 0, "waiting": 0, "error": "API down"}, False),
    ],
)
def test_ready_means_nothing_waits_but_the_changes_own_sync(
    changes: dict[str, object], ready: bool
) -> None:
    from dataclasses import replace

    assert replace(CHECK, **changes).ready is ready
