"""Bad input, one row each: a named outcome, and nothing else lost.

A bad body on the work queue ends as an INVALID_MESSAGE failure record whose
detail names the problem, while the good message beside it gets its report.
"""

from __future__ import annotations

import boto3
import pytest

from credreports.local.pipeline import LocalPipeline
from credreports.local.resources import Resources
from credreports.local.seed import seed_organization
from tests.support.builders import RUN_ID, work_body
from tests.support.emulator import list_keys, queue_depth, read_json
from tests.support.ledger import assert_every_account_accounted_for

ACCOUNT = "999988887777"
# row -> (body, the problem its record names, the (account, run) salvaged from it)
BAD_BODIES = {
    "malformed JSON": ('{"v": 1, "account_id": "999988887777"', "body is not JSON", (None, None)),
    "unknown message version": (
        work_body(ACCOUNT, v=2),
        "unknown message version 2",
        (ACCOUNT, RUN_ID),
    ),
    "missing field": (work_body(ACCOUNT, run_id=...), "run_id: missing", (ACCOUNT, None)),
    "extra field": (
        work_body(ACCOUNT, priority="high"),
        "priority: unexpected field",
        (ACCOUNT, RUN_ID),
    ),
    "malformed account id": (
        work_body("99998888777"),
        "'99998888777' is not 12 digits",
        (None, RUN_ID),
    ),
    "oversized body": (
        work_body(ACCOUNT, note="x" * 20_000),
        "over the 8192 limit",
        (ACCOUNT, RUN_ID),
    ),
    "unknown trigger": (
        work_body(ACCOUNT, trigger="cron"),
        "trigger: Input should be",
        (ACCOUNT, RUN_ID),
    ),
}


@pytest.mark.parametrize("row", sorted(BAD_BODIES))
def test_bad_body_becomes_an_invalid_message_record_naming_the_problem(
    stack: Resources, row: str
) -> None:
    # Given a bad body between two good ones in the same batch
    org = seed_organization(1, ous={})
    first, second = sorted(org.ids())
    bad, problem, (account, run) = BAD_BODIES[row]
    boto3.client("sqs").send_message_batch(
        QueueUrl=stack.work_queue_url,
        Entries=[
            {"Id": "first", "MessageBody": work_body(first)},
            {"Id": "bad", "MessageBody": bad},
            {"Id": "second", "MessageBody": work_body(second)},
        ],
    )

    # When the pipeline runs
    LocalPipeline(stack).drain()

    # Then the bad body has one INVALID_MESSAGE record naming the problem, with
    # the account and run that could still be read from it...
    (key,) = list_keys(stack.bucket, "failures/")
    record = read_json(stack.bucket, key)
    assert record["reason"] == "INVALID_MESSAGE"
    assert problem in record["detail"]
    assert (record["account_id"], record["run_id"]) == (account, run)
    # ...filed beside its run when both could be read, else under run=unknown
    filed_beside_run = account is not None and run is not None
    assert ("/run=unknown/" not in key) is filed_beside_run
    # ...and the good accounts beside it have their reports
    salvaged = {account} if filed_beside_run else set()
    outcome = assert_every_account_accounted_for(stack.bucket, RUN_ID, {first, second} | salvaged)
    assert set(outcome.reports) == {first, second}


def test_worker_with_an_invalid_setting_fails_the_batch_and_keeps_the_messages(
    stack: Resources,
) -> None:
    # A misconfigured worker must not eat messages: the batch stays on the queue.
    org = seed_organization(0, ous={})
    (account,) = org.ids()
    pipeline = LocalPipeline(stack, {"RETRY_DELAY_SECONDS": "3600"})
    boto3.client("sqs").send_message(QueueUrl=stack.work_queue_url, MessageBody=work_body(account))
    pipeline.loop.poll(pipeline.loop.subscriptions["worker"])
    assert pipeline.loop.stats.handler_errors == {"worker": 1}
    assert queue_depth(stack.work_queue_url) == 1  # invisible until redelivered
    # Once the setting is fixed, the same message is collected: nothing was lost.
    pipeline.configure(RETRY_DELAY_SECONDS="0")
    pipeline.drain()
    outcome = assert_every_account_accounted_for(stack.bucket, RUN_ID, {account})
    assert set(outcome.reports) == {account}
