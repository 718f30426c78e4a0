"""The ``credreports`` command line: the demo, and the operator's commands
against a deployed stack (start, enqueue, replay, status).

A thin layer: each command parses its options, calls one function of the
logic (credreports.operations, credreports.ledger, credreports.local.demo)
and prints what happened. Exit codes: 0 done (for ``status``: the run is
complete), 1 not done or failed, 2 invalid input (nothing was sent).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import boto3

from credreports.adapters.cloudformation import StackNotFoundError
from credreports.adapters.functions import Function, InvocationError
from credreports.adapters.queue import Queue
from credreports.adapters.storage import ReportStore
from credreports.cli import findings, render
from credreports.cli.options import run_id as _run_id
from credreports.cli.target import Target, TargetError, add_target_options, resolve
from credreports.errors import CollectionError, DeliveryError
from credreports.ledger import LedgerError, latest_run_id, read_ledger
from credreports.models.codes import Reason
from credreports.operations import (
    InvalidAccountIdsError,
    InvalidRunIdError,
    enqueue_accounts,
    replay_failures,
    require_account_ids,
)

EXIT_OK = 0
EXIT_NOT_DONE = 1
EXIT_INVALID = 2

DEMO_DEFAULT_ACCOUNTS = 25


class CommandError(RuntimeError):
    """A command could not do its work; the message says why."""


def _reason(value: str) -> str:
    try:
        return Reason(value.upper()).value
    except ValueError:
        codes = ", ".join(reason.value for reason in Reason)
        raise argparse.ArgumentTypeError(f"unknown reason {value!r} (one of {codes})") from None


def _positive(value: str) -> int:
    number = int(value)
    if number < 2:
        raise argparse.ArgumentTypeError("at least 2 accounts (the management account and one)")
    return number


# --- the commands ---------------------------------------------------------------


def start_event(account_ids: Sequence[str]) -> dict[str, Any]:
    """The producer event for ``start``: a full run, or a manual run of the given
    accounts (validated here, so a typo never reaches Lambda)."""
    if not account_ids:
        return {}
    return {"account_ids": list(require_account_ids(account_ids))}


def describe_run_started(summary: Any) -> str:
    """What ``start`` prints from the producer's answer (RunStarted.as_dict)."""
    if isinstance(summary, dict) and "error" in summary:
        raise CommandError(f"the producer refused the request: {summary.get('message', '')}")
    if not isinstance(summary, dict) or "run_id" not in summary:
        raise CommandError(f"the producer answered something unexpected: {summary!r}")
    skipped = summary.get("skipped_by_state") or {}
    return (
        f"Run {summary['run_id']} started ({summary.get('trigger', '?')}): "
        f"{summary.get('enqueued', 0)} accounts enqueued, "
        f"{sum(skipped.values())} skipped by state ({render.counts(skipped)}), "
        f"{summary.get('excluded', 0)} excluded.\n"
        f"Follow it: credreports status --run {summary['run_id']}"
    )


def cmd_start(args: argparse.Namespace, target: Target) -> int:
    event = start_event(args.account or [])
    target.require("producer_function")
    assert target.producer_function is not None
    summary = Function(target.producer_function).invoke(event)
    print(describe_run_started(summary))
    return EXIT_OK


def _store(target: Target) -> ReportStore:
    target.require("bucket")
    assert target.bucket is not None
    return ReportStore(target.bucket, target.prefix, client=target.bucket_client())


def _work_queue(target: Target) -> Queue:
    target.require("queue_url")
    assert target.queue_url is not None
    return Queue(target.queue_url)


def cmd_enqueue(args: argparse.Namespace, target: Target) -> int:
    ids = require_account_ids(args.account_ids)
    target.require("queue_url", "bucket")
    done = enqueue_accounts(ids, _work_queue(target), _store(target), run_id=args.run)
    where = "a new run" if done.new_run else "run"
    print(
        f"Enqueued {len(done.account_ids)} account(s) in {where} {done.run_id} "
        f"(trigger manual): {' '.join(done.account_ids)}\n"
        f"Follow it: credreports status --run {done.run_id}"
    )
    return EXIT_OK


def _chosen_run(store: ReportStore, run_id: str | None) -> str:
    chosen = run_id or latest_run_id(store)
    if chosen is None:
        raise CommandError(f"no runs in s3://{store.bucket}/{store.prefix}runs/")
    return chosen


def cmd_replay(args: argparse.Namespace, target: Target) -> int:
    ids = require_account_ids(args.account or [])
    target.require("queue_url", "bucket")
    store = _store(target)
    run_id = _chosen_run(store, args.run)
    replay = replay_failures(
        store, _work_queue(target), run_id, ids, set(args.reason or []), dry_run=args.dry_run
    )
    verb = "Would replay" if replay.dry_run else "Replayed"
    if replay.sent:
        print(f"{verb} {len(replay.sent)} failed account(s) of run {run_id}:")
        print(
            render.table(
                [(a, f.record.reason.value) for a, f in replay.sent.items()],
            )
        )
    else:
        print(f"Nothing to replay in run {run_id}.")
    if replay.already_replaying:
        print(f"Already replayed, waiting for an outcome: {' '.join(replay.already_replaying)}")
    if replay.not_failed:
        print(f"Not failures of this run (skipped): {' '.join(replay.not_failed)}")
    if replay.sent and not replay.dry_run:
        print(f"Follow it: credreports status --run {run_id}")
    return EXIT_OK


def cmd_status(args: argparse.Namespace, target: Target) -> int:
    store = _store(target)
    run_id = _chosen_run(store, args.run)
    ledger = read_ledger(store, run_id)
    work = Queue(target.queue_url).depths() if target.queue_url else None
    dead = Queue(target.dlq_url).depths() if target.dlq_url else None
    if args.json:
        document = ledger.as_dict()
        document["queues"] = {
            name: None if depths is None else asdict(depths)
            for name, depths in (("work", work), ("dead_letter", dead))
        }
        print(json.dumps(document, indent=2))
    else:
        state = "complete" if ledger.complete else "NOT complete"
        print(f"Run {run_id}: {state}")
        print(render.table(render.ledger_rows(ledger) + render.depth_rows(work, dead)))
    return EXIT_OK if ledger.complete else EXIT_NOT_DONE


def cmd_demo(args: argparse.Namespace) -> int:
    # moto is imported only when the emulator starts: ask for it up front.
    if importlib.util.find_spec("moto") is None:
        raise CommandError("the demo needs the emulator: pip install 'credreports[local]'")
    from credreports.local import checkout, emulator
    from credreports.local.demo import run_demo

    try:
        checkout.require()
    except checkout.CheckoutNotFoundError as exc:
        raise CommandError(str(exc)) from exc
    started = time.monotonic()
    out_dir = Path(args.out)
    print(
        f"credreports demo: an organization of {args.accounts} accounts on the embedded "
        "AWS emulator (moto, 127.0.0.1); nothing leaves this machine.\n"
        "The organization is synthetic: made-up accounts and users, with ages and root "
        "users written into the emulator's reports."
    )
    progress = render.ProgressLine(sys.stdout)
    with emulator.running():
        result = run_demo(args.accounts, out_dir, on_progress=progress.update)
        assert result.store is not None
        names = {a.id: a.name for a in result.organization.accounts.values()}
        shown = findings.demo_findings(result.store, result.run_id, out_dir, names)
    progress.finish()
    elapsed = time.monotonic() - started
    ledger = result.ledger
    manifest = ledger.manifest
    assert manifest is not None
    skipped = manifest.skipped_by_state()
    seen = len(manifest.accounts) + len(manifest.skipped) + len(manifest.excluded)
    rows = [
        ("run", ledger.run_id),
        ("resources", "from template.yaml"),
        ("accounts seen", str(seen)),
        ("skipped by state", render.counts(skipped)),
        ("excluded", f"{len(manifest.excluded)} (the Sandbox OU)"),
        ("reports stored", str(len(ledger.reports))),
        ("failures", str(len(ledger.failures))),
    ]
    rows += [
        (f"  {reason}", str(len(accounts)))
        for reason, accounts in ledger.failures_by_reason().items()
    ]
    if ledger.outstanding:
        rows.append(("outstanding", " ".join(ledger.outstanding)))
    rows.append(("elapsed", f"{elapsed:.1f} s"))
    print()
    print(render.table(rows))
    print()
    print(
        f"Wrote {len(ledger.reports)} report CSVs, {len(ledger.failures)} failure records "
        f"and the manifest under {out_dir}/ (the bucket's own layout)."
    )
    print(f"Wrote every finding (json, OCSF): {' '.join(str(p) for p in shown.files)}")
    print(f"\n{shown.table}")
    return EXIT_OK if ledger.complete else EXIT_NOT_DONE


# --- the parser -----------------------------------------------------------------

TARGET_HELP = (
    "The stack is named by --stack (or $CREDREPORTS_STACK) and read from CloudFormation; "
    "--queue-url, --bucket, ... override its outputs."
)


def _command(
    commands: Any, name: str, summary: str, description: str, examples: str
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=f"{summary}\n\n{description}",
        epilog=f"example:\n{examples}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="credreports",
        description="Collect the IAM credential report of every active account of an AWS "
        "Organization into one S3 bucket, and operate the pipeline that does it.",
        epilog="example:\n  credreports demo\n  credreports status --stack credreports",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = _command(
        commands,
        "demo",
        "Run the whole pipeline once on the embedded AWS emulator.",
        "Starts a moto server on 127.0.0.1, seeds an organization (nested OUs, suspended\n"
        "accounts, IAM users with and without MFA, second and unused access keys),\n"
        "creates the stack's resources from template.yaml, runs the real handlers,\n"
        "and writes every report CSV and failure record under --out.",
        "  credreports demo --accounts 50 --out /tmp/credreports-demo",
    )
    demo.add_argument(
        "--accounts",
        type=_positive,
        default=DEMO_DEFAULT_ACCOUNTS,
        help=f"accounts in the organization, the management account included "
        f"(default {DEMO_DEFAULT_ACCOUNTS})",
    )
    demo.add_argument(
        "--out", default="demo-output", help="directory for the CSVs (default demo-output)"
    )

    start = _command(
        commands,
        "start",
        "Start a run: invoke the deployed producer.",
        "With no --account, a full run of the organization (as the schedule does); with\n"
        "--account, a manual run of just those accounts. Prints the run id and counts.\n"
        + TARGET_HELP,
        "  credreports start --stack credreports\n"
        "  credreports start --stack credreports --account 111122223333",
    )
    start.add_argument(
        "--account", action="append", metavar="ID", help="collect only this account (repeatable)"
    )

    enqueue = _command(
        commands,
        "enqueue",
        "Send single accounts to the work queue (trigger=manual).",
        "Every id must be 12 digits; if one is not, the command names it and sends\n"
        "nothing. Without --run the accounts form a new run with its own manifest;\n"
        "with --run they join that run.\n" + TARGET_HELP,
        "  credreports enqueue 111122223333 444455556666 --stack credreports\n"
        "  credreports enqueue 111122223333 --run 20261123T020000Z --stack credreports",
    )
    enqueue.add_argument("account_ids", nargs="+", metavar="ACCOUNT_ID")
    enqueue.add_argument("--run", type=_run_id, metavar="RUN_ID", help="add to this run")

    replay = _command(
        commands,
        "replay",
        "Send the failed accounts of a run again, with a fresh attempt counter.",
        "Reads the run's failure records (latest run unless --run), sends each chosen\n"
        "account again with trigger=replay, and marks its record replayed so a second\n"
        "replay does not send it again. Fix the cause first (see the troubleshooting\n"
        "section of the README for each reason code).\n" + TARGET_HELP,
        "  credreports replay --reason ROLE_ASSUME_DENIED --dry-run --stack credreports\n"
        "  credreports replay --run 20261123T020000Z --account 111122223333",
    )
    replay.add_argument("--run", type=_run_id, metavar="RUN_ID", help="default: the latest run")
    replay.add_argument(
        "--account", action="append", metavar="ID", help="only this account (repeatable)"
    )
    replay.add_argument(
        "--reason", action="append", type=_reason, metavar="CODE", help="only this reason code"
    )
    replay.add_argument("--dry-run", action="store_true", help="say what would be sent; send none")

    status = _command(
        commands,
        "status",
        "Show the ledger of a run; exit 0 only when it is complete.",
        "Accounts in the manifest, reports stored, failures by reason, accounts still\n"
        "outstanding, and the queues' depths. Exit code 0 when every account of the\n"
        "run is a report or a failure record, 1 otherwise: usable as a pipeline gate.\n"
        + TARGET_HELP,
        "  credreports status --stack credreports\n"
        "  credreports status --run 20261123T020000Z --json | jq .counts",
    )
    status.add_argument("--run", type=_run_id, metavar="RUN_ID", help="default: the latest run")
    status.add_argument("--json", action="store_true", help="print the ledger as JSON")

    for command in (start, enqueue, replay, status):
        add_target_options(command)
    findings.register(commands)
    return parser


HANDLERS = {
    "start": cmd_start,
    "enqueue": cmd_enqueue,
    "replay": cmd_replay,
    "status": cmd_status,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit code (the console script exits with it)."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            return cmd_demo(args)
        if args.command == "findings":
            return findings.cmd_findings(args)
        if args.profile or args.region:
            boto3.setup_default_session(profile_name=args.profile, region_name=args.region)
        return HANDLERS[args.command](args, resolve(args))
    except (InvalidAccountIdsError, InvalidRunIdError, TargetError) as exc:
        print(f"credreports {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except (
        CommandError,
        LedgerError,
        StackNotFoundError,
        InvocationError,
        DeliveryError,
        CollectionError,
    ) as exc:
        print(f"credreports {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_NOT_DONE
