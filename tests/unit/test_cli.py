"""`relink audit` and `relink samples` as a user runs them: exit codes, output, JSON contract."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from relink.samples import write_samples

DATA = Path(__file__).parents[1] / "data"
CONTRACT_KEYS = {
    "verdict",
    "rows_in",
    "rows_rejected",
    "orders",
    "blocked_orders",
    "blocking",
    "blockers",
    "rejected",
}
REASONS = {"awaiting_payment", "awaiting_shipment", "awaiting_fulfillment", "unknown_status"}
REASONS |= {"sync_drift"}


def relink(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the installed CLI in a child process, exactly as an analyst would."""
    command = [sys.executable, "-m", "relink", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, object]:
    return {a.account: a for a in write_samples(tmp_path_factory.mktemp("samples"))}


def test_safe_export_exits_0(samples) -> None:
    sample = samples["fjord-kitchen"]
    done = relink("audit", sample.export)
    assert done.returncode == 0, done.stderr
    assert "SAFE" in done.stdout


def test_every_sample_gets_its_expected_verdict(samples) -> None:
    for sample in samples.values():
        args = ["audit", sample.export, "--format", "json"]
        if sample.aliexpress:
            args += ["--aliexpress", sample.aliexpress]
        done = relink(*args)
        result = json.loads(done.stdout)
        assert result["verdict"] == sample.expected_verdict, sample.account
        assert done.returncode == (0 if sample.expected_verdict == "safe" else 1)


def test_json_contract(samples) -> None:
    sample = samples["northwind-home"]
    done = relink("audit", sample.export, "--aliexpress", sample.aliexpress, "--format", "json")
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert set(result) >= CONTRACT_KEYS
    assert set(result["blocking"]) == REASONS
    assert all(isinstance(n, int) for n in result["blocking"].values())
    assert result["rows_in"] == result["rows_audited"] + result["rows_rejected"]
    assert result["blocked_orders"] == len(result["blockers"])
    for blocker in result["blockers"]:
        assert {"store", "order", "reasons", "aliexpress_orders", "actions"} <= set(blocker)
        assert set(blocker["reasons"]) <= REASONS and len(blocker["actions"]) == len(
            blocker["reasons"]
        )
    for reason, count in result["blocking"].items():
        assert count == sum(reason in b["reasons"] for b in result["blockers"])
    assert result["blocking"]["sync_drift"] >= 1


def test_output_carries_no_personal_data(samples) -> None:
    import csv

    for sample in samples.values():
        if sample.export.suffix != ".csv":
            continue
        raw = sample.export.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252")
        delimiter = max(",;\t", key=text.splitlines()[0].count)
        rows = list(csv.DictReader(text.splitlines(), delimiter=delimiter))
        personal = {
            value
            for row in rows
            for key in ("Customer Name", "Email", "Phone", "Shipping Address")
            for value in [row.get(key)]
            if value and len(value) > 4
        }
        assert personal, f"{sample.account}: the sample should carry personal data to hide"
        for output in ("json", "table"):
            done = relink("audit", sample.export, "--format", output)
            leaked = [v for v in personal if v in done.stdout]
            assert not leaked, f"{sample.account} {output}: {leaked[:3]}"


@pytest.mark.parametrize(
    "name",
    sorted(p.name for p in (DATA / "bad").iterdir()),
)
def test_bad_input_exits_2_with_one_line_and_no_traceback(name: str) -> None:
    path = DATA / "bad" / name
    done = relink("audit", path, "--format", "json")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("relink: error: ") and str(path) in done.stderr


def test_bad_aliexpress_file_exits_2(samples, tmp_path: Path) -> None:
    sample = samples["fjord-kitchen"]
    for bad in (tmp_path / "missing.csv", DATA / "bad" / "empty.csv", tmp_path):
        done = relink("audit", sample.export, "--aliexpress", bad)
        assert done.returncode == 2 and str(bad) in done.stderr and "Traceback" not in done.stderr


def test_missing_column_names_the_column_and_lists_what_was_found() -> None:
    done = relink("audit", DATA / "bad" / "no_status.csv")
    assert "no status column" in done.stderr
    assert "columns found: Order No., Store, Customer Name" in done.stderr


def test_samples_command_is_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert relink("samples", first).returncode == 0
    assert relink("samples", second).returncode == 0
    names = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert names and names == sorted(
        p.relative_to(second) for p in second.rglob("*") if p.is_file()
    )
    assert all((first / n).read_bytes() == (second / n).read_bytes() for n in names)
    assert (first / "manifest.csv").is_file()


def _help_commands(width: int) -> list[tuple[str, str]]:
    """``relink --help``'s commands and their lines (a wrapped line joined), at ``width``."""
    from click.testing import CliRunner

    from relink.cli import main

    text = CliRunner().invoke(main, ["--help"], terminal_width=width).output
    listed: list[tuple[str, str]] = []
    for line in text.split("Commands:\n", 1)[1].splitlines():
        name, _, summary = line.strip().partition(" ")
        if line.startswith("  ") and not line.startswith("   "):
            listed.append((name, summary.strip()))
        elif line.strip():
            listed[-1] = (listed[-1][0], f"{listed[-1][1]} {line.strip()}")
    return listed


def test_help_lists_the_commands_in_the_order_of_the_job_with_whole_lines() -> None:
    from relink.cli import COMMAND_SUMMARIES

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme.split("The commands, in the order of the job:", 1)[1].split("\n\n")[1]
    in_readme = re.findall(r"^\| `relink ([\w-]+)", table, re.MULTILINE)
    for width in (80, 60):  # a narrow terminal wraps a line, never cuts it
        listed = _help_commands(width)
        assert [name for name, _ in listed] == in_readme, width
        assert dict(listed) == COMMAND_SUMMARIES
        assert not any(summary.endswith("...") for _, summary in listed)
    assert in_readme[:3] == ["audit", "batch", "open"] and in_readme[-1] == "samples"


def test_help_imports_no_lazy_command() -> None:
    code = (
        "import sys; from click.testing import CliRunner; from relink.cli import main, LazyGroup; "
        "CliRunner().invoke(main, ['--help']); "
        "print([m for m in (t.split(':')[0] for t in LazyGroup.lazy.values()) if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr
