"""How long does ``relink tickets`` take on a desk of 5,000 tickets?

A synthetic desk (``--tickets``, 5,000; seeded) as ``relink open``, the runbook and ``relink
recheck`` leave it: each ticket a folder with its ``ticket.json``; most with a ``check.json``
(every state's counts and dates); most with a journal of 1 to 12 step attempts whose lines have
the runbook's shape and size (link state before and after, the message, ids: about 700 bytes a
line); done, abandoned, in-doubt and in-progress tickets; 0.2 % with a broken ``check.json``.

Then, interleaved, ``--repeat`` times each (the same files, so the same page cache):

- bare listing: ``os.scandir`` of the desk and each account folder, ``json.load`` of every
  ``ticket.json``: the least any listing of the desk does;
- bare reading: the same, plus ``check.json`` read and decoded and each journal's bytes read
  (no line parsed): the files the queue reads, and nothing derived;
- the queue in-process: :func:`relink.desk.queue.collect` (every ticket's state, journal lines
  checked as the runbook checks them) and the table ``relink tickets`` prints;
- ``relink tickets --format json`` as a fresh process (start-up and imports included), and a
  fresh process that only imports what it imports (its start-up alone).

The figure to read is the in-process queue against the bare reading, as a ratio measured in
the same run; the target is under a second for the queue.

Usage: ``python benchmarks/tickets_speed.py [--tickets 5000] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from relink.desk import queue, queue_view

NOW = datetime.now(UTC).replace(microsecond=0)
TARGET = "ae-new@example.com"


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _state(linked: str | None, audited: int | None) -> dict[str, Any]:
    """A journal line's ``before``/``after``, as the runbook writes it."""
    return {
        "linked": linked,
        "target": TARGET,
        "logged_in": TARGET,
        "whitelisted": True,
        "light": "amber" if linked and linked != TARGET else "red",
        "blockers": audited,
        "audit_source": "live" if audited is not None else None,
        "audit_age_s": 12.4 if audited is not None else None,
    }


def _line(ticket: str, account: str, step: str, phase: str, at: datetime, **more: Any) -> str:
    entry = {
        "time": _iso(at),
        "ticket": ticket,
        "account": account,
        "target": TARGET,
        "operator": more.pop("operator", "ana"),
        "api": "accounts.example.com",
        "step": step,
        "attempt": f"{ticket}-{step}-{at.timestamp():.0f}",
        "phase": phase,
        "idempotency_key": more.pop("key", None),
        "request_id": f"req-{random.getrandbits(48):012x}",
        "before": _state("ae-old@example.com", 3),
        "after": _state("ae-old@example.com", more.pop("blockers", 3)),
        "message": "Blocked: 3 orders. Expected safe to unlink on 2026-12-14 (2026-12-09 if "
        "the merchant cancels the unpaid orders): 2 unpaid AliExpress orders, 1 awaiting "
        "shipment from its supplier since 2026-12-03.",
        **more,
    }
    return json.dumps(entry, sort_keys=True)


def _journal(rng: random.Random, ticket: str, account: str, kind: str) -> list[str]:
    """1 to 12 attempts, ending as ``kind`` needs (done, in doubt, in progress, open)."""
    start = NOW - timedelta(days=rng.randint(1, 20))
    opened = {"time": _iso(start), "phase": "ticket", "ticket": ticket, "account": account,
              "operator": "ana", "from_aliexpress_account": "ae-old@example.com",
              "to_aliexpress_account": TARGET}  # fmt: skip
    lines = [json.dumps(opened, sort_keys=True)]
    for number in range(rng.randint(1, 9)):
        at = start + timedelta(hours=number)
        step = rng.choice(("audit", "audit", "sync"))
        lines.append(_line(ticket, account, step, "finished", at, outcome="done"))
    at = start + timedelta(hours=10)
    if kind == "doubt":
        lines.append(_line(ticket, account, "unlink", "started", at, key="k", operator="bo"))
    elif kind in ("progress", "done"):
        lines.append(_line(ticket, account, "unlink", "finished", at, outcome="done"))
    if kind == "done":
        later = at + timedelta(minutes=2)
        lines.append(_line(ticket, account, "relink", "finished", later, outcome="done"))
        lines.append(_line(ticket, account, "verify", "finished", later, outcome="done"))
    return lines


def _check(rng: random.Random) -> dict[str, Any]:
    unpaid, waiting = rng.choice([(0, 0), (2, 0), (0, 3), (1, 2), (0, 0), (4, 1)])
    expected = (NOW + timedelta(days=rng.randint(-3, 12))).date().isoformat()
    return {
        "format": 1,
        "checked_at": _iso(NOW - timedelta(hours=rng.randint(1, 72))),
        "blockers": unpaid + waiting,
        "unpaid": unpaid,
        "waiting": waiting,
        "expected_ready": expected if unpaid + waiting else None,
        "unpaid_orders": [f"81{rng.randint(10**8, 10**9)}" for _ in range(unpaid)],
        "moved": [],
        "error": None,
        "sequence": rng.randint(1, 5),
        "late": 0,
        "orders": rng.randint(50, 3000),
        "failed_at": None,
    }


def make_desk(desk: Path, count: int, seed: int = 21) -> None:
    """``count`` ticket folders under ``desk`` (one account each, as a desk mostly is)."""
    rng = random.Random(seed)
    random.seed(seed)
    kinds = ["open"] * 80 + ["done"] * 10 + ["progress"] * 4 + ["doubt"] * 2 + ["gone"] * 4
    for number in range(count):
        account, ticket = f"store-{number:05d}", f"HD-{40000 + number}"
        folder = desk / account / ticket
        folder.mkdir(parents=True)
        kind = rng.choice(kinds)
        record = {"ticket": ticket, "account": account, "target": TARGET, "api": "deployment",
                  "opened_at": _iso(NOW - timedelta(days=20)), "opened_by": "ana",
                  "notebook": f"{ticket}.ipynb"}  # fmt: skip
        if kind == "gone":
            record["abandoned"] = {"reason": "the merchant closed the store", "by": "ana"}
        (folder / "ticket.json").write_text(json.dumps(record, indent=2) + "\n")
        if rng.random() < 0.9:
            text = json.dumps(_check(rng), indent=2) + "\n"
            (folder / "check.json").write_text("{broken" if rng.random() < 0.002 else text)
        if rng.random() < 0.85 or kind in ("done", "progress", "doubt"):
            lines = _journal(rng, ticket, account, kind)
            (folder / "journal.jsonl").write_text("\n".join(lines) + "\n")


def bare_listing(desk: Path) -> int:
    found = 0
    with os.scandir(desk) as accounts:
        for account in accounts:
            with os.scandir(account.path) as tickets:
                for ticket in tickets:
                    with open(os.path.join(ticket.path, "ticket.json"), "rb") as file:
                        json.load(file)
                    found += 1
    return found


def bare_reading(desk: Path) -> int:
    found = 0
    with os.scandir(desk) as accounts:
        for account in accounts:
            with os.scandir(account.path) as tickets:
                for ticket in tickets:
                    with open(os.path.join(ticket.path, "ticket.json"), "rb") as file:
                        json.load(file)
                    try:
                        with open(os.path.join(ticket.path, "check.json"), "rb") as file:
                            json.load(file)
                    except (FileNotFoundError, ValueError):
                        pass
                    try:
                        with open(os.path.join(ticket.path, "journal.jsonl"), "rb") as file:
                            file.read()
                    except FileNotFoundError:
                        pass
                    found += 1
    return found


def the_queue(desk: Path) -> int:
    found = queue.collect(desk)
    queue_view.queue_table(found)
    return len(found.rows)


def the_command(desk: Path) -> int:
    command = [sys.executable, "-m", "relink", "tickets", "--desk", str(desk), "--format", "json"]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return len(json.loads(done.stdout))


def the_imports(desk: Path) -> int:
    """A fresh process that imports what ``relink tickets`` imports, and does nothing: the
    command's start-up, to tell apart from its work."""
    code = "import relink.cli, relink.desk.queue_cli, relink.desk.queue, relink.desk.queue_view"
    subprocess.run([sys.executable, "-c", code], check=True)
    return -1  # lists nothing


def timed(run: Callable[[Path], int], desk: Path) -> tuple[float, float, int]:
    """Wall time, and this process's CPU time (the same on a quiet machine; on a busy one, the
    work itself without the waits for a core), and how many tickets were found."""
    started, cpu = time.perf_counter(), time.process_time()
    count = run(desk)
    return time.perf_counter() - started, time.process_time() - cpu, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="relink-tickets-"))
    try:
        desk = root / "desk"
        started = time.perf_counter()
        make_desk(desk, args.tickets)
        size = sum(f.stat().st_size for f in desk.rglob("*") if f.is_file())
        print(f"desk of {args.tickets:,} tickets: {size / 1e6:.1f} MB, "
              f"written in {time.perf_counter() - started:.1f} s")  # fmt: skip
        runs: dict[str, list[float]] = {}
        cpus: dict[str, list[float]] = {}
        sides = {
            "bare listing": bare_listing,
            "bare reading": bare_reading,
            "queue in-process": the_queue,
            "relink tickets (process)": the_command,
            "its imports alone (process)": the_imports,
        }
        the_queue(desk)  # warm: imports, the page cache
        for _ in range(args.repeat):
            for name, run in sides.items():
                seconds, cpu, count = timed(run, desk)
                assert count in (args.tickets, -1), (name, count)
                runs.setdefault(name, []).append(seconds)
                cpus.setdefault(name, []).append(cpu)
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        for name, times in runs.items():
            spread = ", ".join(f"{t:.3f}" for t in times)
            cpu = statistics.median(cpus[name])
            said = "(a child)" if name.endswith("(process)") else f"cpu {cpu:.3f} s"
            print(f"{name:26} median {statistics.median(times):.3f} s, {said}  ({spread})")
        found = queue.collect(desk)
        print("states:", ", ".join(f"{n} {name}" for name, n in found.counts().items()))
        queue_median = statistics.median(runs["queue in-process"])
        for bare in ("bare listing", "bare reading"):
            ratio = queue_median / statistics.median(runs[bare])
            cpu = statistics.median(cpus["queue in-process"]) / statistics.median(cpus[bare])
            print(f"queue / {bare}: {ratio:.1f}x wall, {cpu:.1f}x cpu")
        print(f"queue under a second: {'yes' if queue_median < 1 else 'NO'} (wall)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
