"""How much faster is ``relink batch`` than a shell loop calling ``papermill`` once per export?

One run measures, on the same 40 exports (the bundled sample accounts, copied under new names,
with their AliExpress-side files): the bare audit in-process (read + audit, no notebook), a
bash loop running ``papermill notebooks/audit.ipynb OUT -p export_path X ...`` per export, and
``relink batch MANIFEST --out DIR --workers 2``. It prints the loop and batch times, the
throughput ratio, and the per-account overhead of the batch over the bare audit:
``batch_time * workers / accounts - bare_audit_per_account``. Targets: ratio >= 3,
overhead < 1.5 s. Both runs are pinned to the first ``--cores`` CPUs when the machine has more.

With ``--dask`` (needs the ``relink[dask]`` extra) it also runs ``relink batch --scheduler`` on
a loopback Dask cluster (``dask scheduler`` plus 1, then 2, ``dask worker --nthreads 1``, pinned
to the same CPUs) and the local pool with ``--workers 1`` and ``2``: it prints the scaling
efficiency of 2 workers over 1 (``t1 / (2 * t2)``) and the distributed path's overhead per
account over the local pool at the same concurrency (``(t_dask - t_local) * workers /
accounts``). ``--dask-only`` skips the papermill loop (about 5 s per account).

Usage: ``python benchmarks/batch_speed.py [--accounts 40] [--workers 2] [--cores 2] [--dask]``
"""

from __future__ import annotations

import argparse
import csv
import json
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


def batch_seconds(manifest: Path, out: Path, *extra: str) -> float:
    command = [str(BIN / "relink"), "batch", str(manifest), "--out", str(out), *extra]
    return timed(command, stderr=subprocess.DEVNULL)


def dask_seconds(manifest: Path, tmp: Path, workers: int) -> float:
    """One batch on a fresh loopback cluster of ``workers`` single-threaded workers."""
    from distributed import Client

    folder = tmp / f"cluster-{workers}"
    folder.mkdir()
    scheduler_file = folder / "scheduler.json"
    common = ["--scheduler-file", str(scheduler_file), "--no-dashboard"]
    started = [
        subprocess.Popen(
            [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0", *common],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        while not scheduler_file.exists():
            time.sleep(0.1)
        time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        for _ in range(workers):
            worker = [str(BIN / "dask"), "worker", "--host", "127.0.0.1", "--nthreads", "1"]
            started.append(
                subprocess.Popen(
                    [*worker, "--no-nanny", *common],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        with Client(address, set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=60)
        # Untimed warm-up: the workers' fork servers start with the first batch and stay warm.
        batch_seconds(manifest, tmp / f"dask-{workers}-warm", "--scheduler", address)
        return batch_seconds(manifest, tmp / f"dask-{workers}", "--scheduler", address)
    finally:
        for process in reversed(started):
            process.terminate()
            process.wait(30)


def dask_rows(manifest: Path, tmp: Path, accounts: int) -> None:
    local = {n: batch_seconds(manifest, tmp / f"local-{n}", "--workers", str(n)) for n in (1, 2)}
    remote = {n: dask_seconds(manifest, tmp, n) for n in (1, 2)}
    for n in (1, 2):
        overhead = (remote[n] - local[n]) * n / accounts
        print(
            f"workers {n}: local pool {local[n]:.1f} s ({local[n] / accounts:.2f} s per account), "
            f"dask {remote[n]:.1f} s ({remote[n] / accounts:.2f} s per account), "
            f"distributed overhead {overhead * 1000:+.0f} ms per account"
        )
    print(f"dask scaling efficiency, 2 workers over 1: {remote[1] / (2 * remote[2]):.0%}")
    print(f"local scaling efficiency, 2 workers over 1: {local[1] / (2 * local[2]):.0%}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--dask", action="store_true", help="also the Dask rows")
    parser.add_argument("--dask-only", action="store_true", help="only the Dask rows")
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) > args.cores:
        os.sched_setaffinity(0, cpus[: args.cores])  # children (papermill, kernels) inherit it
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="relink-bench-") as tmp:
        folder = Path(tmp) / "exports"
        rows = make_accounts(folder, args.accounts)
        if args.dask or args.dask_only:
            print(f"accounts: {args.accounts}, cores: {cores}")
            dask_rows(folder / "manifest.csv", Path(tmp), args.accounts)
            if args.dask_only:
                return 0
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
