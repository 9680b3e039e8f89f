"""Faults on demand: 5xx answers, slow answers, dropped connections and 429s on ``/v1`` calls.

Faults are rows in SQLite (set through ``/_sandbox/faults``), so every worker sees the same
ones and a count ("the next 2 calls") is spent exactly once across workers. The injector is an
ASGI wrapper around the whole application; it never touches ``/_sandbox`` paths, so faults can
always be switched off again.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import anyio

from relink.sandbox import store
from relink.sandbox.models import FaultSpec, Refusal

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

FAULTY_PREFIX = "/v1/"


def add_fault(conn: sqlite3.Connection, spec: FaultSpec) -> int:
    """Switch a fault on; returns its id."""
    remaining = None if spec.rate is not None else spec.count
    with store.write_transaction(conn):
        cursor = conn.execute(
            "INSERT INTO faults (spec, remaining) VALUES (?, ?)",
            (spec.model_dump_json(), remaining),
        )
    return int(cursor.lastrowid or 0)


def clear_faults(conn: sqlite3.Connection) -> None:
    """Switch every fault off."""
    with store.write_transaction(conn):
        conn.execute("DELETE FROM faults")


def list_faults(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT id, spec, remaining FROM faults ORDER BY id").fetchall()
    return [
        {"id": row["id"], "remaining": row["remaining"], **json.loads(row["spec"])} for row in rows
    ]


def _matches(spec: FaultSpec, method: str, path: str) -> bool:
    if spec.method and spec.method.upper() != method.upper():
        return False
    return not (spec.path_contains and spec.path_contains not in path)


def take_fault(db_path: str | Path, method: str, path: str) -> FaultSpec | None:
    """The fault this call meets, if any; spends one of a counted fault's calls."""
    conn = store.connect(db_path)
    try:
        # most calls meet no fault: look without the write lock first
        if conn.execute("SELECT 1 FROM faults LIMIT 1").fetchone() is None:
            return None
        with store.write_transaction(conn):  # so a counted fault is spent exactly once
            rows = conn.execute("SELECT id, spec, remaining FROM faults ORDER BY id").fetchall()
            for row in rows:
                spec = FaultSpec.model_validate_json(row["spec"])
                if not _matches(spec, method, path):
                    continue
                if spec.rate is not None:
                    if random.random() < spec.rate:
                        return spec
                    continue
                if row["remaining"] and row["remaining"] > 0:
                    conn.execute(
                        "UPDATE faults SET remaining = remaining - 1 WHERE id = ?", (row["id"],)
                    )
                    if row["remaining"] == 1:
                        conn.execute("DELETE FROM faults WHERE id = ?", (row["id"],))
                    return spec
        return None
    except store.LockTimeout:
        return None  # a busy database must not turn into an unplanned fault
    finally:
        conn.close()


async def _send_json(send: Send, status: int, body: dict[str, Any], headers: list) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class FaultInjector:
    """ASGI wrapper that applies the faults switched on in the sandbox database.

    Dropping a connection needs the server's transport: the outermost wrapper
    (:class:`relink.sandbox.app.RequestIds`) puts a ``close_connection`` callable in
    ``scope["state"]``.
    """

    def __init__(self, app: ASGIApp, db_path: str | Path) -> None:
        self.app = app
        self.db_path = db_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(FAULTY_PREFIX):
            await self.app(scope, receive, send)
            return
        fault = await anyio.to_thread.run_sync(
            take_fault, self.db_path, scope["method"], scope["path"]
        )
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.when == "after":
            buffered: list[Message] = []

            async def keep(message: Message) -> None:
                buffered.append(message)

            await self.app(scope, receive, keep)
            if fault.kind == "slow":
                await asyncio.sleep(fault.delay)
                for message in buffered:
                    await send(message)
                return
        elif fault.kind == "slow":
            await asyncio.sleep(fault.delay)
            await self.app(scope, receive, send)
            return
        await self._fail(fault, scope, send)

    async def _fail(self, fault: FaultSpec, scope: Scope, send: Send) -> None:
        state = scope.setdefault("state", {})
        request_id = state.get("request_id", "")
        if fault.kind == "drop":
            close = state.get("close_connection")
            if close is not None:
                close()
                # let the server notice the closed transport before this call returns, so it
                # does not try to answer on it
                await asyncio.sleep(0.05)
                return
            # no transport at hand: start an answer and break it off, which also reads as a
            # dropped connection to the client
            await send({"type": "http.response.start", "status": 200, "headers": []})
            raise ConnectionAbortedError("sandbox fault: connection dropped")
        if fault.kind == "rate_limit":
            refusal = Refusal(
                429,
                "rate_limited",
                "sandbox fault: too many requests",
                retry_after=fault.retry_after,
            )
            headers = [(b"retry-after", str(fault.retry_after).encode())]
            await _send_json(send, 429, refusal.body(request_id), headers)
            return
        refusal = Refusal(fault.status, "injected_fault", "sandbox fault: server error")
        await _send_json(send, fault.status, refusal.body(request_id), [])
