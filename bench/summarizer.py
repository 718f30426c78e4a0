"""``python -m bench.summarizer``: the summarizer over one run of 10,000
accounts of 20 users each (synthetic reports in the real format), compared
with the previous run's findings: wall time and peak RSS of the summarizer's
own process (goal: within a 512 MB function, well inside its 15 minutes).

The emulator runs in a process of its own (bench.emulator_process); the
summarizer runs in another (bench.summarizer_probe), so the peak RSS is the
function's alone. Two runs are stored: the previous one (summarized first,
which writes the findings file the comparison reads) and the measured one,
where 1 account in 100 has different users.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import boto3

from bench.emulator_process import REPO, separate_emulator
from bench.fixtures import synthetic_report
from credreports import layout
from credreports.adapters.storage import ReportStore
from credreports.local import emulator, resources
from credreports.models.codes import Trigger
from credreports.models.manifest import ManifestStatus, RunManifest
from credreports.models.run_check import CheckOrigin, RunCheck

PREVIOUS = "20261122T020000Z"
CURRENT = "20261123T020000Z"
UPLOADERS = 32
GOAL_MB = 512


def account_ids(count: int) -> list[str]:
    return [f"{100000000000 + index * 7919:012d}" for index in range(count)]


def store_run(
    store: ReportStore, run_id: str, accounts: list[str], users: int, changed_every: int
) -> None:
    """The run's manifest and one report per account (every ``changed_every``-th
    account's users differ from the previous run's)."""
    generated = datetime.strptime(run_id, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).isoformat()

    def put(indexed: tuple[int, str]) -> None:
        index, account_id = indexed
        seed = index + (1 if changed_every and index % changed_every == 0 else 0) * 1_000_003
        content = synthetic_report(account_id, users, seed=seed).encode()
        store.put_report(run_id, account_id, content, {"generated-time": generated})

    with ThreadPoolExecutor(max_workers=UPLOADERS) as pool:
        list(pool.map(put, enumerate(accounts)))
    manifest = RunManifest(
        run_id=run_id,
        trigger=Trigger.SCHEDULE,
        created_at=datetime.strptime(run_id, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC),
        status=ManifestStatus.ENQUEUED,
        accounts=tuple(accounts),
    )
    store.put_json(layout.manifest_key(store.prefix, run_id), manifest.to_document())


def summarize(stack: resources.Resources, run_id: str) -> dict[str, Any]:
    """The summarizer, in a process of its own, over ``run_id``."""
    check = RunCheck(run_id=run_id, issued_at=datetime.now(UTC), origin=CheckOrigin.RUN)
    queue_arn = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.control_queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    environment = {
        **os.environ,
        **stack.environment(),
        "PYTHONPATH": str(REPO),
        "LOG_LEVEL": "WARNING",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    probe = subprocess.run(
        [sys.executable, "-m", "bench.summarizer_probe"],
        input=json.dumps({"body": check.to_body(), "queue_arn": queue_arn}),
        capture_output=True,
        text=True,
        cwd=REPO,
        env=environment,
        timeout=3600,
        check=True,
    )
    figures: dict[str, Any] = json.loads(probe.stdout.strip().splitlines()[-1])
    summary = json.loads(
        boto3.client("s3")
        .get_object(Bucket=stack.bucket, Key=layout.summary_key("", run_id))["Body"]
        .read()
    )
    figures["complete"] = summary["complete"]
    figures["reports"] = summary["counts"]["reports"]
    figures["failing_results"] = sum(r["failed_results"] for r in summary["findings"].values())
    figures["new"] = summary["new_count"]
    figures["resolved"] = summary["resolved_count"]
    head = boto3.client("s3").head_object(Bucket=stack.bucket, Key=summary["keys"]["findings"])
    figures["findings_file_mb"] = head["ContentLength"] / 1e6
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.summarizer")
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=20)
    args = parser.parse_args()
    began = time.perf_counter()
    local = emulator.start()  # the environment (dummy credentials) for the child's server
    try:
        with separate_emulator():
            stack = resources.create("bench")
            store = ReportStore(stack.bucket)
            accounts = account_ids(args.accounts)
            seeding = time.perf_counter()
            store_run(store, PREVIOUS, accounts, args.users, changed_every=0)
            store_run(store, CURRENT, accounts, args.users, changed_every=100)
            seeded = time.perf_counter() - seeding
            previous = summarize(stack, PREVIOUS)
            current = summarize(stack, CURRENT)
    finally:
        emulator.stop(local)
    result = {
        "accounts": args.accounts,
        "users_per_account": args.users,
        "seeding_seconds": seeded,
        "previous_run": previous,
        "measured_run": current,
        "bench_seconds": time.perf_counter() - began,
        "goal_peak_rss_mb": GOAL_MB,
    }
    print(json.dumps(result, indent=2))
    verdict = "within" if current["peak_rss_mb"] <= GOAL_MB else "OVER"
    print(
        f"summarizer, {args.accounts} accounts x {args.users} users: "
        f"{current['wall_seconds']:.0f} s, peak RSS {current['peak_rss_mb']:.0f} MB "
        f"({verdict} the {GOAL_MB} MB goal), {current['new']} new and "
        f"{current['resolved']} resolved findings"
    )


if __name__ == "__main__":
    main()
