"""relink.atomic_files: the old file or the whole new one, never half; exclusive writes."""

from __future__ import annotations

import os
import stat

import pytest

from relink import atomic_files
from relink.atomic_files import write_atomically


def test_replaces_whole_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "page.html"
    target.write_text("old", encoding="utf-8")
    assert write_atomically(target, "new ✓") == target
    assert target.read_text(encoding="utf-8") == "new ✓"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]


def test_mode_is_as_asked_or_as_open_would_make_it(tmp_path):
    private = write_atomically(tmp_path / "ticket.json", b"{}", mode=0o600)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    umask = os.umask(0)
    os.umask(umask)
    plain = write_atomically(tmp_path / "summary.csv", b"a\n")
    assert stat.S_IMODE(plain.stat().st_mode) == 0o666 & ~umask


def test_exclusive_refuses_an_existing_name_and_keeps_it(tmp_path):
    record = tmp_path / "ticket.json"
    write_atomically(record, "first", exclusive=True)
    with pytest.raises(FileExistsError):
        write_atomically(record, "second", exclusive=True)
    assert record.read_text(encoding="utf-8") == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ticket.json"]


def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "summary.json"
    target.write_text("old", encoding="utf-8")

    def no_space(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic_files.os, "fsync", no_space)
    with pytest.raises(OSError, match="No space"):
        write_atomically(target, "new")
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]
