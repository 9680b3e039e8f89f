"""How much faster is ``relink batch`` than a shell loop calling ``papermill`` once per export?

One run measures, on the same 40 exports (the bundled sample accounts, copied under new names,
with their AliExpress-side files): the bare audit in-process (read + audit, no notebook), a
bash loop running ``papermill notebooks/audit.ipynb OUT -p export_path X ...`` per export, and
``relink batch MANIFEST --out DIR --workers 2``. It prints the loop and batch times, the
throughput ratio, and the per-account overhead of the batch over the bare audit:
``batch_time * workers / accounts - bare_audit_per_account``. Targets: ratio >= 3,
overhead < 1.5 s. Both runs are pinned to the first ``--cores`` CPUs when the machine has more.

Usage: ``python benchmarks/batch_speed.py [--accounts 40] [--workers 2] [--cores 2]``
"""

from __future__ import annotations

import argparse
import csv
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from relink.audit.exports import read_aliexpress, read_export
from relink.audit.verdict import audit
from relink.samples import BUNDLED_DIR

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "audit.ipynb"
BIN = Path(sys.executable).parent


def make_accounts(folder: Path, count: int) -> list[dict[str, str]]:
    """Copy the bundled samples round-robin to ``count`` accounts; write manifest.csv."""
    with (BUNDLED_DIR / "manifest.csv").open(newline="", encoding="utf-8") as handle:
        samples = list(csv.DictReader(handle))
    (folder / "aliexpress").mkdir(parents=True)
    rows = []
    for number in range(count):
        sample = samples[number % len(samples)]
        account = f"acct-{number + 1:02d}-{sample['account']}"
        export = Path(sample["export"])
        shutil.copy(BUNDLED_DIR / export, folder / f"{account}{export.suffix}")
        side = ""
        if sample["aliexpress"]:
            side = f"aliexpress/{account}.csv"
            shutil.copy(BUNDLED_DIR / sample["aliexpress"], folder / side)
        rows.append({"account": account, "export": f"{account}{export.suffix}", "aliexpress": side})
    with (folder / "manifest.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["account", "export", "aliexpress"])
        writer.writeheader()
        writer.writerows(rows)
    return rows


def bare_audit_seconds(folder: Path, rows: list[dict[str, str]]) -> float:
    """Mean seconds to read and audit one account in-process (after one warm-up pass)."""
    for _pass in ("warm-up", "timed"):  # the second pass is the one returned
        started = time.perf_counter()
        for row in rows:
            side = read_aliexpress(folder / row["aliexpress"]) if row["aliexpress"] else None
            audit(read_export(folder / row["export"]), side)
        elapsed = time.perf_counter() - started
    return elapsed / len(rows)


def loop_script(folder: Path, rows: list[dict[str, str]], out: Path) -> str:
    lines = ["set -e"]
    for row in rows:
        command = [
            str(BIN / "papermill"),
            "--no-progress-bar",
            str(NOTEBOOK),
            str(out / f"{row['account']}.ipynb"),
            "-p",
            "export_path",
            str(folder / row["export"]),
            "-p",
            "account",
            row["account"],
        ]
        if row["aliexpress"]:
            command += ["-p", "aliexpress_path", str(folder / row["aliexpress"])]
        lines.append(shlex.join(command) + " 2>/dev/null")
    return "\n".join(lines) + "\n"


def timed(command: list[str], **kwargs: object) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, **kwargs)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) > args.cores:
        os.sched_setaffinity(0, cpus[: args.cores])  # children (papermill, kernels) inherit it
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="relink-bench-") as tmp:
        folder = Path(tmp) / "exports"
        rows = make_accounts(folder, args.accounts)
        bare = bare_audit_seconds(folder, rows)
        loop_out = Path(tmp) / "loop"
        loop_out.mkdir()
        script = Path(tmp) / "loop.sh"
        script.write_text(loop_script(folder, rows, loop_out), encoding="utf-8")
        loop = timed(["bash", str(script)])
        batch = timed(
            [
                str(BIN / "relink"),
                "batch",
                str(folder / "manifest.csv"),
                "--out",
                str(Path(tmp) / "batch"),
                "--workers",
                str(args.workers),
            ],
            stderr=subprocess.DEVNULL,
        )
    overhead = batch * args.workers / args.accounts - bare
    print(f"accounts: {args.accounts}, workers: {args.workers}, cores: {cores}")
    print(f"bare audit (in-process): {bare * 1000:.1f} ms per account")
    print(f"papermill loop: {loop:.1f} s ({loop / args.accounts:.2f} s per account)")
    print(f"relink batch:   {batch:.1f} s ({batch / args.accounts:.2f} s per account)")
    print(f"throughput ratio (loop time / batch time): {loop / batch:.1f}x   target >= 3x")
    print(f"per-account overhead over the bare audit: {overhead:.2f} s   target < 1.5 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
