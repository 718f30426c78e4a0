"""``credreports summary``: how a run ended, what it found, what changed.

Shows the summary the summarizer stored for the run (the latest run unless
``--run``): the same text as the run's SNS message, or the document as JSON
(``--json``), or the HTML report written to a file (``--html FILE``). When no
summary is stored yet (the run is still being collected, or the summarizer
has not looked yet), one is computed from the bucket as it is now, and the
output says so: that one is neither stored nor announced.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from credreports import layout
from credreports.adapters.storage import ReportStore
from credreports.cli.options import run_id as run_id_option
from credreports.cli.target import Target, add_target_options
from credreports.findings.catalogue import Thresholds
from credreports.ledger import latest_run_id, read_ledger
from credreports.logic.summarizer import announce
from credreports.logic.summarizer.check import evaluate_summary
from credreports.logic.summarizer.compare import read_summary
from credreports.logic.summarizer.html_report import render
from credreports.logic.summarizer.settle import Settlement, Verdict, outcome_id
from credreports.models.ids import utc_now
from credreports.models.summary import RunSummary

EXIT_OK = 0
EXIT_NOT_DONE = 1


def register(commands: Any) -> None:
    """Add ``summary`` to the command line's subcommands."""
    text = "Show how a run ended: counts, failures, findings per check, new and resolved."
    parser: argparse.ArgumentParser = commands.add_parser(
        "summary",
        help=text,
        description=f"{text}\n\n"
        "The summary the summarizer stored for the run (the text of its SNS message), or\n"
        "one computed from the bucket now when none is stored yet (said so; not stored,\n"
        "not announced). Exit code 0 when the run is complete, 1 otherwise.",
        epilog="example:\n"
        "  credreports summary --stack credreports\n"
        "  credreports summary --run 20261123T020000Z --json | jq .findings\n"
        "  credreports summary --html report.html",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--run", type=run_id_option, metavar="RUN_ID", help="default: the latest run"
    )
    parser.add_argument("--json", action="store_true", help="print the summary document")
    parser.add_argument("--html", metavar="FILE", help="write the HTML report to FILE")
    add_target_options(parser)


def status_entry(summary: RunSummary) -> dict[str, Any]:
    """What ``status --json`` says of the run's stored summary."""
    return {
        "outcome": summary.outcome,
        "headline": summary.headline(),
        "summarized_at": summary.to_document()["summarized_at"],
        "key": summary.keys.summary,
    }


def computed_summary(store: ReportStore, run_id: str) -> RunSummary:
    """A summary of the run as the bucket has it now (nothing written)."""
    ledger = read_ledger(store, run_id)
    verdict = Verdict.COMPLETE if ledger.complete else Verdict.INCOMPLETE
    settlement = Settlement(verdict, None, outcome_id(ledger))
    thresholds = Thresholds.from_environment(os.environ)
    findings, summary = evaluate_summary(store, ledger, settlement, utc_now(), thresholds)
    findings.close()
    return summary


def cmd_summary(args: argparse.Namespace, target: Target) -> int:
    target.require("bucket")
    assert target.bucket is not None
    store = ReportStore(target.bucket, target.prefix, client=target.bucket_client())
    run_id = args.run or latest_run_id(store)
    if run_id is None:
        print(f"credreports summary: error: no runs in s3://{store.bucket}/{store.prefix}runs/")
        return EXIT_NOT_DONE
    summary = read_summary(store, run_id)
    if summary is None:
        print(
            f"credreports summary: no summary stored for run {run_id} yet (the run is not "
            "settled, or the summarizer has not looked); computed from the bucket now, not "
            "stored, not announced.",
            file=sys.stderr,
        )
        summary = computed_summary(store, run_id)
    else:
        print(
            f"credreports summary: stored s3://{store.bucket}/"
            f"{layout.summary_key(store.prefix, run_id)}",
            file=sys.stderr,
        )
    if args.html:
        Path(args.html).write_text(render(summary, store.bucket), encoding="utf-8")
        print(f"credreports summary: HTML report written to {args.html}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary.to_document(), indent=2))
    elif not args.html:
        print(announce.message(summary, store.bucket), end="")
    return EXIT_OK if summary.complete else EXIT_NOT_DONE
