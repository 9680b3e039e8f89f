"""`relink rehearse`: the whole change on the embedded sandbox, guards visibly holding."""

from __future__ import annotations

import os
import subprocess
import sys


def _rehearse(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "relink", "rehearse"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_rehearsal_ends_green_after_the_guards_refused(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELINK_API")}
    done = _rehearse({**env, "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()

    def first(prefix: str) -> int:
        return next(i for i, line in enumerate(lines) if line.startswith(prefix))

    order = [
        first("[analyst] unlink: refused"),
        first("[merchant] cancels unpaid"),
        first("[analyst] unlink: refused: First log in to"),
        first("[merchant] logs in"),
        first("[analyst] unlink: done"),
        first("[analyst] relink: done"),
    ]
    assert order == sorted(order)
    assert lines[-1] == "light: green: Linked to ae-new@example.com, whitelisted"


def test_rehearsal_refuses_a_deployment() -> None:
    env = {**os.environ, "RELINK_API_URL": "http://127.0.0.1:9", "RELINK_API_TOKEN": "x"}
    done = _rehearse(env)
    assert done.returncode == 2
    assert "embedded sandbox only" in done.stderr and "Traceback" not in done.stderr
