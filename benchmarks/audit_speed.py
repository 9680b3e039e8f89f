"""Time and peak memory of `relink audit --format json` against a bare read of the same file.

Both sides run as fresh processes (interpreter start and imports included on both sides),
measured in the same run, interleaved, several times each; the median is reported. Ratios,
not seconds, are what to compare: the machine is shared and noisy.

    python benchmarks/audit_speed.py [--rows 1000000] [--xlsx-rows 200000] [--repeat 5]
                                     [--earlier-lib DIR] [--only csv|xlsx]

``--earlier-lib DIR``: also run ``relink audit`` from another copy of relink's ``lib`` folder (an
earlier commit: ``git archive COMMIT lib | tar -x -C /tmp/earlier``), interleaved with the
others, so that before and after are measured in the same run on the same machine.
``--only csv`` or ``--only xlsx``: those cells only (the start-up line is printed either way).

The matrix: CSV of ``--rows`` rows with 1%, 15% and 50% of orders blocked, each with the table
and the JSON output, against a bare ``pandas.read_csv`` of the same file; XLSX of
``--xlsx-rows`` rows (JSON output) against a bare python-calamine read. Targets: every cell at
most 1.2x the bare read's time and 1.0x its peak memory.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from large_exports import write_large_export  # benchmarks/large_exports.py, beside this script

DATA = Path(__file__).with_name("data")
BARE_CSV = "import sys, pandas; pandas.read_csv(sys.argv[1])"
BARE_XLSX = (
    "import sys; from python_calamine import CalamineWorkbook; "
    "book = CalamineWorkbook.from_path(sys.argv[1]); "
    "[book.get_sheet_by_name(n).to_python() for n in book.sheet_names]"
)
TIME_TARGET, MEMORY_TARGET = 1.2, 1.0
SHARES = (0.01, 0.15, 0.50)


def measure(command: list[str], lib: str = "") -> tuple[float, float, float]:
    """Wall seconds, peak resident memory (MiB) and CPU seconds (user + system) of one child
    (with ``lib`` first on its ``PYTHONPATH`` when given)."""
    env = {**os.environ, "PYTHONPATH": lib} if lib else None
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    exit_code = os.waitstatus_to_exitcode(status)
    if exit_code not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({exit_code}): {child.stderr.read()!r}")
    return elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def compare(
    label: str, path: Path, bare: str, repeat: int, output: str = "json", earlier: str = ""
) -> dict[str, float]:
    bare_command = [sys.executable, "-c", bare, str(path)]
    audit_command = [sys.executable, "-m", "relink", "audit", "--format", output, str(path)]
    measure(bare_command)  # warm the page cache for both sides
    bare_runs, audit_runs, earlier_runs = [], [], []
    for _ in range(repeat):
        bare_runs.append(measure(bare_command))
        audit_runs.append(measure(audit_command))
        if earlier:
            earlier_runs.append(measure(audit_command, earlier))
    bare_time = statistics.median(r[0] for r in bare_runs)
    bare_memory = statistics.median(r[1] for r in bare_runs)
    audit_time = statistics.median(r[0] for r in audit_runs)
    audit_memory = statistics.median(r[1] for r in audit_runs)
    # CPU time is less sensitive than wall time to other work on a shared machine.
    cpu_ratio = statistics.median(r[2] for r in audit_runs) / statistics.median(
        r[2] for r in bare_runs
    )
    earlier_time = statistics.median(r[0] for r in earlier_runs) if earlier_runs else 0.0
    return {
        "earlier_ratio": earlier_time / bare_time,
        "label": label,
        "bare_s": bare_time,
        "audit_s": audit_time,
        "time_ratio": audit_time / bare_time,
        "bare_mib": bare_memory,
        "audit_mib": audit_memory,
        "memory_ratio": audit_memory / bare_memory,
        "cpu_ratio": cpu_ratio,
    }


def startup_line(repeat: int, earlier: str = "") -> str:
    """The floor both sides share: starting Python and importing pandas, against starting Python
    and importing what ``relink audit`` imports (its command line: pandas, pyarrow, click and
    the audit), medians of ``repeat`` fresh processes each, interleaved."""
    commands = {
        "python + pandas": [sys.executable, "-c", "import pandas"],
        "python + relink audit's imports": [
            sys.executable,
            "-c",
            # relink audit imports the audit (pandas) when it runs, not with its module
            "import relink.cli, relink.audit_cli, relink.audit.exports, relink.audit.verdict, "
            "relink.audit.text",
        ],
    }
    runs: dict[str, list[float]] = {name: [] for name in commands}
    runs |= {"earlier code's imports": []} if earlier else {}
    for _ in range(repeat):
        for name, command in commands.items():
            runs[name].append(measure(command)[0])
        if earlier:
            runs["earlier code's imports"].append(measure(commands[name], earlier)[0])
    return "start-up (median of fresh processes): " + "; ".join(
        f"{name} {statistics.median(times):.2f} s" for name, times in runs.items()
    )


def compiled(earlier: str = "") -> None:
    """Write the bytecode of the relink that each side runs, as an installed package has it.

    With ``PYTHONDONTWRITEBYTECODE`` set (as in some shells) or a stale ``__pycache__``, every
    ``relink audit`` would compile relink's modules again (about 0.1 s measured), which the
    bare read, all of whose imports are installed, never does.
    """
    for lib in ("", earlier) if earlier else ("",):
        env = {**os.environ, "PYTHONPATH": lib} if lib else None
        found = subprocess.run(
            [sys.executable, "-c", "import relink; print(relink.__path__[0])"],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        compileall.compile_dir(found.stdout.strip(), quiet=1)


def prepared(rows: int, fmt: str, blocked: float | None = None) -> Path:
    share = "" if blocked is None else f"-blocked{round(blocked * 100)}"
    path = DATA / f"export-{rows}{share}.{fmt}"
    if not path.exists():
        DATA.mkdir(exist_ok=True)
        print(f"writing {path} ...", file=sys.stderr)
        write_large_export(path, rows, fmt=fmt, blocked=blocked)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--earlier-lib", default="", help="also time relink from this lib folder")
    parser.add_argument("--only", choices=["csv", "xlsx"], help="run these cells only")
    args = parser.parse_args()
    csv_shares = () if args.only == "xlsx" else SHARES
    results = [
        compare(
            f"CSV, {args.rows:,} rows, {share:.0%} blocked, {output}",
            prepared(args.rows, "csv", share),
            BARE_CSV,
            args.repeat,
            output,
            args.earlier_lib,
        )
        for share in csv_shares
        for output in ("table", "json")
    ]
    results += (
        []
        if args.only == "csv"
        else [
            compare(
                f"XLSX, {args.xlsx_rows:,} rows",
                prepared(args.xlsx_rows, "xlsx"),
                BARE_XLSX,
                args.repeat,
                earlier=args.earlier_lib,
            ),
        ]
    )
    print(f"command: {' '.join(sys.argv)}")
    compiled(args.earlier_lib)
    print(startup_line(args.repeat, args.earlier_lib))
    columns = ["file", "bare read", "relink audit", "time ratio", "bare peak", "audit peak"]
    earlier = ["earlier code's time ratio"] if args.earlier_lib else []
    print("| " + " | ".join([*columns, "memory ratio", "CPU ratio", *earlier, "met"]) + " |")
    print("|---" * (len(columns) + 4 + len(earlier)) + "|")
    for r in results:
        met = r["time_ratio"] <= TIME_TARGET and r["memory_ratio"] <= MEMORY_TARGET
        before = [f"{r['earlier_ratio']:.2f}x"] if args.earlier_lib else []
        print(
            f"| {r['label']} | {r['bare_s']:.2f} s | {r['audit_s']:.2f} s | "
            f"**{r['time_ratio']:.2f}x** (target {TIME_TARGET}x) | {r['bare_mib']:.0f} MiB | "
            f"{r['audit_mib']:.0f} MiB | **{r['memory_ratio']:.2f}x** (target {MEMORY_TARGET}x) | "
            + " | ".join([f"{r['cpu_ratio']:.2f}x", *before, "yes" if met else "no"])
            + " |"
        )


if __name__ == "__main__":
    main()
