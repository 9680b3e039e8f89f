"""A desk shared by a team: what relink writes there is the group's to read and write, never
anyone else's, whatever the analyst's umask; a desk folder owned by the team's group keeps
every ticket in that group (setgid folders)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from relink.atomic_files import SHARED_FILE_MODE, SHARED_FOLDER_MODE, make_shared_folders
from relink.cli import main
from relink.desk.journal_page import write_journal_page
from relink.runbook import journal as jr
from relink.runbook.tickets import TicketLock

TARGET = "ae-new@example.com"


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A desk under an analyst's usual umask (022: the group could not write what open() makes)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RELINK_DESK", raising=False)
    monkeypatch.setenv("RELINK_API_URL", "http://127.0.0.1:9")  # a deployment: never called
    monkeypatch.setenv("RELINK_API_TOKEN", "tok-shared-desk-test")
    before = os.umask(0o022)
    try:
        yield tmp_path / "desk"
    finally:
        os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_file_and_folder_of_a_ticket_is_the_groups_and_never_others(desk: Path) -> None:
    opened = CliRunner().invoke(
        main,
        ["open", "acme-1", "--to", TARGET, "--ticket", "HD-1", "--desk", str(desk), "--no-lab"],
    )
    assert opened.exit_code == 0, opened.output
    folder = desk / "acme-1" / "HD-1"
    journal = folder / "journal.jsonl"
    jr.Journal(journal).append({"phase": "ticket", "ticket": "HD-1", "account": "acme-1"})
    assert TicketLock(journal, "HD-1").acquire("sam")
    write_journal_page(journal)
    for made in (desk, desk / "acme-1", folder):
        assert mode(made) == SHARED_FOLDER_MODE, made
    written = sorted(p for p in folder.iterdir())
    assert {p.name for p in written} >= {
        "ticket.json",
        "HD-1.ipynb",
        "journal.jsonl",
        "journal.html",
    }
    for path in written:
        assert mode(path) == SHARED_FILE_MODE, path  # read and write for owner and group
        assert not mode(path) & stat.S_IRWXO, path  # nothing for anyone else


def test_an_existing_folder_keeps_the_mode_its_owner_gave_it(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o750)
    os.chmod(mine, 0o750)
    make_shared_folders(mine / "a" / "b")
    assert mode(mine) == 0o750
    assert mode(mine / "a") == mode(mine / "a" / "b") == SHARED_FOLDER_MODE


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another group needs root")
def test_a_desk_owned_by_the_teams_group_keeps_every_ticket_in_it(desk: Path) -> None:
    team = 100  # Debian's "users"
    desk.mkdir()
    os.chown(desk, -1, team)
    os.chmod(desk, SHARED_FOLDER_MODE)
    opened = CliRunner().invoke(
        main,
        ["open", "acme-1", "--to", TARGET, "--ticket", "HD-2", "--desk", str(desk), "--no-lab"],
    )
    assert opened.exit_code == 0, opened.output
    folder = desk / "acme-1" / "HD-2"
    jr.Journal(folder / "journal.jsonl").append({"phase": "ticket", "ticket": "HD-2"})
    for path in (desk / "acme-1", folder, *folder.iterdir()):
        assert path.stat().st_gid == team, path
