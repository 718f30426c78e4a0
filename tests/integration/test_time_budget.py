"""The worker keeps time on the emulator (issue 11, item 1, must show 1): a
call that hangs past the invocation's remaining time holds neither the
invocation nor its neighbours, and the local loop fails an invocation still
running at the function's timeout, as Lambda does."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3

from credreports.local.event_source import EventSourceLoop
from credreports.local.pipeline import LocalPipeline
from credreports.local.resources import Resources
from credreports.local.seed import seed_organization
from credreports.logic.worker.batch import SEND_MARGIN_SECONDS
from tests.integration.conftest import VISIBILITY_TIMEOUT_SECONDS
from tests.support.faults import Faults
from tests.support.ledger import assert_every_account_accounted_for

# The worker's timeout in these tests: 2 s of budget after the send margin.
TIMEOUT = SEND_MARGIN_SECONDS + 2
# Longer than the whole invocation: without a budget the batch would time out.
HANG = TIMEOUT + 2


def _work_bodies(queue_url: str) -> dict[str, dict[str, Any]]:
    """The visible work messages by account (taken in flight for the queue's
    visibility timeout; they come back after it)."""
    sqs = boto3.client("sqs")
    bodies: dict[str, dict[str, Any]] = {}
    for _ in range(3):
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
        for message in answer.get("Messages", []):
            body = json.loads(message["Body"])
            bodies[body["account_id"]] = body
    return bodies


def test_an_iam_call_that_hangs_past_the_time_left_does_not_hold_its_batch(
    stack: Resources, faults: Faults
) -> None:
    # Given a batch of 10 accounts, one of whose GenerateCredentialReport hangs
    # longer than the invocation has
    org = seed_organization(9, ous={})
    accounts = sorted(org.ids())
    slow = accounts[4]
    faults.latency(HANG, {"iam.GenerateCredentialReport"}, accounts={slow}, times=1)
    pipeline = LocalPipeline(stack, worker_timeout_seconds=TIMEOUT)
    summary = pipeline.start()

    # When the batch is delivered
    delivered = pipeline.loop.poll(pipeline.loop.subscriptions["worker"])

    # Then the handler returned within its budget, not at the timeout
    stats = pipeline.loop.stats
    assert delivered == 10 and faults.fired["latency:iam.GenerateCredentialReport"] == 1
    assert stats.timeouts.get("worker", 0) == 0 and stats.handler_errors.get("worker", 0) == 0
    (took,) = stats.durations["worker"]
    assert took < TIMEOUT - SEND_MARGIN_SECONDS / 2, took
    # ...only the slow account's record went back to SQS, with nothing sent for it
    assert stats.failed_records["worker"] == 1
    time.sleep(VISIBILITY_TIMEOUT_SECONDS + 0.1)  # the slow record is visible again
    by_account = {a: body["attempt"] for a, body in _work_bodies(stack.work_queue_url).items()}
    # ...every other account settled: re-enqueued with its poll counted
    assert by_account == {**dict.fromkeys(org.ids() - {slow}, 1), slow: 0}

    # When the run goes on, the slow account is collected on its next delivery
    pipeline.drain()
    outcome = assert_every_account_accounted_for(stack.bucket, summary["run_id"], org.ids())
    assert set(outcome.reports) == org.ids()
    assert stats.timeouts.get("worker", 0) == 0


def test_a_handler_still_running_at_its_timeout_fails_its_whole_batch(stack: Resources) -> None:
    # Given a handler that outlives its function's timeout
    sqs = boto3.client("sqs")
    for index in range(3):
        sqs.send_message(QueueUrl=stack.work_queue_url, MessageBody=f"message {index}")
    calls: list[int] = []

    def slow_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls.append(len(event["Records"]))
        if len(calls) == 1:
            time.sleep(1.5)
        return {"batchItemFailures": []}

    loop = EventSourceLoop()
    loop.subscribe(stack.work_queue_url, slow_handler, "worker", timeout_seconds=0.5)

    # When the loop delivers the batch
    started = time.monotonic()
    loop.poll(loop.subscriptions["worker"])

    # Then it stops waiting at the timeout and the whole batch comes back
    assert time.monotonic() - started < 1.2
    assert loop.stats.timeouts == {"worker": 1} and loop.stats.failed_records == {"worker": 3}
    loop.run_until_idle(timeout_seconds=20)
    assert calls == [3, 3]
