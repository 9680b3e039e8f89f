"""The journal's chain: every line carries the hash of the line before it, so a line edited,
removed or inserted since it was written is found where it was, and older journals still read."""

from __future__ import annotations

import json

from relink.runbook import journal as jr
from relink.runbook.chain import check_chain


def _entry(step: str, attempt: str, phase: str, **extra: object) -> dict[str, object]:
    return {"ticket": "T-1", "step": step, "attempt": attempt, "phase": phase, **extra}


def _written(tmp_path, count: int = 4):
    path = tmp_path / "journal.jsonl"
    journal = jr.Journal(path)
    for number in range(count):
        journal.append(_entry("audit", f"a{number}", "finished", outcome="done"))
    return path


def test_each_line_follows_the_one_before_it(tmp_path):
    path = _written(tmp_path)
    lines = path.read_bytes().splitlines()
    assert json.loads(lines[0])[jr.CHAIN] == jr.GENESIS
    assert all(jr.chain_hash(lines[i - 1]) == json.loads(lines[i])[jr.CHAIN] for i in (1, 2, 3))
    report = check_chain(path)
    assert report.intact and report.unchained == ()


def test_an_edited_line_breaks_the_chain_at_the_next_line(tmp_path):
    path = _written(tmp_path)
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace('"done"', '"refused"')
    path.write_text("\n".join(lines) + "\n")
    report = check_chain(path)
    assert [b.line for b in report.breaks] == [3]
    assert "edited" in report.breaks[0].text()


def test_a_removed_line_breaks_the_chain_where_it_was(tmp_path):
    path = _written(tmp_path)
    lines = path.read_text().splitlines()
    del lines[1]
    path.write_text("\n".join(lines) + "\n")
    assert [b.line for b in check_chain(path).breaks] == [2]
    first_removed = "\n".join(path.read_text().splitlines()[1:]) + "\n"
    path.write_text(first_removed)
    assert "removed" in check_chain(path).breaks[0].text()


def test_a_line_inserted_by_hand_is_found(tmp_path):
    path = _written(tmp_path)
    lines = path.read_text().splitlines()
    forged = _entry("unlink", "u9", "started", idempotency_key="k9", request={"change_id": "c"})
    lines.insert(2, json.dumps(forged))  # no chain hash: a person wrote it
    path.write_text("\n".join(lines) + "\n")
    assert [b.line for b in check_chain(path).breaks] == [3, 4]
    # with a hash copied from a neighbour it still does not follow its predecessor
    lines[2] = json.dumps({**forged, jr.CHAIN: json.loads(lines[1])[jr.CHAIN]})
    path.write_text("\n".join(lines) + "\n")
    assert [b.line for b in check_chain(path).breaks] == [3, 4]


def test_an_older_unchained_journal_reads_and_is_flagged(tmp_path):
    path = tmp_path / "journal.jsonl"
    old = [_entry("audit", f"o{n}", "finished", outcome="done") for n in range(3)]
    path.write_text("".join(json.dumps(e) + "\n" for e in old))
    assert [e["attempt"] for e in jr.Journal(path).entries()] == ["o0", "o1", "o2"]
    jr.Journal(path).append(_entry("audit", "n1", "finished", outcome="done"))
    report = check_chain(path)
    assert report.intact and report.unchained == (1, 2, 3)
    assert report.unchained_text().startswith("lines 1-3: no chain hash")
    assert [e["attempt"] for e in jr.Journal(path).entries()] == ["o0", "o1", "o2", "n1"]
