"""How fast are the batch summary's files, page, comparison and resume for a fleet?

1. ``write_summary`` over ``--accounts`` (100,000) synthetic account records (about 2 % failed,
   the rest blocked or safe with random counts over five blocking reasons), in a child process
   of its own: the time to write summary.csv, .xlsx, .json, .html (and the page's rows file,
   when the page has one) (best of ``--repeat``), the child's peak resident memory, and the
   files' sizes. No notebook exists, so no report is rendered: this is the summary alone.
2. If Playwright and ``/usr/bin/chromium`` are there: the page's load time in headless
   Chromium (to the ``load`` event, the table drawn by its script), at 1366 x 900, whether it
   fits that width, and the time to filter the table to 10 accounts (type in the account box).
3. ``--compare``: a second batch of as many accounts (other random states, 1 % of the names
   new) written with the first as the previous batch, in a child process: the time to read
   the first batch's summary.json and compare its accounts with the rows (``load_previous`` +
   ``compare``: what ``--compare`` adds), and the whole ``write_summary`` with the comparison.
   Times are wall clock, with the CPU time beside them (less sensitive to a shared machine).
4. ``relink batch --resume`` on a finished batch of ``--resume-accounts`` (10,000) accounts of a
   tiny notebook (read the export, record the result). ``--resume-real`` (8) accounts are run
   for real by ``relink batch``; the others are copies of their output folders under the other
   accounts' names (notebook, report, messages, and a done-record whose hashes are computed as
   the batch computes them), made because running 10,000 notebooks takes most of an hour on
   2 cores. The resume then checks every account as it would after a real run, and should
   execute nothing.

Usage: ``python benchmarks/summary_speed.py [--accounts 100000] [--resume-accounts 10000]``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from relink.batch import resume as done_records
from relink.batch import runner
from relink.batch.manifest import AccountJob

BIN = Path(sys.executable).parent
REASONS = ("awaiting_payment", "awaiting_shipment", "awaiting_fulfillment", "unknown_status")
REASONS += ("sync_drift",)
FILES = ("summary.html", "summary-rows.js", "summary.csv", "summary.xlsx", "summary.json")
TARGETS = {"summary_s": 15.0, "summary_mib": 2048.0, "load_s": 1.0, "filter_s": 0.3}
TARGETS |= {"compare_s": 10.0, "resume_s": 30.0}


def synthetic_batch(out: Path, count: int, seed: int = 1) -> runner.BatchReport:
    rng = random.Random(seed)
    runs = []
    for number in range(count):
        # A second batch (seed 2) has 1 % of its names new (and as many of the first's gone).
        renamed = seed != 1 and rng.random() < 0.01
        account = f"store-{number:05d}" + ("-new" if renamed else "")
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


def _peak_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_write(out: Path, count: int, repeat: int, previous: str) -> None:
    """In a child process: write the summary ``repeat`` times; print what it took as JSON."""
    from relink.batch.summary import summary_row
    from relink.batch.summary.compare import compare, load_previous

    seed = 2 if previous else 1
    batch = synthetic_batch(out, count, seed)
    figures: dict[str, float] = {"records_mib": _peak_mib()}
    if previous:
        rows = [summary_row(run, out) for run in batch.summary_order]  # write_summary's own
        started, cpu = time.perf_counter(), time.process_time()
        compare(load_previous(previous), rows)
        figures["compare_s"] = time.perf_counter() - started
        figures["compare_cpu_s"] = time.process_time() - cpu
        del rows
    times, cpus = [], []
    for _ in range(repeat):
        batch.previous = load_previous(previous) if previous else None
        started, cpu = time.perf_counter(), time.process_time()
        runner.write_summary(batch)
        times.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
        batch.previous = None
    figures |= {"summary_s": min(times), "summary_cpu_s": min(cpus), "summary_mib": _peak_mib()}
    print(json.dumps(figures))


def time_summary(out: Path, count: int, repeat: int, previous: Path | None = None) -> dict:
    command = [sys.executable, __file__, "--child", str(out), "--accounts", str(count)]
    command += ["--repeat", str(repeat), "--previous", str(previous or "")]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    what = "with --compare" if previous else "alone"
    print(
        f"summary of {count:,} accounts ({what}): best {figures['summary_s']:.2f} s of {repeat}"
        f" (target {TARGETS['summary_s']:g} s; CPU {figures['summary_cpu_s']:.2f} s);"
        f" peak resident {figures['summary_mib']:.0f} MiB"
        f" (target {TARGETS['summary_mib']:.0f} MiB; {figures['records_mib']:.0f} MiB with the"
        " records alone)"
    )
    if previous:
        print(
            f"  --compare: read the previous summary.json and compare: {figures['compare_s']:.2f}"
            f" s (target {TARGETS['compare_s']:g} s; CPU {figures['compare_cpu_s']:.2f} s)"
        )
    sizes = [f"{n} {(out / n).stat().st_size / 1e6:.2f} MB" for n in FILES if (out / n).exists()]
    print("  " + "; ".join(sizes))
    return figures


def time_page(page: Path, count: int) -> None:
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
        tab.on("request", lambda r: fetched.append(r.url))
        loads, filters = [], []
        for _ in range(3):
            started = time.perf_counter()
            tab.goto(page.as_uri(), wait_until="load")
            loads.append(time.perf_counter() - started)
            width = tab.evaluate("document.documentElement.scrollWidth")
            rows = tab.evaluate("document.querySelectorAll('#body tr').length")
            started = time.perf_counter()
            tab.fill("#f-text", "store-0123")
            while not tab.inner_text("#shown").startswith("10 of 10 "):  # the CSP: no eval
                time.sleep(0.002)
            filters.append(time.perf_counter() - started)
        browser.close()
    remote = [url for url in fetched if not url.startswith("file:")]
    print(
        f"page load in headless Chromium: best {min(loads):.2f} s of 3 (all: "
        f"{', '.join(f'{t:.2f}' for t in loads)}; target {TARGETS['load_s']:g} s); width {width}"
        f" px at 1366; {rows} rows drawn; filter {count:,} -> 10: best {min(filters):.2f} s of 3"
        f" (all: {', '.join(f'{t:.2f}' for t in filters)}; target {TARGETS['filter_s']:g} s);"
        f" files read: {len(set(fetched))}; network requests: {len(remote)}"
    )


CELLS = [
    'export_path: str = ""\naliexpress_path: str = ""\naccount: str = ""',
    "from relink.audit import notebook\n\n"
    "run = notebook.open_audit(export_path, aliexpress_path, account)",
    "notebook.record_audit(run)",
]


def _tiny_batch(folder: Path, count: int) -> list[str]:
    cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    cells[0].metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "P"}
    nbformat.write(nb, folder / "tiny.ipynb")
    exports = folder / "exports"
    exports.mkdir()
    for number in range(count):
        rows = "".join(f"#{number}{i},Shop,Fulfilled\n" for i in range(20))
        (exports / f"acct-{number:05d}.csv").write_text("Order No.,Store,DSers Status\n" + rows)
    command = [BIN / "relink", "batch", exports, "--out", folder / "out"]
    return [str(part) for part in command]


def _copy_account(out: Path, exports: Path, notebook: Path, source: str, name: str) -> None:
    """``source``'s output folder as ``name``'s, with a done-record that matches its inputs."""
    old, new = out / source, out / name
    new.mkdir()
    record = json.loads(done_records.record_path(old).read_text(encoding="utf-8"))
    for path in sorted(old.iterdir(), key=lambda p: p.suffix == ".html"):  # the report last
        if path.name == done_records.RECORD_NAME:
            continue
        text = path.read_text(encoding="utf-8").replace(source, name)
        (new / path.name.replace(source, name)).write_text(text, encoding="utf-8")
    executed = new / record["notebook"]
    export = exports / f"{name}.csv"
    parameters = {"export_path": str(export), "aliexpress_path": "", "account": name}
    record |= {
        "account": name,
        "notebook_sha256": done_records._file_hash(executed),
        "inputs": done_records.inputs_hash(export, None, notebook, parameters),
    }
    fields = {key: value for key, value in record.items() if key != "schema_version"}
    done_records.write_record(new, **fields)
    report = executed.with_suffix(".html")
    later = max(p.stat().st_mtime_ns for p in new.iterdir()) + 1_000_000
    os.utime(report, ns=(later, later))


def time_resume(count: int, real: int, workers: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="relink-resume-"))
    command = _tiny_batch(folder, count)
    command += ["--workers", str(workers), "--notebook", str(folder / "tiny.ipynb")]
    staged = folder / "staged"
    staged.mkdir()
    names = sorted(path.stem for path in (folder / "exports").iterdir())
    for name in names[real:]:  # run the first ones for real
        (folder / "exports" / f"{name}.csv").rename(staged / f"{name}.csv")
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    took = time.perf_counter() - started
    print(f"{real} accounts run for real: {took:.1f} s (exit {done.returncode})")
    for index, name in enumerate(names[real:]):
        (staged / f"{name}.csv").rename(folder / "exports" / f"{name}.csv")
        source = names[index % real]
        _copy_account(folder / "out", folder / "exports", folder / "tiny.ipynb", source, name)
    times = []
    for _ in range(2):
        started = time.perf_counter()
        done = subprocess.run([*command, "--resume"], capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        summary = json.loads((folder / "out" / "summary.json").read_text(encoding="utf-8"))
        last = done.stdout.strip().splitlines()[0] if done.stdout.strip() else done.stderr[-300:]
        print(
            f"{count:,} accounts, --resume, all done: {times[-1]:.2f} s (target"
            f" {TARGETS['resume_s']:g} s; exit {done.returncode}; {summary['resumed']:,} taken"
            f" from the earlier run): {last}"
        )
    shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-compare", action="store_true", help="skip the --compare timing")
    parser.add_argument("--resume-accounts", type=int, default=10_000)
    parser.add_argument("--resume-real", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--previous", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_write(Path(args.child), args.accounts, args.repeat, args.previous)
        return
    print(f"command: {' '.join(sys.argv)}")
    first = Path(tempfile.mkdtemp(prefix="relink-summary-"))
    time_summary(first, args.accounts, args.repeat)
    time_page(first / "summary.html", args.accounts)
    if not args.no_compare:
        second = Path(tempfile.mkdtemp(prefix="relink-summary-"))
        time_summary(second, args.accounts, 1, previous=first)
        shutil.rmtree(second, ignore_errors=True)
    shutil.rmtree(first, ignore_errors=True)
    if args.resume_accounts:
        time_resume(args.resume_accounts, args.resume_real, args.workers)


if __name__ == "__main__":
    main()
