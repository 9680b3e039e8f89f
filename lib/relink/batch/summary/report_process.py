"""Each account's report rendered in a process of its own as the account finishes, started by
the batch (:data:`relink.batch_helpers.REPORT_PROCESS`).

Why not a thread of the batch: rendering a report (nbconvert, 30 to 50 ms of CPU) holds
Python's lock most of that time, and the loop that serves the kernels waits for it at each of
their messages. Measured on 40 accounts with 2 workers, the runs took about half as long again
with the reports rendered beside them in a thread as without (benchmarks/README.md). In a
process of its own, a report takes only a core's idle time: the kernels spend much of theirs
waiting for the batch's next message.

It writes the account's merchant messages too (Jinja2 and Babel, a few milliseconds more the
batch's loop no longer shares its lock with), before the report, which links them.

The protocol: one JSON line per account on the process's stdin (``{"notebook": PATH,
"result": RECORD, "language": TAG}``), one JSON line back on its stdout once its messages and
report are written (``{"ok": true}``, or ``{"error": "..."}``); it exits when its stdin
closes. :class:`ReportProcess` is the batch's side. A report the process
could not render (or any report, if the process cannot start or dies) is left to the summary,
which renders every missing or stale report (:func:`relink.batch.summary.reports.render_stale`).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from relink.batch_helpers import REPORT_PROCESS, REPORT_PROCESS_ENV


class ReportProcess:
    """The batch's side of the report process: :meth:`render` from any thread, :meth:`close`.

    Raises (from the constructor):
        OSError: the process could not be started.
    """

    def __init__(self) -> None:
        # relink.batch imports no papermill there, nor jsonschema's IRI grammar (not needed).
        env = {**os.environ, REPORT_PROCESS_ENV: "1"}
        self._process = subprocess.Popen(
            REPORT_PROCESS,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self._lock = threading.Lock()

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def render(
        self, notebook: Path, result: dict[str, Any] | None = None, language: str = ""
    ) -> None:
        """Have ``notebook``'s merchant messages (from its recorded ``result``, in
        ``language``) and then its report written; returns once they are.

        Raises:
            OSError: the process is gone, or could not write them (the message says why).
        """
        request = {"notebook": str(notebook), "result": result, "language": language}
        request = json.dumps(request, ensure_ascii=False) + "\n"
        with self._lock:  # one report at a time, each reply read by whoever asked
            try:
                self._process.stdin.write(request.encode())
                self._process.stdin.flush()
                reply = self._process.stdout.readline()
            except (OSError, ValueError) as exc:
                raise OSError(f"the report process is gone ({exc})") from exc
        if not reply:
            raise OSError("the report process is gone")
        answer = json.loads(reply)
        if not answer.get("ok"):
            raise OSError(answer.get("error") or "not rendered")

    def close(self) -> None:
        """Let the process finish and exit (killed if it does not within 10 s)."""
        with contextlib.suppress(OSError, ValueError):
            self._process.stdin.close()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        with contextlib.suppress(OSError, ValueError):
            self._process.stdout.close()


def serve(lines: object = None, replies: object = None) -> None:
    """The process's loop: render the report of each notebook asked for, say how it went."""
    from relink.batch.summary import reports
    from relink.batch.summary.files import write_messages

    lines = lines or sys.stdin.buffer
    replies = replies or sys.stdout.buffer
    reports.warm_up()
    for line in lines:
        try:
            request = json.loads(line)
            notebook = Path(request["notebook"])
            if "result" in request:  # the messages first: the report links them
                write_messages(notebook.parent, request["result"], request.get("language", ""))
            reports.render_report(notebook)
            answer = {"ok": True}
        except Exception as exc:  # the batch leaves this report to the summary
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        replies.write((json.dumps(answer) + "\n").encode())
        replies.flush()


if __name__ == "__main__":
    serve()
