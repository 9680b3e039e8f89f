"""How long does the batch summary take for a fleet, and how long does --resume take when done?

1. ``write_summary`` over ``--accounts`` (10,000) synthetic account records (about 2 % failed,
   the rest blocked or safe with random counts over five blocking reasons): the time to write
   summary.csv, .xlsx, .json and .html (best of ``--repeat``), and the files' sizes. No
   notebook exists, so no report is rendered: this is the summary alone.
2. If Playwright and ``/usr/bin/chromium`` are there: the page's load time in headless
   Chromium (to the ``load`` event, the table drawn by its script), at 1366 x 900, and whether
   it fits that width; and the time to filter the table (type in the account box).
3. ``relink batch --resume`` on a finished batch of ``--resume-accounts`` (200) accounts of a
   tiny notebook (read the export, record the result): the first run, then the resume, which
   should execute nothing and take seconds.

Usage: ``python benchmarks/summary_speed.py [--accounts 10000] [--resume-accounts 200]``
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from relink.batch import runner
from relink.batch.manifest import AccountJob

BIN = Path(sys.executable).parent
REASONS = ("awaiting_payment", "awaiting_shipment", "awaiting_fulfillment", "unknown_status")
REASONS += ("sync_drift",)


def synthetic_batch(out: Path, count: int, seed: int = 1) -> runner.BatchReport:
    rng = random.Random(seed)
    runs = []
    for number in range(count):
        account = f"store-{number:05d}"
        job = AccountJob(account, out / f"{account}.csv", None, account)
        run = runner.AccountRun(job, duration=rng.uniform(0.2, 0.9))
        run.notebook = out / account / "audit.ipynb"
        if rng.random() < 0.02:
            run.status, run.error = runner.FAILED, "ExportError: no status column"
            run.failed_cell, run.failed_execution_count = 5, 2
        else:
            blocking = {r: rng.choice([0, 0, 0, 0, 1, 2, 3, 8, 40]) for r in REASONS}
            blocked = min(sum(blocking.values()), 900)
            run.status = runner.COMPLETED
            run.result = {
                "verdict": "blocked" if blocked else "safe",
                "orders": blocked + rng.randint(0, 2000),
                "blocked_orders": blocked,
                "rows_in": 3000,
                "rows_rejected": 0,
                "blocking": blocking,
            }
        runs.append(run)
    return runner.BatchReport(out, Path("audit.ipynb"), 8, runs)


def time_summary(count: int, repeat: int) -> Path:
    out = Path(tempfile.mkdtemp(prefix="relink-summary-"))
    batch = synthetic_batch(out, count)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        runner.write_summary(batch)
        times.append(time.perf_counter() - started)
    print(f"summary of {count:,} accounts: best {min(times):.2f} s of {repeat}")
    for name in ("summary.html", "summary.csv", "summary.xlsx", "summary.json"):
        print(f"  {name}: {(out / name).stat().st_size / 1e6:.2f} MB")
    return out / "summary.html"


def time_page(page: Path) -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("page load: Playwright not installed, skipped")
        return
    if not Path("/usr/bin/chromium").exists():
        print("page load: no /usr/bin/chromium, skipped")
        return
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        tab = browser.new_page(viewport={"width": 1366, "height": 900})
        fetched = []
        tab.on("request", lambda r: fetched.append(r.url) if "://" in r.url[:8] else None)
        loads = []
        for _ in range(3):
            started = time.perf_counter()
            tab.goto(page.as_uri(), wait_until="load")
            loads.append(time.perf_counter() - started)
        width = tab.evaluate("document.documentElement.scrollWidth")
        rows = tab.evaluate("document.querySelectorAll('#body tr').length")
        started = time.perf_counter()
        tab.fill("#f-text", "store-0123")
        while not tab.inner_text("#shown").startswith("10 of 10 "):  # the page's CSP: no eval
            time.sleep(0.005)
        filtered = time.perf_counter() - started
        browser.close()
    print(
        f"page load in headless Chromium: best {min(loads):.2f} s of 3; width {width} px at 1366;"
        f" {rows} rows drawn; filter 10,000 -> 10 in {filtered:.2f} s;"
        f" network requests: {len([u for u in fetched if u.startswith('http')])}"
    )


CELLS = [
    'export_path: str = ""\naliexpress_path: str = ""\naccount: str = ""',
    "from relink.audit import notebook\n\n"
    "run = notebook.open_audit(export_path, aliexpress_path, account)",
    "notebook.record_audit(run)",
]


def time_resume(count: int, workers: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="relink-resume-"))
    cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    cells[0].metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "P"}
    nbformat.write(nb, folder / "tiny.ipynb")
    exports = folder / "exports"
    exports.mkdir()
    for number in range(count):
        rows = "".join(f"#{number}{i},Shop,Fulfilled\n" for i in range(20))
        (exports / f"acct-{number:04d}.csv").write_text("Order No.,Store,DSers Status\n" + rows)
    command = [BIN / "relink", "batch", exports, "--out", folder / "out"]
    command += ["--workers", str(workers), "--notebook", folder / "tiny.ipynb"]
    for label, extra in (("first run", []), ("--resume, all done", ["--resume"])):
        started = time.perf_counter()
        done = subprocess.run([*command, *extra], capture_output=True, text=True)
        took = time.perf_counter() - started
        last = done.stdout.strip().splitlines()[0] if done.stdout.strip() else done.stderr[-200:]
        print(f"{count} accounts, {label}: {took:.2f} s (exit {done.returncode}): {last}")
    shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--resume-accounts", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    page = time_summary(args.accounts, args.repeat)
    time_page(page)
    shutil.rmtree(page.parent, ignore_errors=True)
    if args.resume_accounts:
        time_resume(args.resume_accounts, args.workers)


if __name__ == "__main__":
    main()
