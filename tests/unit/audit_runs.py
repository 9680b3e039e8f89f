"""``relink audit`` run as a child process, and the check that a refused file reads the same
there as in place: shared by the CSV and XLSX read-ahead tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def relink_audit(path: Path, *options: str, before: str = "") -> subprocess.CompletedProcess[str]:
    """``relink audit [OPTIONS] PATH`` in a child process, running ``before`` first."""
    code = f"import sys\n{before}\nfrom relink.cli import main\nmain(sys.argv[1:])\n"
    command = [sys.executable, "-c", code, "audit", *options, str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def assert_refused_in_one_line(path: Path, in_place: Exception, problem: str) -> None:
    """The command refuses ``path`` with exit 2 and the one line ``in_place`` says, naming
    ``problem``: no output, no traceback."""
    done = relink_audit(path)
    assert done.returncode == 2, done.stderr
    assert done.stdout == "" and "Traceback" not in done.stderr
    assert done.stderr == f"relink: error: {in_place}\n"
    assert problem in done.stderr
