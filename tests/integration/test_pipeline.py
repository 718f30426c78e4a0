"""The pipeline end to end on the emulator: producer → work queue → worker →
S3, and DLQ → dlq_handler → S3 failures + SNS, through the local loop."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime

import boto3
import pytest

from credreports.local.pipeline import LocalPipeline
from credreports.local.resources import Resources
from credreports.local.seed import SeededOrganization, seed_organization
from tests.support.builders import start_scheduled
from tests.support.emulator import (
    list_keys,
    queue_depth,
    read_notifications,
    subscribe_queue_to_topic,
)
from tests.support.faults import Faults
from tests.support.ledger import assert_every_account_accounted_for, run_to_the_end


def report_users(bucket: str, key: str) -> set[str]:
    body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    return {row["user"] for row in csv.DictReader(io.StringIO(body))}


@pytest.fixture
def org() -> SeededOrganization:
    return seed_organization(32, suspended=2)


def test_full_run_collects_every_active_account_except_excluded(
    stack: Resources, org: SeededOrganization
) -> None:
    # Given 33 accounts (32 members + management) in nested OUs, 2 suspended, 1 excluded
    excluded = sorted(org.ids())[5]
    pipeline = LocalPipeline(stack, {"EXCLUDE_ACCOUNT_IDS": excluded})

    # When the daily schedule fires
    summary = start_scheduled(pipeline, "2026-11-23T02:00:00Z")
    pipeline.drain()

    # Then exactly the other active accounts have a report at the documented key (README)
    expected = org.ids() - {excluded}
    assert summary["run_id"] == "20261123T020000Z"
    assert summary["enqueued"] == len(expected) == 30
    assert summary["skipped_by_state"] == {"SUSPENDED": 2}
    assert summary["excluded"] == 1
    outcome = assert_every_account_accounted_for(stack.bucket, summary["run_id"], expected)
    assert set(outcome.reports) == expected and not outcome.failures
    for account_id, key in outcome.reports.items():
        assert key == (
            f"reports/date=2026-11-23/run=20261123T020000Z/account={account_id}"
            "/credential-report.csv"
        )
        # ...whose rows are that account's own IAM users
        assert report_users(stack.bucket, key) == set(org.accounts[account_id].users)
    # ...the manifest lists them, and says what was left out and why
    assert outcome.manifest is not None
    assert set(outcome.manifest.accounts) == expected
    assert set(outcome.manifest.skipped_states()) == org.ids("SUSPENDED")
    assert outcome.manifest.excluded == (excluded,)
    # ...and each report says when IAM generated it, for which run, after how many polls
    head = boto3.client("s3").head_object(
        Bucket=stack.bucket, Key=outcome.reports[excluded_not(expected)]
    )
    assert head["Metadata"]["run-id"] == "20261123T020000Z"
    assert head["Metadata"]["attempts"] == "2"  # moto: STARTED, then COMPLETE
    assert datetime.fromisoformat(head["Metadata"]["generated-time"]).tzinfo is not None


def excluded_not(accounts: set[str]) -> str:
    return sorted(accounts)[0]


def test_include_and_exclude_ous_walk_nested_ous(stack: Resources, org: SeededOrganization) -> None:
    # Given: include Workloads (which nests Prod/Payments and NonProd), exclude Prod
    pipeline = LocalPipeline(
        stack,
        {
            "INCLUDE_OU_IDS": f"{org.ou_ids['Workloads']},{org.ou_ids['Security']}",
            "EXCLUDE_OU_IDS": org.ou_ids["Workloads/Prod"],
        },
    )

    # When a run starts
    summary = pipeline.start()
    pipeline.drain()

    # Then the accounts of Workloads (all depths) and Security, less Prod and below
    wanted = (org.under("Workloads") | org.under("Security")) - org.under("Workloads/Prod")
    expected = wanted & org.ids()
    assert org.under("Workloads/Prod/Payments"), "the fixture must nest accounts 3 levels down"
    assert expected and summary["enqueued"] == len(expected)
    outcome = assert_every_account_accounted_for(stack.bucket, summary["run_id"], expected)
    assert set(outcome.reports) == expected


def test_report_that_never_completes_fails_with_one_digest(
    stack: Resources, faults: Faults
) -> None:
    # Given an account whose report never completes, and MAX_ATTEMPTS=4
    org = seed_organization(3, ous={})
    stuck = sorted(org.ids())[1]
    faults.never_ready({stuck})
    digest_queue = subscribe_queue_to_topic(stack.topic_arn)
    pipeline = LocalPipeline(stack, {"MAX_ATTEMPTS": "4"})

    # When the run completes
    summary, outcome = run_to_the_end(pipeline, org.ids())

    # Then that account has a REPORT_NOT_READY failure after exactly 4 attempts
    assert set(outcome.failures) == {stuck}
    record = outcome.failures[stuck]
    assert record["reason"] == "REPORT_NOT_READY"
    assert record["attempts"] == 4
    assert faults.fired["never_ready"] == 4
    # ...and exactly one SNS digest names it
    digests = read_notifications(digest_queue)
    assert len(digests) == 1
    digest = digests[0]
    assert digest["subject"] == f"credreports: 1 account failed in run {summary['run_id']}"
    assert [f["account_id"] for f in digest["body"]["failures"]] == [stuck]
    assert digest["body"]["failures"][0]["reason"] == "REPORT_NOT_READY"
    assert digest["body"]["failures"][0]["attempts"] == 4
    assert json.loads(digest["attributes"]["reason_codes"]["Value"]) == ["REPORT_NOT_READY"]


def test_denied_assume_role_fails_at_once_without_retries(stack: Resources, faults: Faults) -> None:
    # Given an account where the member role cannot be assumed
    org = seed_organization(4, ous={})
    denied = sorted(org.ids())[2]
    faults.deny("sts.AssumeRole", {denied})
    pipeline = LocalPipeline(stack)

    # When the run completes
    _, outcome = run_to_the_end(pipeline, org.ids())

    # Then it fails with ROLE_ASSUME_DENIED after one attempt; the others have reports
    assert set(outcome.failures) == {denied}
    assert outcome.failures[denied]["reason"] == "ROLE_ASSUME_DENIED"
    assert outcome.failures[denied]["attempts"] == 1
    assert "AccessDenied" in outcome.failures[denied]["detail"]
    assert faults.fired["deny:sts.AssumeRole"] == 1
    assert len(outcome.reports) == len(org.ids()) - 1


def test_worker_that_crashes_on_one_account_is_redriven_to_the_dlq(
    stack: Resources, faults: Faults
) -> None:
    # Given a worker that raises (not an AWS error) for one account, every time
    org = seed_organization(3, ous={})
    crashing = sorted(org.ids())[0]
    faults.crash("iam.GenerateCredentialReport", {crashing})
    pipeline = LocalPipeline(stack)

    # When the run completes (maxReceiveCount=3 on the work queue)
    _, outcome = run_to_the_end(pipeline, org.ids())

    # Then SQS moved it to the DLQ after 3 receives, and its record says WORKER_CRASHED
    assert set(outcome.failures) == {crashing}
    record = outcome.failures[crashing]
    assert record["reason"] == "WORKER_CRASHED"
    assert faults.fired["crash:iam.GenerateCredentialReport"] == 3
    assert set(outcome.reports) == org.ids() - {crashing}


def test_reenqueued_message_carries_next_attempt_and_configured_delay(stack: Resources) -> None:
    # Given a worker configured with a 2 s retry delay, and one account
    org = seed_organization(0, ous={})
    (account,) = org.ids()
    pipeline = LocalPipeline(stack, {"RETRY_DELAY_SECONDS": "2"})
    pipeline.start({"account_ids": [account]})

    # When the worker polls once (moto answers STARTED on the first Generate)
    sqs = boto3.client("sqs")
    requeued_at = time.monotonic()  # no later than the re-enqueue
    assert pipeline.loop.poll(pipeline.loop.subscriptions["worker"]) == 1

    # Then the queue holds one delayed message that cannot be received yet
    attributes = sqs.get_queue_attributes(QueueUrl=stack.work_queue_url, AttributeNames=["All"])[
        "Attributes"
    ]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert "Messages" not in sqs.receive_message(QueueUrl=stack.work_queue_url)
    # ...and once the delay has passed, it is the same account with attempt 1
    message = None
    while message is None and time.monotonic() - requeued_at < 10:
        time.sleep(0.25)
        message = (sqs.receive_message(QueueUrl=stack.work_queue_url).get("Messages") or [None])[0]
    assert message is not None, "the re-enqueued message never became visible"
    assert time.monotonic() - requeued_at >= 2
    body = json.loads(message["Body"])
    assert (body["account_id"], body["attempt"], body["trigger"]) == (account, 1, "manual")
    # ...and, left to the loop, that attempt stores the report
    run_id = body["run_id"]
    pipeline.drain()
    outcome = assert_every_account_accounted_for(stack.bucket, run_id, {account})
    assert set(outcome.reports) == {account}


def test_manual_run_rejects_malformed_ids_and_enqueues_exactly_the_given(
    stack: Resources,
) -> None:
    org = seed_organization(5, ous={})
    pipeline = LocalPipeline(stack)
    chosen = sorted(org.ids())[1:3]

    # When a manual run names malformed ids, the whole request is refused with
    # an answer naming each (an exception would only make Lambda retry it)
    rejected = pipeline.start({"account_ids": [chosen[0], "1234", "12345678901x"]})
    assert rejected["error"] == "ProducerEventError"
    assert "'1234', '12345678901x'" in rejected["message"]
    assert chosen[0] not in rejected["message"]
    # ...and nothing was sent or written
    assert queue_depth(stack.work_queue_url) == 0
    assert list_keys(stack.bucket, "") == []

    # When the ids are valid, exactly those accounts are enqueued and collected
    summary = pipeline.start({"account_ids": chosen})
    assert summary["trigger"] == "manual" and summary["enqueued"] == 2
    pipeline.drain()
    outcome = assert_every_account_accounted_for(stack.bucket, summary["run_id"], set(chosen))
    assert set(outcome.reports) == set(chosen)


def test_two_runs_the_same_day_keep_both_sets_of_reports(stack: Resources) -> None:
    org = seed_organization(3, ous={})
    pipeline = LocalPipeline(stack)

    # When the schedule fires twice on one day
    first = start_scheduled(pipeline, "2026-11-23T02:00:00Z")
    pipeline.drain()
    second = start_scheduled(pipeline, "2026-11-23T14:00:00Z")
    pipeline.drain()

    # Then each run has its own complete set of reports in the same date partition
    assert first["run_id"] != second["run_id"]
    for summary in (first, second):
        outcome = assert_every_account_accounted_for(stack.bucket, summary["run_id"], org.ids())
        assert set(outcome.reports) == org.ids()
    assert len(list_keys(stack.bucket, "reports/date=2026-11-23/")) == 2 * len(org.ids())


def test_run_date_comes_from_the_run_not_the_clock(stack: Resources) -> None:
    # A run scheduled just before midnight stays in its own date partition
    org = seed_organization(1, ous={})
    pipeline = LocalPipeline(stack)
    summary = start_scheduled(pipeline, "2026-11-22T23:59:59Z")
    pipeline.drain()
    assert datetime.now(UTC).date().isoformat() != "2026-11-22"
    outcome = assert_every_account_accounted_for(stack.bucket, summary["run_id"], org.ids())
    assert set(outcome.reports) == org.ids()
    assert all("/date=2026-11-22/" in key for key in outcome.reports.values())
