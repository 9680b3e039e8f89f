"""``relink app`` with no account: its home page is the desk's queue, behind Voilà's token.

The server is ``relink app --desk DESK`` on a free loopback port (its own process, stopped by
the test); the page is read with plain HTTP: no token, no queue; with the token, every ticket
with its state, escaped, each linking to its page; Voilà's folder list stays at /voila/tree.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from relink.desk.checks import LiveCheck, write_check

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("voila") is None, reason="voila is not installed (relink[app])"
    ),
]
APP_LINE = re.compile(r"^App: (http://127\.0\.0\.1:\d+/)\?token=([0-9a-f]+)$", re.MULTILINE)
HOSTILE = "<script>alert(1)</script>"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def desk_app(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """(base URL, token, desk) of ``relink app --desk DESK`` serving a desk of two tickets."""
    desk = tmp_path / "desk"
    write_check(make_ticket(desk, "ready-acct", "HD-1"), recent_check())
    make_ticket(desk, HOSTILE, "HD-2", folder=("hostile", "HD-2"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RELINK_API", "JUPYTER"))}
    env.update(HOME=str(tmp_path), JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter"))
    env.update(JUPYTER_DATA_DIR=str(tmp_path / "jdata"), JUPYTER_PLATFORM_DIRS="1")
    command = [sys.executable, "-m", "relink", "app", "--desk", str(desk), "--no-browser"]
    command += ["--port", str(_free_port())]
    log = tmp_path / "app.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    try:
        url, token = _wait(process, log)
        yield url, token, desk
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(15)


def make_ticket(
    desk: Path, account: str, ticket: str, *, folder: tuple[str, str] | None = None
) -> Path:
    """A ticket folder as relink open leaves it (its record only)."""
    where = desk.joinpath(*(folder or (account, ticket)))
    where.mkdir(parents=True)
    record = {"ticket": ticket, "account": account, "target": "ae-new@example.com",
              "api": "deployment", "notebook": f"{ticket}.ipynb"}  # fmt: skip
    (where / "ticket.json").write_text(json.dumps(record), encoding="utf-8")
    return where


def recent_check() -> LiveCheck:
    """A live check an hour ago that found nothing blocking."""
    at = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
    return LiveCheck(at, 0, 0, 0, None, (), (), None, 1)


def _wait(process: subprocess.Popen[bytes], log: Path) -> tuple[str, str]:
    """The printed address once the port answers (bounded polls; the log on failure)."""
    for attempt in range(240):
        text = log.read_text(errors="replace")
        if process.poll() is not None:
            pytest.fail(f"relink app exited with {process.returncode}:\n{text}")
        if printed := APP_LINE.search(text):
            with contextlib.suppress(requests.RequestException):
                requests.get(printed.group(1) + "voila/static/", timeout=2)
                return printed.group(1), printed.group(2)
        time.sleep(min(0.05 * (attempt + 1), 0.25))
    pytest.fail(f"relink app did not answer:\n{log.read_text(errors='replace')}")


def test_the_home_page_is_the_queue_behind_the_token(desk_app: tuple[str, str, Path]) -> None:
    url, token, desk = desk_app
    anonymous = requests.get(url, timeout=10, allow_redirects=False)
    assert anonymous.status_code in (302, 403) and "HD-1" not in anonymous.text
    page = requests.get(url, params={"token": token}, timeout=10)
    assert page.status_code == 200, page.text[:500]
    assert page.headers["Content-Type"].startswith("text/html")
    assert "<title>Tickets on the desk</title>" in page.text
    assert 'href="/voila/render/ready-acct/HD-1/HD-1.ipynb"' in page.text
    assert 'href="/voila/render/hostile/HD-2/HD-2.ipynb"' in page.text
    assert HOSTILE not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert ">ready<" in page.text and "unchecked" in page.text
    assert 'href="/voila/tree"' in page.text
    # the folder list is still there, behind the same token
    tree = requests.get(url + "voila/tree", params={"token": token}, timeout=10)
    assert tree.status_code == 200 and "Voilà Home" in tree.text
    # a ticket opened since is on the next load: the page is built on every request
    make_ticket(desk, "later-acct", "HD-3")
    again = requests.get(url, params={"token": token}, timeout=10)
    assert "later-acct" in again.text
