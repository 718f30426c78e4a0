"""Nothing is lost under throttling, crashes, duplicates and failing writes.

Every fault here is injected on purpose by tests/support/faults.py.
"""

from __future__ import annotations

import json

import boto3
import pytest

from credreports.local.emulator import Emulator
from credreports.local.pipeline import LocalPipeline
from credreports.local.resources import Resources
from credreports.local.seed import seed_organization
from credreports.models.manifest import ManifestStatus
from tests.support.builders import start_scheduled
from tests.support.chaos import run_chaos
from tests.support.emulator import list_keys, read_notifications, subscribe_queue_to_topic
from tests.support.faults import Faults
from tests.support.ledger import (
    assert_announced_once,
    assert_every_account_accounted_for,
    read_run,
    run_to_the_end,
)

RUN_ID = "20261123T020000Z"


@pytest.mark.slow
def test_chaos_run_of_300_accounts_loses_nothing(emulator: Emulator) -> None:
    # Given 300 accounts, 2 with the role denied and 1 never ready, 30% of IAM/STS
    # calls throttled, 5% of deliveries duplicated, 10% of worker invocations
    # dying mid-batch; When the scheduled run completes
    result = run_chaos(emulator, 299)

    # Then every account ends as exactly one outcome, each failure with the right reason
    assert result.enqueued == 300 and result.lost == 0
    failures = {
        account: record["reason"]
        for account, record in result.outcome.failures.items()
        if account not in result.outcome.resolved
    }
    assert failures == {
        **dict.fromkeys(result.denied, "ROLE_ASSUME_DENIED"),
        **dict.fromkeys(result.stuck, "REPORT_NOT_READY"),
    }
    assert set(result.outcome.reports) == result.accounts - result.denied - result.stuck
    # ...and the faults did happen
    assert result.fired["throttle:sts.AssumeRole"] > 0
    assert result.fired["throttle:iam.GenerateCredentialReport"] > 30
    assert result.fired["duplicate_delivery"] > 5
    assert result.fired["crash_mid_batch"] > 3


def test_a_failed_listing_page_is_asked_again_from_its_token_not_from_page_1(
    stack: Resources, faults: Faults
) -> None:
    # Given an organization whose third page of accounts fails once
    org = seed_organization(59, direct=True)
    faults.fail("organizations.ListAccountsForParent", "ServiceException", 500, calls={3})
    pipeline = LocalPipeline(stack)

    # When the schedule fires
    summary, outcome = run_to_the_end(pipeline, org.ids(), scheduled_at="2026-11-23T02:00:00Z")

    # Then page 3 alone was asked again, and the run is whole
    assert faults.fired["fail:organizations.ListAccountsForParent"] == 1
    assert summary["enqueued"] == 60 and set(outcome.reports) == org.ids()
    assert outcome.manifest is not None and outcome.manifest.enqueued


def test_listing_failure_on_page_3_enqueues_nothing_and_a_retry_completes_the_run(
    stack: Resources, faults: Faults
) -> None:
    # Given an organization whose third page of accounts is refused
    org = seed_organization(59, direct=True)
    faults.fail("organizations.ListAccountsForParent", "AccessDeniedException", 400, calls={3})
    pipeline = LocalPipeline(stack)

    # When the schedule fires, the producer fails closed
    with pytest.raises(Exception, match="AccessDeniedException"):
        start_scheduled(pipeline)
    assert faults.fired["fail:organizations.ListAccountsForParent"] == 1
    sqs = boto3.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=stack.work_queue_url, AttributeNames=["All"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0"
    manifest = read_run(stack.bucket, RUN_ID).manifest
    assert manifest is not None
    assert manifest.status is ManifestStatus.LISTING_FAILED and manifest.accounts == ()
    assert "AccessDeniedException" in (manifest.error or "")

    # When Lambda retries the same scheduled event, the run completes once
    summary = start_scheduled(pipeline)
    pipeline.drain()
    assert summary["run_id"] == RUN_ID and summary["enqueued"] == 60
    outcome = assert_every_account_accounted_for(stack.bucket, RUN_ID, org.ids())
    assert set(outcome.reports) == org.ids()
    assert outcome.manifest is not None and outcome.manifest.enqueued


def test_producer_invoked_twice_for_one_scheduled_event_does_not_double_the_run(
    stack: Resources,
) -> None:
    org = seed_organization(12, direct=True)
    pipeline = LocalPipeline(stack)

    first = start_scheduled(pipeline)
    second = start_scheduled(pipeline)
    pipeline.drain()

    assert first["run_id"] == second["run_id"] == RUN_ID
    outcome = assert_every_account_accounted_for(stack.bucket, RUN_ID, org.ids())
    assert set(outcome.reports) == org.ids()
    assert len(list_keys(stack.bucket, "reports/")) == len(org.ids())
    manifests = [key for key in list_keys(stack.bucket, "runs/") if key.endswith("manifest.json")]
    assert len(manifests) == 1
    # ...and the second invocation found the run enqueued and sent nothing again
    assert second.get("already_enqueued") is True
    # ...and announced once
    assert_announced_once(pipeline, RUN_ID)


def test_duplicate_deliveries_of_a_denied_account_give_one_failure_record(
    stack: Resources, faults: Faults
) -> None:
    # Given every delivery duplicated, and one account denied
    org = seed_organization(4, direct=True)
    denied = sorted(org.ids())[0]
    faults.deny("sts.AssumeRole", {denied})
    faults.duplicate_deliveries(stack.work_queue_url, rate=1.0)
    pipeline = LocalPipeline(stack)
    # (each duplicate is itself received and duplicated: stop after the first wave)
    summary = pipeline.start()
    pipeline.loop.poll(pipeline.loop.subscriptions["worker"])
    faults.clear()
    faults.deny("sts.AssumeRole", {denied})
    pipeline.drain()

    # Then the denied account has one failure record, however often it was
    # delivered, and every other account (delivered twice too) one report
    outcome = assert_every_account_accounted_for(stack.bucket, summary["run_id"], org.ids())
    assert set(outcome.failures) == {denied}
    assert len(list_keys(stack.bucket, "failures/")) == 1
    assert set(outcome.reports) == org.ids() - {denied}
    assert faults.fired["duplicate_delivery"] >= len(org.ids())


def test_dead_letter_for_an_account_that_already_has_a_report_is_dropped(
    stack: Resources,
) -> None:
    # Given a run whose account has a report, and a stale crash copy on the DLQ
    org = seed_organization(0, ous={})
    (account,) = org.ids()
    pipeline = LocalPipeline(stack)
    summary = pipeline.start({"account_ids": [account]})
    pipeline.drain()
    stale = {
        "v": 1,
        "account_id": account,
        "run_id": summary["run_id"],
        "attempt": 0,
        "trigger": "manual",
        "enqueued_at": "2026-11-23T02:00:00Z",
    }
    boto3.client("sqs").send_message(
        QueueUrl=stack.dead_letter_queue_url, MessageBody=json.dumps(stale)
    )
    digests = subscribe_queue_to_topic(stack.topic_arn)

    # When the dlq_handler takes it
    pipeline.drain()

    # Then the report stands alone, and nobody is paged
    outcome = assert_every_account_accounted_for(stack.bucket, summary["run_id"], {account})
    assert set(outcome.reports) == {account}
    assert read_notifications(digests) == []


def test_transient_s3_failure_is_retried_and_denied_storage_fails_fast(
    stack: Resources, faults: Faults
) -> None:
    org = seed_organization(3, ous={})
    accounts = sorted(org.ids())
    pipeline = LocalPipeline(stack)
    summary = pipeline.start({"account_ids": accounts[:2]})
    faults.fail("s3.PutObject", "InternalError", 500, times=2)
    pipeline.drain()
    outcome = assert_every_account_accounted_for(stack.bucket, summary["run_id"], set(accounts[:2]))
    assert set(outcome.reports) == set(accounts[:2])

    assert faults.fired["fail:s3.PutObject"] == 2

    # the worker's puts are denied from now on; the dlq_handler's record must land
    faults.clear()
    summary = pipeline.start({"account_ids": [accounts[2]]})
    faults.fail("s3.PutObject", "AccessDenied", 403)
    pipeline.loop.subscriptions["dlq_handler"].handler = _with_faults_cleared(
        pipeline.loop.subscriptions["dlq_handler"].handler, faults
    )
    pipeline.drain()
    outcome = assert_every_account_accounted_for(stack.bucket, summary["run_id"], {accounts[2]})
    assert outcome.failures[accounts[2]]["reason"] == "STORAGE_DENIED"
    assert outcome.failures[accounts[2]]["attempts"] == 2


def _with_faults_cleared(handler, faults: Faults):  # type: ignore[no-untyped-def]
    def handle(event, context):  # type: ignore[no-untyped-def]
        rules = list(faults.rules)
        faults.rules.clear()
        try:
            return handler(event, context)
        finally:
            faults.rules.extend(rules)

    return handle


def test_failed_publish_keeps_the_records_until_the_digest_goes_out(
    stack: Resources, faults: Faults
) -> None:
    org = seed_organization(2, ous={})
    denied = sorted(org.ids())[1]
    faults.deny("sts.AssumeRole", {denied})
    faults.fail("sns.Publish", "InternalError", 500, times=1)
    digests = subscribe_queue_to_topic(stack.topic_arn)
    pipeline = LocalPipeline(stack)

    summary = pipeline.start()
    pipeline.drain()

    assert faults.fired["fail:sns.Publish"] == 1
    outcome = assert_every_account_accounted_for(stack.bucket, summary["run_id"], org.ids())
    assert set(outcome.failures) == {denied}
    received = read_notifications(digests)
    assert len(received) == 1
    assert [f["account_id"] for f in received[0]["body"]["failures"]] == [denied]
