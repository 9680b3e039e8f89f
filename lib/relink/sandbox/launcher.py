"""Run a sandbox: serve it in this process, or start one as a child process and control it.

:func:`serve` is what ``relink sandbox serve`` runs: it binds the socket itself (so ``--port 0``
works), and prints ``relink sandbox listening on URL`` once uvicorn is accepting calls.
:func:`start_sandbox` is what the demo and the tests use when no ``RELINK_API_URL`` is set: a
real server process on a free loopback port, with a :class:`SandboxAdmin` to drive its world.
"""

from __future__ import annotations

import queue
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

import requests
import uvicorn

from relink.api.transport import build_session, send
from relink.errors import ApiConnectionError, ApiError, RelinkError
from relink.sandbox.app import SandboxSettings, create_app

ANNOUNCEMENT = "relink sandbox listening on "


class _AnnouncingServer(uvicorn.Server):
    """A uvicorn server that says where it listens once it is ready to answer."""

    def __init__(self, config: uvicorn.Config, url: str, out: IO[str]) -> None:
        super().__init__(config)
        self.url = url
        self.out = out

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        print(f"{ANNOUNCEMENT}{self.url}", file=self.out, flush=True)


def serve(
    settings: SandboxSettings,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    log_level: str = "warning",
    out: IO[str] | None = None,
    lifeline: bool = False,
) -> None:
    """Serve the sandbox until interrupted; ``port=0`` takes a free port and prints it.

    With ``lifeline``, the server also stops when its standard input closes: a parent that
    starts it with a pipe on stdin takes it down when it dies, even by SIGKILL (a notebook
    kernel killed by ``relink batch``), so no sandbox outlives the process that wanted it.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP said outright: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on
    # sockets that say so, and with it on every keep-alive answer waited ~40 ms for an ACK
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if family == socket.AF_INET6 else host
    config = uvicorn.Config(
        create_app(settings),
        log_level=log_level,
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    server = _AnnouncingServer(config, f"http://{shown_host}:{bound_port}", out or sys.stdout)
    if lifeline:
        threading.Thread(target=_exit_on_eof, args=(server,), daemon=True).start()
    server.run(sockets=[sock])


def _exit_on_eof(server: uvicorn.Server) -> None:
    """Block until stdin closes (the parent is gone or done), then stop the server gracefully."""
    while sys.stdin.buffer.read(4096):
        pass
    server.should_exit = True


def admin_session() -> requests.Session:
    """A session for the sandbox's own routes: the API client's (its adapter, no redirects, one
    error mapping), without a token (the admin routes need none) and without retries (a world's
    move is not idempotent, and a sandbox that refuses says so at once)."""
    return build_session(None, retries=0)


@dataclass
class SandboxAdmin:
    """Calls the sandbox-only ``/_sandbox`` routes (the server must run with ``--admin``).

    Calls go through :func:`relink.api.transport.send`, so failures are :mod:`relink.errors`
    types, as the client's: every method raises :class:`~relink.errors.ApiError` (its subclass
    by status: ``ConflictError``, ``NotFoundError``...) when the sandbox refuses, and
    :class:`~relink.errors.ApiConnectionError` when it does not answer.
    """

    url: str
    session: requests.Session = field(default_factory=admin_session, repr=False)
    timeout: float = 10.0

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        answer = send(
            self.session,
            method,
            f"{self.url}/_sandbox{path}",
            operation=f"sandbox {method} /_sandbox{path}",
            body=body,
            timeout=(self.timeout, self.timeout),
        )
        return answer.body

    def seed(self, seed: dict[str, Any]) -> dict[str, Any]:
        """Create an account afresh (see :class:`relink.sandbox.models.SeedAccount`)."""
        return self._call("POST", "/accounts", seed)

    def issue_token(
        self,
        token: str,
        accounts: list[str],
        principal: str,
        *,
        display_name: str | None = None,
        kind: str = "person",
        permissions: list[str] | tuple[str, ...] = (),
    ) -> str:
        """Issue ``token`` to ``principal`` on ``accounts`` (with ``permissions`` there): a
        second person's token, say; returns the token's principal."""
        body = {
            "token": token,
            "accounts": accounts,
            "principal": principal,
            "display_name": display_name,
            "kind": kind,
            "permissions": list(permissions),
        }
        return str(self._call("POST", "/tokens", body)["principal"])

    def clock(self) -> float:
        return float(self._call("GET", "/clock")["now"])

    def now(self) -> datetime:
        """Sandbox time as an aware UTC datetime: a runbook clock that follows the sandbox's."""
        return datetime.fromtimestamp(self.clock(), tz=UTC)

    def day(self) -> date:
        """The sandbox's day (UTC): the day a runbook on its clock counts its forecast from."""
        return self.now().date()

    def advance(self, *, days: float = 0, seconds: float = 0) -> float:
        """Move sandbox time forward; returns the new sandbox time (epoch seconds)."""
        body = {"seconds": days * 86_400 + seconds}
        return float(self._call("POST", "/clock/advance", body)["now"])

    def advance_to(self, day: date) -> float:
        """Let whole days pass until the sandbox's day is ``day`` (none when it is not later);
        returns the new sandbox time."""
        now = self.clock()
        days = (day - datetime.fromtimestamp(now, tz=UTC).date()).days
        return self.advance(days=days) if days > 0 else now

    def login(self, account_id: str, aliexpress_account: str | None) -> None:
        self._call(
            "POST", f"/accounts/{account_id}/login", {"aliexpress_account": aliexpress_account}
        )

    def set_whitelisted(self, account_id: str, whitelisted: bool) -> None:
        self._call("POST", f"/accounts/{account_id}/whitelist", {"whitelisted": whitelisted})

    def cancel_unpaid(self, account_id: str, aliexpress_order_id: str) -> None:
        self._call("POST", f"/accounts/{account_id}/aliexpress-orders/{aliexpress_order_id}/cancel")

    def correct_status(self, account_id: str, store: str, order: str, dsers_status: str) -> None:
        """A person corrects an order's status that relink does not know (409 otherwise)."""
        body = {"store": store, "order": order, "dsers_status": dsers_status}
        self._call("POST", f"/accounts/{account_id}/orders/status", body)

    def operations(self, account_id: str) -> list[dict[str, Any]]:
        """The account's operation log: destructive operations done (disconnect, link),
        oldest first, each with its operation, time, request id, idempotency key, detail,
        principal and approver (the full record of a change: ``GET .../operations``)."""
        return list(self._call("GET", f"/accounts/{account_id}/operations")["entries"])

    def changes(self, account_id: str) -> list[dict[str, Any]]:
        """Every change opened on the account, oldest first."""
        return list(self._call("GET", f"/accounts/{account_id}/changes")["changes"])

    def add_order(self, account_id: str, order: dict[str, Any]) -> None:
        """A new order reaches the store (see :class:`relink.sandbox.models.SeedOrder`)."""
        self._call("POST", f"/accounts/{account_id}/orders", order)

    def add_fault(self, **spec: Any) -> int:
        """Switch a fault on (fields of :class:`relink.sandbox.models.FaultSpec`)."""
        return int(self._call("POST", "/faults", spec)["id"])

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")


@dataclass
class RunningSandbox:
    """A sandbox server running as a child process; :meth:`stop` ends it."""

    url: str
    db_path: Path
    process: subprocess.Popen[str] = field(repr=False)
    admin: SandboxAdmin = field(repr=False)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (terminate, then kill if it does not stop within ``timeout``)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _first_line(process: subprocess.Popen[str], timeout: float) -> str | None:
    """The child's first stdout line, or ``None`` if it says nothing within ``timeout``."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:  # keep draining, so the child never blocks on a full pipe
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return None


def _wait_until_answering(url: str, attempts: int = 100) -> bool:
    """Poll the server's OpenAPI route a bounded number of times."""
    with admin_session() as session:
        for attempt in range(attempts):
            try:
                send(session, "GET", f"{url}/openapi.json", operation="openapi", timeout=(1, 1))
            except ApiConnectionError:  # no answer (yet)
                time.sleep(min(0.01 * (attempt + 1), 0.2))
            except ApiError:  # an answer, not the contract (yet)
                pass
            else:
                return True
    return False


def start_sandbox(
    db_path: str | Path,
    *,
    admin: bool = True,
    extra_args: list[str] | None = None,
    startup_timeout: float = 30.0,
    log_path: str | Path | None = None,
    today: date | None = None,
) -> RunningSandbox:
    """Start ``python -m relink.sandbox serve`` on a free loopback port and wait until it answers.

    The server's log goes to ``log_path`` (default: next to the database, ``.log``). A new
    database's clock starts on ``today`` [default: ``RELINK_TODAY``, else the machine's date].

    Raises:
        RelinkError: the server did not start (the message points at its log).
    """
    db_path = Path(db_path)
    log_file = Path(log_path) if log_path else db_path.with_suffix(".log")
    command = [sys.executable, "-m", "relink.sandbox", "serve", "--host", "127.0.0.1"]
    command += ["--port", "0", "--db", str(db_path)]
    command += ["--admin"] if admin else []
    command += ["--today", today.isoformat()] if today else []
    command += ["--lifeline", *(extra_args or [])]
    with open(log_file, "a", encoding="utf-8") as log:
        # stdin is the lifeline: only this process holds its write end, so the server stops
        # when this process ends, however it ends.
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True
        )
    line = _first_line(process, startup_timeout)
    if line is None or not line.startswith(ANNOUNCEMENT):
        process.kill()
        process.wait()
        raise RelinkError(f"the sandbox did not start (see {log_file}): {line or 'no output'}")
    url = line[len(ANNOUNCEMENT) :].strip()
    if not _wait_until_answering(url):
        process.kill()
        process.wait()
        raise RelinkError(f"the sandbox at {url} does not answer (see {log_file})")
    return RunningSandbox(url=url, db_path=db_path, process=process, admin=SandboxAdmin(url))
