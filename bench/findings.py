"""Findings throughput: the engine over a run's worth of reports, against the
floor of only parsing the same CSVs with the csv module.

Both sides start from the same report bytes in memory and decode them; the
floor stops at csv.reader's rows, the engine goes on to read every row by
column name and evaluate every check (every result, PASS and FAIL). The
ratio compares the same work unit (reports per second). csv.DictReader, the
csv module's own way of reading by name, is reported beside it. Then the
command itself: ``credreports findings --reports`` over the reports written
to disk in the bucket's layout, in a process of its own (wall time, peak RSS).

Run alone: ``python -m bench.findings [--accounts N] [--users N]``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.fixtures import synthetic_report
from credreports import layout
from credreports.findings.engine import evaluate_report

ACCOUNTS = 10_000
USERS = 20
REPEATS = 3
# After every date synthetic_report writes, so ages are positive.
AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
RUN_ID = "20260101T020000Z"
GOAL = 0.5  # the engine at least half the floor's rate


def _best(repeats: int, work: Callable[[], int]) -> tuple[float, int]:
    """The fastest of ``repeats`` runs (seconds) and what the work counted."""
    best, counted = float("inf"), 0
    for _ in range(repeats):
        started = time.perf_counter()
        counted = work()
        best = min(best, time.perf_counter() - started)
    return best, counted


def measure(accounts: int = ACCOUNTS, users: int = USERS, repeats: int = REPEATS) -> dict[str, Any]:
    contents = [
        synthetic_report(f"{index:012d}", users, seed=index).encode() for index in range(accounts)
    ]

    def floor() -> int:
        rows = 0
        for content in contents:
            for _row in csv.reader(io.StringIO(content.decode(), newline="")):
                rows += 1
        return rows

    def by_name() -> int:
        rows = 0
        for content in contents:
            for _row in csv.DictReader(io.StringIO(content.decode(), newline="")):
                rows += 1
        return rows

    def engine() -> int:
        return sum(len(evaluate_report(content, None, AS_OF)) for content in contents)

    floor_seconds, rows = _best(repeats, floor)
    by_name_seconds, _ = _best(repeats, by_name)
    engine_seconds, results = _best(repeats, engine)
    command = _command(contents)
    return {
        "accounts": accounts,
        "users_per_report": users,
        "rows": rows,
        "results": results,
        "results_per_row": results / rows,
        "floor_csv_reader_seconds": floor_seconds,
        "csv_dictreader_seconds": by_name_seconds,
        "engine_seconds": engine_seconds,
        "floor_reports_per_second": accounts / floor_seconds,
        "dictreader_reports_per_second": accounts / by_name_seconds,
        "engine_reports_per_second": accounts / engine_seconds,
        "engine_results_per_second": results / engine_seconds,
        "engine_vs_floor": floor_seconds / engine_seconds,
        "engine_vs_dictreader": by_name_seconds / engine_seconds,
        "command": command,
    }


def _command(contents: list[bytes]) -> dict[str, Any]:
    """``credreports findings --reports DIR --format json`` (the failing
    results) over the reports written to disk, in a process of its own:
    wall time and that process's peak RSS."""
    with tempfile.TemporaryDirectory(prefix="bench-findings-") as folder:
        root = Path(folder)
        for index, content in enumerate(contents):
            path = root / "bucket" / layout.report_key("", RUN_ID, f"{index:012d}")
            path.parent.mkdir(parents=True)
            path.write_bytes(content)
        output = root / "findings.json"
        started = time.perf_counter()
        with output.open("w") as stdout:
            subprocess.run(  # noqa: S603 - our own module, fixed arguments
                [
                    sys.executable,
                    "-c",
                    "import sys; from credreports.cli import main; sys.exit(main(sys.argv[1:]))",
                    "findings",
                    "--reports",
                    str(root / "bucket"),
                    "--format",
                    "json",
                    "--as-of",
                    AS_OF.isoformat(),
                ],
                stdout=stdout,
                stderr=subprocess.DEVNULL,
                check=True,
            )
        seconds = time.perf_counter() - started
        with output.open() as written:
            failing = sum(1 for line in written if line.startswith("{"))
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "wall_seconds": seconds,
        "failing_results_written": failing,
        "peak_rss_mb": peak_kb / 1024,
        "what": "credreports findings --reports DIR --format json, a process of its own",
    }


def describe(r: dict[str, Any]) -> str:
    """The figures as the bench table prints them."""
    return (
        f"{r['engine_reports_per_second']:,.0f} reports/s ({r['engine_results_per_second']:,.0f} "
        f"results/s) vs csv.reader {r['floor_reports_per_second']:,.0f} reports/s: "
        f"x{r['engine_vs_floor']:.2f} (csv.DictReader {r['dictreader_reports_per_second']:,.0f}: "
        f"x{r['engine_vs_dictreader']:.2f}); {r['accounts']:,} reports of {r['users_per_report']} "
        f"users"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.findings")
    parser.add_argument("--accounts", type=int, default=ACCOUNTS)
    parser.add_argument("--users", type=int, default=USERS)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    args = parser.parse_args()
    results = measure(args.accounts, args.users, args.repeats)
    print(json.dumps(results, indent=2))
    print(describe(results))
    command = results["command"]
    print(
        f"findings --reports over {args.accounts:,} files: {command['wall_seconds']:.1f} s, "
        f"peak RSS {command['peak_rss_mb']:.0f} MB, {command['failing_results_written']:,} "
        "failing results written"
    )


if __name__ == "__main__":
    main()
