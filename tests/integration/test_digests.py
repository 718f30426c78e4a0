"""A failure storm is a handful of digests, not a hundred (issue 11, item 7,
must show 4): 500 accounts of one run fail with the same reason (a bucket
policy mistake gives STORAGE_DENIED for all); the dlq_handler, delivered
batches by the local loop, records each and sends at most one digest per run
and window."""

from __future__ import annotations

import time

import boto3
import pytest

from credreports.local.pipeline import LocalPipeline
from credreports.local.resources import Resources
from credreports.models.codes import Reason
from tests.support.builders import RUN_ID, dead_letter_body
from tests.support.emulator import read_notifications, subscribe_queue_to_topic
from tests.support.ledger import assert_every_account_accounted_for

ACCOUNTS = [f"{100000000000 + index}" for index in range(500)]
WINDOW = 20


@pytest.mark.slow
def test_five_hundred_failures_of_one_reason_are_a_handful_of_digests(stack: Resources) -> None:
    # Given 500 dead letters of one run, all STORAGE_DENIED, as the worker sends them
    sqs = boto3.client("sqs")
    for start in range(0, len(ACCOUNTS), 10):
        sqs.send_message_batch(
            QueueUrl=stack.dead_letter_queue_url,
            Entries=[
                {"Id": str(i), "MessageBody": dead_letter_body(account, Reason.STORAGE_DENIED)}
                for i, account in enumerate(ACCOUNTS[start : start + 10])
            ],
        )
    inbox = subscribe_queue_to_topic(stack.topic_arn)
    pipeline = LocalPipeline(
        stack,
        {"DIGEST_INTERVAL_SECONDS": str(WINDOW)},
        dlq_batch_size=100,
        dlq_batching_window_seconds=0.5,
    )

    # When the dlq_handler works through them
    started = time.monotonic()
    stats = pipeline.drain(timeout_seconds=300)
    took = time.monotonic() - started

    print(f"\ndrained in {took:.0f} s, {stats.invocations}")
    # Then every account has its failure record with the reason
    outcome = assert_every_account_accounted_for(stack.bucket, RUN_ID, set(ACCOUNTS))
    assert {record["reason"] for record in outcome.failures.values()} == {"STORAGE_DENIED"}
    # ...there was at most one digest per window of the run, a handful in all
    digests = read_notifications(inbox)
    print(f"{len(digests)} digests: {[d['subject'] for d in digests]}")
    assert stats.invocations["dlq_handler"] >= 5
    assert 1 <= len(digests) <= took // WINDOW + 2, (len(digests), took)
    assert len(digests) <= 5
    # ...the last one counts every failure of the run, and says where they are
    last = digests[-1]["body"]
    assert last["failures_recorded_in_run"] == 500
    assert last["failure_records"].endswith(f"run={RUN_ID}/")
    assert last["status_command"] == f"credreports status --run {RUN_ID}"
    # ...and every failed account is named in a digest or in its failure record
    named = {f["account_id"] for d in digests for f in d["body"]["failures"]}
    assert named <= set(outcome.failures) == set(ACCOUNTS)
    assert all(d["body"]["by_reason"].keys() == {"STORAGE_DENIED"} for d in digests)
