"""relink batch writes each account's message in its merchant's language: a manifest's
`language` column, else `--lang`, else English; a language without templates is said."""

from __future__ import annotations

import json
import shutil

from click.testing import CliRunner

from relink.audit.message import ticket_message
from relink.cli import main


def test_a_manifest_language_column_gives_each_account_its_language(
    fixture_accounts, personal_data, tmp_path
) -> None:
    shutil.copy(fixture_accounts["safe"], tmp_path / "east.csv")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "account,export,aliexpress,language\n"
        "North,blocked.csv,blocked-aliexpress.csv,fr\n"
        "South,safe.csv,,de_DE\n"
        "West,blocked.csv,,\n"
        "East,east.csv,,xx\n"
    )
    out = tmp_path / "out"
    command = ["batch", str(manifest), "--out", str(out), "--workers", "2", "--lang", "pt-br"]
    outcome = CliRunner().invoke(main, command)
    assert outcome.exit_code == 0, outcome.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    results = {row["account"]: row["result"] for row in summary["accounts"]}
    expected = {"North": "fr", "South": "de", "West": "pt-BR", "East": "en"}
    for account, language in expected.items():
        for kind, suffix in (("text", "txt"), ("markdown", "md")):
            written = (out / account / f"{account}.message.{suffix}").read_text(encoding="utf-8")
            said = ticket_message(results[account], "first", language, kind).text
            assert written == said, (account, kind)
            assert not [value for value in personal_data if value in written]
    greetings = {account: (out / account / f"{account}.message.txt").read_text().split("\n")[0]
                 for account in expected}  # fmt: skip
    assert greetings == {
        "North": "Bonjour,",
        "South": "Guten Tag,",
        "West": "Olá,",
        "East": "Hello,",
    }
    note = "East: no message templates for xx (there are: de, en, es, fr, it, pt-BR): the message "
    assert summary["message_notes"] == [
        "South: no message templates for de-DE: the message is in German (de)",
        note + "is in English",
    ]
    assert f"relink batch: message of {note}is in English" in outcome.stdout
