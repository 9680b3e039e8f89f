"""A sandbox started by a process dies with it, even when that process is SIGKILLed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil

PARENT = """
import sys
from relink.sandbox.launcher import start_sandbox
sandbox = start_sandbox(sys.argv[1])
print(sandbox.process.pid, flush=True)
sys.stdin.read()  # wait to be killed
"""


def test_sandbox_stops_when_its_parent_is_killed(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path / "sandbox.sqlite")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    sandbox = psutil.Process(int(parent.stdout.readline()))
    assert sandbox.is_running()
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(10)
    # Bounded wait for the lifeline to take the server down (no fixed sleep).
    sandbox.wait(timeout=15)
    assert not psutil.pid_exists(sandbox.pid) or sandbox.status() == psutil.STATUS_ZOMBIE
