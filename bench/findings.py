"""Findings throughput: the engine over a run's worth of reports, against the
floor of only parsing the same CSVs with the csv module.

Both sides start from the same report bytes in memory and decode them; the
floor stops at csv.reader's rows, the engine goes on to read every row by
column name and evaluate every check. The ratio compares the same work unit
(reports per second), twice: building every result (PASS and FAIL, what
``--status all`` and the demo ask for) and building the failing ones only
(passing ones counted: what ``findings`` does by default). The engine does
not use csv.reader for a report without a quote (it splits at newlines and
commas, which gives the same fields), so the floor of that tokenizing alone
is reported beside csv.reader's, as is csv.DictReader, the csv module's own
way of reading by name.

Then the command itself, each time in a process of its own (wall time, the
process's peak RSS): ``credreports findings --reports`` over the reports
written to disk in the bucket's layout, and ``credreports findings --run``
over the same reports stored in the emulator's bucket as the worker stores
them (key layout, ``generated-time`` metadata).

Run alone: ``python -m bench.findings [--accounts N] [--users N] [--runs N]``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from bench.fixtures import synthetic_report
from credreports import layout
from credreports.findings.engine import evaluate_report
from credreports.findings.sources import CLOCK_MARGIN, READERS
from credreports.local import emulator as emulator_module
from credreports.local.emulator import Emulator

ACCOUNTS = 10_000
USERS = 20
REPEATS = 3
# After every date synthetic_report writes, so ages are positive.
AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
RUN_ID = "20260101T020000Z"
GOAL = 0.5  # the engine at least half the floor's rate
REPO = Path(__file__).resolve().parent.parent
BUCKET = "bench-findings"
# How fast the run being read stored its reports: a real run of 10,000
# accounts stores them over many minutes, so finding its as_of reads the
# metadata of the last minute's reports only (sources.newest_generated_time).
STORED_PER_SECOND = 10
GENERATION_SECONDS = 2  # between IAM generating a report and the worker storing it
# The command in a process of its own; its peak RSS (VmHWM) is written to the
# file named by the first argument.
_CHILD = (
    "import json, sys\n"
    "from bench.memory_probe import peak_rss_mb\n"
    "from credreports.cli import main\n"
    "code = main(sys.argv[2:])\n"
    "with open(sys.argv[1], 'w') as out:\n"
    "    json.dump({'exit': code, 'peak_rss_mb': peak_rss_mb()}, out)\n"
    "sys.exit(code)\n"
)


def _best(repeats: int, work: Callable[[], int]) -> tuple[float, int]:
    """The fastest of ``repeats`` runs (seconds) and what the work counted."""
    best, counted = float("inf"), 0
    for _ in range(repeats):
        started = time.perf_counter()
        counted = work()
        best = min(best, time.perf_counter() - started)
    return best, counted


def measure(accounts: int = ACCOUNTS, users: int = USERS, repeats: int = REPEATS) -> dict[str, Any]:
    contents = reports(accounts, users)

    def floor() -> int:
        rows = 0
        for content in contents:
            for _row in csv.reader(io.StringIO(content.decode(), newline="")):
                rows += 1
        return rows

    def split() -> int:
        rows = 0
        for content in contents:
            for line in content.decode().split("\n"):
                if line:
                    line.split(",")
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

    def failures() -> int:
        """Failing results built (every result evaluated, the passing ones not built)."""
        passed: set[tuple[str, str]] = set()
        return sum(len(evaluate_report(c, None, AS_OF, passed=passed)) for c in contents)

    # Interleaved, the fastest of each: on shared cores a slow moment then
    # hits every side alike instead of one.
    timed: dict[str, tuple[float, int]] = {}
    for _ in range(repeats):
        for name, work in (
            ("floor", floor),
            ("split", split),
            ("dictreader", by_name),
            ("engine", engine),
            ("failures", failures),
        ):
            seconds, counted = _best(1, work)
            best = timed.get(name, (float("inf"), 0))[0]
            timed[name] = (min(best, seconds), counted)
    floor_seconds, rows = timed["floor"]
    split_seconds, split_rows = timed["split"]
    by_name_seconds, _ = timed["dictreader"]
    engine_seconds, results = timed["engine"]
    failures_seconds, failing = timed["failures"]
    assert split_rows == rows, (split_rows, rows)
    return {
        "accounts": accounts,
        "users_per_report": users,
        "rows": rows,
        "results": results,
        "results_per_row": results / rows,
        "failing_results": failing,
        "floor_csv_reader_seconds": floor_seconds,
        "floor_str_split_seconds": split_seconds,
        "csv_dictreader_seconds": by_name_seconds,
        "engine_seconds": engine_seconds,
        "engine_failures_only_seconds": failures_seconds,
        "floor_reports_per_second": accounts / floor_seconds,
        "split_reports_per_second": accounts / split_seconds,
        "dictreader_reports_per_second": accounts / by_name_seconds,
        "engine_reports_per_second": accounts / engine_seconds,
        "engine_results_per_second": results / engine_seconds,
        "engine_failures_only_reports_per_second": accounts / failures_seconds,
        "engine_vs_floor": floor_seconds / engine_seconds,
        "engine_failures_only_vs_floor": floor_seconds / failures_seconds,
        "engine_vs_split": split_seconds / engine_seconds,
        "engine_vs_dictreader": by_name_seconds / engine_seconds,
        "command": _command(contents),
    }


def reports(accounts: int, users: int) -> list[bytes]:
    """The reports of a run: one per account, ``users`` users each."""
    return [
        synthetic_report(f"{index:012d}", users, seed=index).encode() for index in range(accounts)
    ]


def _findings_process(arguments: Sequence[str], output: Path) -> dict[str, Any]:
    """``credreports findings ARGUMENTS`` in a process of its own, its
    results written to ``output``: the wall time, the process's peak RSS and
    CPU time, and how many failing results it wrote."""
    probe = output.with_suffix(".rss.json")
    before = os.times()
    started = time.perf_counter()
    with output.open("w") as stdout:
        subprocess.run(  # noqa: S603 - our own modules, fixed arguments
            [sys.executable, "-c", _CHILD, str(probe), "findings", *arguments],
            stdout=stdout,
            stderr=subprocess.DEVNULL,
            check=True,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
    seconds = time.perf_counter() - started
    after = os.times()
    with output.open() as written:
        failing = sum(1 for line in written if line.startswith("{"))
    return {
        "wall_seconds": seconds,
        "cpu_seconds": (after.children_user - before.children_user)
        + (after.children_system - before.children_system),
        "failing_results_written": failing,
        "peak_rss_mb": json.loads(probe.read_text())["peak_rss_mb"],
    }


def _command(contents: list[bytes]) -> dict[str, Any]:
    """``credreports findings --reports DIR --format json`` (the failing
    results) over the reports written to disk."""
    with tempfile.TemporaryDirectory(prefix="bench-findings-") as folder:
        root = Path(folder)
        for index, content in enumerate(contents):
            path = root / "bucket" / layout.report_key("", RUN_ID, f"{index:012d}")
            path.parent.mkdir(parents=True)
            path.write_bytes(content)
        arguments = ["--reports", str(root / "bucket"), "--format", "json"]
        measured = _findings_process([*arguments, "--as-of", AS_OF.isoformat()], root / "out.json")
    return {
        **measured,
        "what": "credreports findings --reports DIR --format json, a process of its own",
    }


def seed_run(contents: Sequence[bytes], bucket: str = BUCKET) -> dict[str, Any]:
    """Store ``contents`` in the emulator's ``bucket`` as the worker stores a
    run's reports (key layout, ``generated-time`` metadata), straight into
    moto's backend (this process runs the emulator), their LastModified
    spread as a run of that many accounts would spread them. The newest
    report was generated at AS_OF: the run's as_of is the one the other
    figures use."""
    from moto.backends import get_backend
    from moto.core.models import DEFAULT_ACCOUNT_ID

    boto3.client("s3").create_bucket(Bucket=bucket)
    backend = get_backend("s3")[DEFAULT_ACCOUNT_ID]["global"]
    step = timedelta(seconds=1 / STORED_PER_SECOND)
    newest = AS_OF.replace(tzinfo=None) + timedelta(seconds=GENERATION_SECONDS)
    for index, content in enumerate(contents):
        stored = newest - (len(contents) - 1 - index) * step
        generated = (stored - timedelta(seconds=GENERATION_SECONDS)).replace(tzinfo=UTC)
        key = backend.put_object(bucket, layout.report_key("", RUN_ID, f"{index:012d}"), content)
        key.set_metadata({f"x-amz-meta-{layout.GENERATED_TIME_METADATA}": generated.isoformat()})
        key.last_modified = stored  # moto keeps it naive, in UTC
    # The reports whose metadata the as_of search reads: stored within the
    # margin of the newest generation time, in batches of READERS.
    recent = sum(
        1
        for index in range(len(contents))
        if (len(contents) - 1 - index) / STORED_PER_SECOND
        < CLOCK_MARGIN.total_seconds() + GENERATION_SECONDS
    )
    return {
        "reports": len(contents),
        "stored_per_second": STORED_PER_SECOND,
        "newest_stored": newest.isoformat(),
        "metadata_reads_about": -(-recent // READERS) * READERS,
    }


def measure_run(
    emulator: Emulator, accounts: int = ACCOUNTS, users: int = USERS, runs: int = 1
) -> dict[str, Any]:
    """``credreports findings --run RUN --bucket B --format json`` over a run
    of ``accounts`` reports in the emulator (in this process, over HTTP from
    the command's), ``runs`` times: wall time, peak RSS, CPU of the command
    and of this process (the emulator serving it)."""
    emulator.reset()
    seeding = time.perf_counter()
    seeded = seed_run(reports(accounts, users))
    seed_seconds = time.perf_counter() - seeding
    measured = []
    with tempfile.TemporaryDirectory(prefix="bench-findings-run-") as folder:
        for attempt in range(runs):
            server_cpu = time.process_time()
            arguments = ["--run", RUN_ID, "--bucket", BUCKET, "--format", "json"]
            one = _findings_process(arguments, Path(folder) / f"run-{attempt}.json")
            one["emulator_cpu_seconds"] = time.process_time() - server_cpu
            measured.append(one)
    return {
        "accounts": accounts,
        "users_per_report": users,
        "seed_seconds": seed_seconds,
        "seeded": seeded,
        "readers": READERS,
        "runs": measured,
        **{
            f"median_{name}": statistics.median(one[name] for one in measured)
            for name in ("wall_seconds", "peak_rss_mb", "cpu_seconds", "emulator_cpu_seconds")
        },
        "failing_results_written": measured[0]["failing_results_written"],
        "what": "credreports findings --run RUN --bucket B --format json, a process of its own, "
        "against the emulator in the bench's process",
    }


def describe(r: dict[str, Any]) -> str:
    """The figures as the bench table prints them."""
    return (
        f"{r['engine_reports_per_second']:,.0f} reports/s every result "
        f"({r['engine_results_per_second']:,.0f} results/s), "
        f"{r['engine_failures_only_reports_per_second']:,.0f} failures only, vs csv.reader "
        f"{r['floor_reports_per_second']:,.0f}: x{r['engine_vs_floor']:.2f} "
        f"(x{r['engine_failures_only_vs_floor']:.2f} failures only); str.split "
        f"{r['split_reports_per_second']:,.0f}, csv.DictReader "
        f"{r['dictreader_reports_per_second']:,.0f}; {r['accounts']:,} reports of "
        f"{r['users_per_report']} users"
    )


def describe_run(r: dict[str, Any]) -> str:
    return (
        f"{r['median_wall_seconds']:.1f} s, peak RSS {r['median_peak_rss_mb']:.0f} MB; CPU "
        f"{r['median_cpu_seconds']:.1f} s in the command, {r['median_emulator_cpu_seconds']:.1f} s "
        f"in the emulator; {r['readers']} reads at a time; {r['accounts']:,} reports "
        f"(median of {len(r['runs'])})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.findings")
    parser.add_argument("--accounts", type=int, default=ACCOUNTS)
    parser.add_argument("--users", type=int, default=USERS)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--runs", type=int, default=1, help="times findings --run is measured")
    parser.add_argument("--output", type=Path, help="also write the figures there (JSON)")
    args = parser.parse_args()
    results = measure(args.accounts, args.users, args.repeats)
    emulator = emulator_module.start()
    try:
        results["run"] = measure_run(emulator, args.accounts, args.users, args.runs)
    finally:
        emulator_module.stop(emulator)
    print(json.dumps(results, indent=2))
    if args.output:
        args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(describe(results))
    command = results["command"]
    print(
        f"findings --reports over {args.accounts:,} files: {command['wall_seconds']:.1f} s, "
        f"peak RSS {command['peak_rss_mb']:.0f} MB, {command['failing_results_written']:,} "
        "failing results written"
    )
    print(
        f"findings --run over {args.accounts:,} reports in the emulator: "
        f"{describe_run(results['run'])}"
    )


if __name__ == "__main__":
    main()
