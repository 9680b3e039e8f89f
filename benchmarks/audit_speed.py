"""Time and peak memory of `relink audit --format json` against a bare read of the same file.

Both sides run as fresh processes (interpreter start and imports included on both sides),
measured in the same run, interleaved, several times each; the median is reported. Ratios,
not seconds, are what to compare: the machine is shared and noisy.

    python benchmarks/audit_speed.py [--rows 1000000] [--xlsx-rows 200000] [--repeat 5]

Targets (issue 2): audit <= 1.5x the bare read's time and <= 2x its peak memory, for CSV
(against ``pandas.read_csv``) and XLSX (against a bare python-calamine read).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from relink.samples import write_large_export

DATA = Path(__file__).with_name("data")
BARE_CSV = "import sys, pandas; pandas.read_csv(sys.argv[1])"
BARE_XLSX = (
    "import sys; from python_calamine import CalamineWorkbook; "
    "book = CalamineWorkbook.from_path(sys.argv[1]); "
    "[book.get_sheet_by_name(n).to_python() for n in book.sheet_names]"
)
TIME_TARGET, MEMORY_TARGET = 1.5, 2.0


def measure(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MiB) of one child process."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    exit_code = os.waitstatus_to_exitcode(status)
    if exit_code not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({exit_code}): {child.stderr.read()!r}")
    return elapsed, usage.ru_maxrss / 1024


def compare(label: str, path: Path, bare: str, repeat: int) -> dict[str, float]:
    bare_command = [sys.executable, "-c", bare, str(path)]
    audit_command = [sys.executable, "-m", "relink", "audit", "--format", "json", str(path)]
    measure(bare_command)  # warm the page cache for both sides
    bare_runs, audit_runs = [], []
    for _ in range(repeat):
        bare_runs.append(measure(bare_command))
        audit_runs.append(measure(audit_command))
    bare_time = statistics.median(t for t, _ in bare_runs)
    bare_memory = statistics.median(m for _, m in bare_runs)
    audit_time = statistics.median(t for t, _ in audit_runs)
    audit_memory = statistics.median(m for _, m in audit_runs)
    return {
        "label": label,
        "bare_s": bare_time,
        "audit_s": audit_time,
        "time_ratio": audit_time / bare_time,
        "bare_mib": bare_memory,
        "audit_mib": audit_memory,
        "memory_ratio": audit_memory / bare_memory,
    }


def prepared(rows: int, fmt: str) -> Path:
    path = DATA / f"export-{rows}.{fmt}"
    if not path.exists():
        DATA.mkdir(exist_ok=True)
        print(f"writing {path} ...", file=sys.stderr)
        write_large_export(path, rows, fmt=fmt)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    results = [
        compare(f"CSV, {args.rows:,} rows", prepared(args.rows, "csv"), BARE_CSV, args.repeat),
        compare(
            f"XLSX, {args.xlsx_rows:,} rows",
            prepared(args.xlsx_rows, "xlsx"),
            BARE_XLSX,
            args.repeat,
        ),
    ]
    columns = ["file", "bare read", "relink audit", "time ratio", "bare peak", "audit peak"]
    print("| " + " | ".join([*columns, "memory ratio"]) + " |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['label']} | {r['bare_s']:.2f} s | {r['audit_s']:.2f} s | "
            f"**{r['time_ratio']:.2f}x** (target {TIME_TARGET}x) | {r['bare_mib']:.0f} MiB | "
            f"{r['audit_mib']:.0f} MiB | **{r['memory_ratio']:.2f}x** (target {MEMORY_TARGET}x) |"
        )


if __name__ == "__main__":
    main()
