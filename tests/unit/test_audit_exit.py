"""``relink audit`` run as the process itself ends without the interpreter's teardown
(:func:`relink.exits.finish`): everything it wrote must still be there, the exit status too.
Called from Python (click's ``CliRunner``, ``main([...])``), it exits as any command does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from relink.audit import read_export
from relink.audit.verdict import audit
from relink.cli import main

TODAY = "2026-11-20"


def _export(tmp_path: Path, orders: int, status: str = "Awaiting payment") -> Path:
    lines = ["Order No.,Status,AliExpress Order No.,Order Date"]
    lines += [f"#{i},{status},{8100 + i},2026-11-10" for i in range(orders)]
    path = tmp_path / "export.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run(code: str, *args: str | Path) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-c", code, *map(str, args)]
    env = {**os.environ, "RELINK_TODAY": TODAY}
    return subprocess.run(command, capture_output=True, timeout=120, env=env)


AS_THE_PROCESS = "import runpy; runpy.run_module('relink', run_name='__main__')"  # python -m
TEARDOWN = "import atexit, sys; atexit.register(lambda: print('teardown', file=sys.stderr))\n"


def test_the_whole_json_is_written_before_the_process_ends(tmp_path: Path) -> None:
    path = _export(tmp_path, 3000)  # 1.4 MB of JSON: far more than a pipe holds
    done = _run(AS_THE_PROCESS, "audit", path, "--format", "json")
    assert done.returncode == 1, done.stderr
    result = audit(read_export(path), as_of=date.fromisoformat(TODAY))
    assert done.stdout == result.to_json() + b"\n"
    assert done.stderr == b""


@pytest.mark.parametrize(("status", "code"), [("Fulfilled", 0), ("Awaiting shipment", 1)])
def test_the_table_and_the_exit_status_are_those_of_a_call(tmp_path, status, code) -> None:
    path = _export(tmp_path, 300, status)
    done = _run(AS_THE_PROCESS, "audit", path)
    called = CliRunner().invoke(main, ["audit", str(path)], env={"RELINK_TODAY": TODAY})
    assert (done.returncode, called.exit_code) == (code, code)
    assert done.stdout.decode() == called.stdout


def test_only_the_process_itself_skips_the_teardown(tmp_path: Path) -> None:
    path = _export(tmp_path, 3, "Fulfilled")
    as_process = _run(TEARDOWN + AS_THE_PROCESS, "audit", path)
    called = _run(TEARDOWN + "from relink.cli import main; main(sys.argv[1:])", "audit", path)
    assert (as_process.returncode, called.returncode) == (0, 0)
    assert as_process.stdout == called.stdout != b""
    assert (as_process.stderr, called.stderr) == (b"", b"teardown\n")
