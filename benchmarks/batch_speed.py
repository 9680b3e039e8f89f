"""How much faster is ``relink batch`` than a shell loop calling ``papermill`` once per export?

One run measures, on the same 40 exports (the bundled sample accounts, copied under new names,
with their AliExpress-side files): the bare audit in-process (read + audit, no notebook), a
bash loop running ``papermill notebooks/audit.ipynb OUT -p export_path X ...`` per export, and
``relink batch MANIFEST --out DIR --workers 2`` (every account gets its executed notebook,
report, merchant messages, chart and plan columns, as always). It prints the loop and batch
times, the throughput ratio (loop time / batch time; target at least 20x), the batch's time per
account per worker, start-up included (``batch_time * workers / accounts``; about 0.3 s at the
target), and its overhead over the bare audit. Both runs are pinned to the first ``--cores``
CPUs when the machine has more. ``--repeat N`` runs the batch N times (the loop once) and
prints each ratio: the machine's noise is larger than one run's precision.

With ``--dask`` (needs the ``relink[dask]`` extra) it also runs ``relink batch --scheduler`` on
a loopback Dask cluster: a ``dask scheduler`` and 1, then 2, ``dask worker --nthreads 1
--no-nanny``, each worker pinned to a core of its own (``os.sched_setaffinity`` in the worker
process before it starts; its fork server and kernels inherit it), the scheduler and the client
(the ``relink batch`` command) not pinned (they share the cores with the workers). Next to it,
the local pool with ``--workers 1`` (pinned to the first core) and ``2`` (both). It prints the
throughput (accounts per second) for 1 and 2 workers, the scaling efficiency of 2 workers over 1
(``t1 / (2 * t2)``), and the distributed path's overhead per account over the local pool at the
same concurrency (``(t_dask - t_local) * workers / accounts``). ``--dask-only`` skips the
papermill loop (several seconds per account).

Usage: ``python benchmarks/batch_speed.py [--accounts 40] [--workers 2] [--cores 2] [--dask]``
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    """Wall seconds of ``command``; its CPU seconds (and its descendants') go into ``CPU``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, **kwargs)
    kernels = _watch_kernels(process)
    if process.wait():
        raise subprocess.CalledProcessError(process.returncode, command)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    waited = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    CPU.append(waited + sum(kernels.values()))
    return wall


def _is_fork_server(process: Any) -> bool:
    line = " ".join(process.cmdline())  # before issue 22 it ran as relink.batch.kernels
    return "relink.batch.fork_server" in line or "relink.batch.kernels" in line


CPU: list[float] = []  # per timed command: CPU seconds of it and of every process it started


def _watch_kernels(process: subprocess.Popen[bytes]) -> dict[int, float]:
    """CPU seconds of the kernels a fork server forked (nobody waits for them, so the
    command's own resource usage does not count them), sampled every 0.1 s until the end."""
    import psutil

    seen: dict[int, float] = {}
    while process.poll() is None:
        try:
            descendants = psutil.Process(process.pid).children(recursive=True)
        except psutil.Error:
            descendants = []
        for child in descendants:
            try:
                parent = child.parent()
                if parent is None or not _is_fork_server(parent):
                    continue
                times = child.cpu_times()
                seen[child.pid] = times.user + times.system
            except psutil.Error:
                continue
        time.sleep(0.1)
    return seen


def batch_seconds(manifest: Path, out: Path, *extra: str, cores: set[int] | None = None) -> float:
    command = [str(BIN / "relink"), "batch", str(manifest), "--out", str(out), *extra]
    pin = (lambda: os.sched_setaffinity(0, cores)) if cores else None
    return timed(command, stderr=subprocess.DEVNULL, preexec_fn=pin)


def _pinned(core: int) -> Callable[[], None]:
    """Run in the worker process before it starts: pin it (and what it forks) to ``core``."""
    return lambda: os.sched_setaffinity(0, {core})


def dask_seconds(manifest: Path, tmp: Path, workers: int, cpus: list[int]) -> float:
    """One batch on a fresh loopback cluster of ``workers`` single-threaded workers, worker
    ``i`` pinned to ``cpus[i]``; the scheduler and the client run on every CPU."""
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
        for index in range(workers):
            worker = [str(BIN / "dask"), "worker", "--host", "127.0.0.1", "--nthreads", "1"]
            started.append(
                subprocess.Popen(
                    [*worker, "--no-nanny", *common],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    preexec_fn=_pinned(cpus[index % len(cpus)]),
                )
            )
        with Client(address, set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=60)
            where = client.run(lambda: sorted(os.sched_getaffinity(0)))
            print(
                f"  {workers} worker(s), CPUs each: {sorted(where.values())}; scheduler and client"
            )
            print(f"  on CPUs {sorted(os.sched_getaffinity(0))} (shared)")
        # Untimed warm-up: the workers' fork servers start with the first batch and stay warm.
        batch_seconds(manifest, tmp / f"dask-{workers}-warm", "--scheduler", address)
        return batch_seconds(manifest, tmp / f"dask-{workers}", "--scheduler", address)
    finally:
        for process in reversed(started):
            process.terminate()
            process.wait(30)


def dask_rows(manifest: Path, tmp: Path, accounts: int) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    local = {
        n: batch_seconds(
            manifest, tmp / f"local-{n}", "--workers", str(n), cores=set(cpus[:n]) or None
        )
        for n in (1, 2)
    }
    remote = {n: dask_seconds(manifest, tmp, n, cpus) for n in (1, 2)}
    for n in (1, 2):
        overhead = (remote[n] - local[n]) * n / accounts
        print(
            f"workers {n}: local pool {local[n]:.1f} s ({accounts / local[n]:.1f} accounts/s), "
            f"dask {remote[n]:.1f} s ({accounts / remote[n]:.1f} accounts/s), "
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
    parser.add_argument("--repeat", type=int, default=1, help="batch runs (the loop runs once)")
    parser.add_argument(
        "--batch-only", action="store_true", help="only the batch runs, no loop (no ratio)"
    )
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
        if args.batch_only:
            for n in range(args.repeat):
                out = Path(tmp) / f"batch-{n}"
                took = batch_seconds(folder / "manifest.csv", out, "--workers", str(args.workers))
                print(f"relink batch: {took:.2f} s, CPU {CPU[-1]:.2f} s ({args.accounts} accounts)")
            return 0
        bare = bare_audit_seconds(folder, rows)
        loop_out = Path(tmp) / "loop"
        loop_out.mkdir()
        script = Path(tmp) / "loop.sh"
        script.write_text(loop_script(folder, rows, loop_out), encoding="utf-8")
        manifest, workers = folder / "manifest.csv", str(args.workers)
        # One batch before the loop, the others after: the machine's load drifts.
        batches = [batch_seconds(manifest, Path(tmp) / "batch-0", "--workers", workers)]
        loop = timed(["bash", str(script)])
        loop_cpu = CPU[-1]
        batches += [
            batch_seconds(manifest, Path(tmp) / f"batch-{n}", "--workers", workers)
            for n in range(1, args.repeat)
        ]
    batch_cpu = [CPU[0], *CPU[2:]]
    n = args.accounts
    print(f"accounts: {n}, workers: {args.workers}, cores: {cores}")
    print(f"bare audit (in-process): {bare * 1000:.1f} ms per account")
    print(f"papermill loop: {loop:.1f} s ({loop / n:.2f} s per account), CPU {loop_cpu:.1f} s")
    for batch, cpu in zip(batches, batch_cpu, strict=True):
        per_worker = batch * args.workers / n
        print(f"relink batch:   {batch:.1f} s ({batch / n:.2f} s per account), CPU {cpu:.1f} s")
        print(f"  throughput ratio (loop time / batch time): {loop / batch:.1f}x   target >= 20x")
        print(f"  CPU ratio (loop CPU / batch CPU, less sensitive to load): {loop_cpu / cpu:.1f}x")
        print(f"  per account per worker, start-up included: {per_worker:.2f} s   target ~0.3 s")
        print(f"  CPU per account, start-up included: {cpu / n:.2f} s")
        print(f"  overhead over the bare audit: {per_worker - bare:.2f} s per account")
    return 0


if __name__ == "__main__":
    sys.exit(main())
