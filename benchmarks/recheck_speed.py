"""How long does ``relink recheck --all`` take on a desk of 500 tickets, per ticket, and how
much over the bare reads of the same orders?

One sandbox (a process of its own on loopback, its clock on the samples' day) is seeded with
``--accounts`` (500) accounts, the bundled samples round-robin (from 1 to a few hundred orders
each, every status and drift), all readable with one token, and a desk with one ticket per
account. Then, interleaved, ``--repeat`` (3) times each:

- the bare baseline: every account's orders read page by page with ``requests`` (one
  ``Session`` per thread, ``--jobs`` threads), the JSON decoded, nothing else: what any
  client must at least do;
- ``relink recheck --all --jobs N`` as a fresh process (Python's start and imports included:
  what a cron job waits for): the same GETs through relink's client, each account's live audit
  and forecast, its ``check.json`` (written atomically, fsynced) under the ticket's lock, and
  ``desk.ics`` at the end.

It prints the medians, the time per ticket and the ratio of the two, and the recheck's time
in-process (``recheck_tickets`` and the calendar, without the start) to tell the start-up apart.
The sandbox is the same server for both sides, serving the same pages.

Usage: ``python benchmarks/recheck_speed.py [--accounts 500] [--jobs 4] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import requests

from relink.samples import ACCOUNTS, REFERENCE_DATE, bundled_sample
from relink.sandbox.launcher import RunningSandbox, start_sandbox
from relink.sandbox.seeding import seed_from_export

TOKEN = f"tok-bench-{uuid.uuid4().hex}"
TARGET = "ae-new@example.com"


def seed_desk(sandbox: RunningSandbox, desk: Path, count: int) -> tuple[list[str], int]:
    """``count`` accounts on the sandbox, one ticket folder each; their ids and orders."""
    seeds = []
    for spec in ACCOUNTS:  # each sample read once; its seed is reused under new ids
        sample = bundled_sample(spec.name)
        seed = seed_from_export(sample.account, sample.export, sample.aliexpress,
                                linked="ae-old", logged_in="ae-old", token=TOKEN)  # fmt: skip
        seeds.append(seed)
    accounts, orders = [], 0
    for number in range(count):
        seed = seeds[number % len(seeds)]
        account = f"acct-{number:04d}-{seed.account_id}"
        sandbox.admin.seed(seed.model_copy(update={"account_id": account}).model_dump(mode="json"))
        orders += len(seed.orders)
        folder = desk / account / f"HD-{number:04d}"
        folder.mkdir(parents=True)
        record = {"ticket": f"HD-{number:04d}", "account": account, "target": TARGET,
                  "api": "deployment", "opened_at": "2026-11-20T09:00:00+00:00"}  # fmt: skip
        (folder / "ticket.json").write_text(json.dumps(record))
        accounts.append(account)
    return accounts, orders


def bare_reads(url: str, accounts: list[str], jobs: int) -> float:
    """Every account's orders, page by page, with plain requests; the wall time."""
    local = threading.local()

    def read(account: str) -> int:
        if getattr(local, "session", None) is None:
            local.session = requests.Session()
            local.session.headers["Authorization"] = f"Bearer {TOKEN}"
        cursor, seen = None, 0
        while True:
            params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            answer = local.session.get(f"{url}/v1/accounts/{account}/orders", params=params)
            answer.raise_for_status()
            page = answer.json()
            seen += len(page["orders"])
            cursor = page.get("next_cursor")
            if not cursor:
                return seen

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(read, accounts))
    return time.perf_counter() - started


def recheck_process(url: str, desk: Path, jobs: int) -> float:
    """``relink recheck --all`` as a fresh process; its wall time."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELINK_")}
    env |= {"RELINK_API_URL": url, "RELINK_API_TOKEN": TOKEN, "RELINK_DESK": str(desk)}
    env["RELINK_TODAY"] = REFERENCE_DATE.date().isoformat()
    command = [sys.executable, "-m", "relink", "recheck", "--all", "--jobs", str(jobs)]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"relink recheck failed ({done.returncode}): {done.stdout[-2000:]}")
    return elapsed


def recheck_in_process(url: str, desk: Path, jobs: int) -> float:
    """The same run without the process start: ``recheck_tickets`` and the calendar."""
    from relink.desk import recheck as rc
    from relink.desk.desk_calendar import write_desk_calendar
    from relink.runbook.connection import connect

    environ = {"RELINK_API_URL": url, "RELINK_API_TOKEN": TOKEN}
    shift = REFERENCE_DATE.date() - datetime.now(UTC).date()
    started = time.perf_counter()
    tickets, _ = rc.chosen_tickets(desk, rc.Selection(False, (), REFERENCE_DATE.date()))
    outcomes = rc.recheck_tickets(
        tickets,
        lambda: connect(environ, max_retry_after=0.0),
        lambda: datetime.now(UTC) + shift,
        jobs=jobs,
    )
    write_desk_calendar(desk)
    elapsed = time.perf_counter() - started
    failed = [o for o in outcomes if o.kind != rc.CHECKED]
    if failed:
        raise SystemExit(f"{len(failed)} tickets not checked: {failed[0].note}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="relink-recheck-bench-"))
    with start_sandbox(folder / "sandbox.sqlite", today=REFERENCE_DATE.date()) as sandbox:
        started = time.perf_counter()
        accounts, orders = seed_desk(sandbox, folder / "desk", options.accounts)
        print(f"seeded {len(accounts)} accounts ({orders:,} orders) and their tickets in "
              f"{time.perf_counter() - started:.1f} s; jobs {options.jobs}")  # fmt: skip
        bare, process, inside = [], [], []
        for _ in range(options.repeat):
            bare.append(bare_reads(sandbox.url, accounts, options.jobs))
            process.append(recheck_process(sandbox.url, folder / "desk", options.jobs))
            inside.append(recheck_in_process(sandbox.url, folder / "desk", options.jobs))
    count = len(accounts)
    for name, times in (("bare GETs (requests)", bare), ("relink recheck --all", process),
                        ("recheck in-process", inside)):  # fmt: skip
        middle = statistics.median(times)
        print(f"{name:24s} median {middle:6.2f} s  {1000 * middle / count:6.1f} ms per ticket  "
              f"(runs: {', '.join(f'{t:.2f}' for t in times)})")  # fmt: skip
    print(f"ratio recheck / bare: {statistics.median(process) / statistics.median(bare):.2f}x "
          f"(in-process {statistics.median(inside) / statistics.median(bare):.2f}x)")  # fmt: skip
    print(f"desk.ics: {(folder / 'desk' / 'desk.ics').stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
