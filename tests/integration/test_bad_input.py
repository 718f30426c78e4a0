"""Bad input, one row each: a named outcome, and nothing else lost.

A bad body on the work queue ends as an INVALID_MESSAGE failure record whose
detail names the problem, while the good message beside it gets its report.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from credreports.local.pipeline import LocalPipeline
from credreports.local.resources import Resources
from credreports.local.seed import seed_organization
from tests.support.ledger import assert_every_account_accounted_for

RUN_ID = "20261123T020000Z"


def work_body(account_id: str, **overrides: Any) -> str:
    fields: dict[str, Any] = {
        "v": 1,
        "account_id": account_id,
        "run_id": RUN_ID,
        "attempt": 0,
        "trigger": "manual",
        "enqueued_at": "2026-11-23T02:00:01Z",
    }
    fields.update(overrides)
    return json.dumps({k: v for k, v in fields.items() if v is not ...})


BAD_BODIES = {
    "malformed JSON": ('{"v": 1, "account_id": "999988887777"', "body is not JSON"),
    "unknown message version": (work_body("999988887777", v=2), "unknown message version 2"),
    "missing field": (work_body("999988887777", run_id=...), "run_id: missing"),
    "extra field": (work_body("999988887777", priority="high"), "priority: unexpected field"),
    "malformed account id": (work_body("99998888777"), "'99998888777' is not 12 digits"),
    "oversized body": (work_body("999988887777", note="x" * 20_000), "over the 8192 limit"),
    "unknown trigger": (work_body("999988887777", trigger="cron"), "trigger: Input should be"),
}


def failure_records(bucket: str) -> list[dict[str, Any]]:
    s3 = boto3.client("s3")
    keys = [
        item["Key"]
        for item in s3.list_objects_v2(Bucket=bucket, Prefix="failures/").get("Contents", [])
    ]
    return [json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()) for key in keys]


@pytest.mark.parametrize("row", sorted(BAD_BODIES))
def test_bad_body_becomes_an_invalid_message_record_naming_the_problem(
    stack: Resources, row: str
) -> None:
    # Given a bad body and a good one in the same batch
    org = seed_organization(0, ous={})
    (good,) = org.ids()
    bad, problem = BAD_BODIES[row]
    boto3.client("sqs").send_message_batch(
        QueueUrl=stack.work_queue_url,
        Entries=[
            {"Id": "bad", "MessageBody": bad},
            {"Id": "good", "MessageBody": work_body(good)},
        ],
    )

    # When the pipeline runs
    LocalPipeline(stack).drain()

    # Then the bad body has one INVALID_MESSAGE record naming the problem, filed
    # beside its run when its account id and run id can still be read...
    (record,) = failure_records(stack.bucket)
    assert record["reason"] == "INVALID_MESSAGE"
    assert problem in record["detail"]
    salvaged = {record["account_id"]} if record["account_id"] and record["run_id"] else set()
    assert salvaged <= {"999988887777"}
    # ...and the good account beside it has its report
    outcome = assert_every_account_accounted_for(stack.bucket, RUN_ID, {good} | salvaged)
    assert set(outcome.reports) == {good}


def test_producer_event_with_bad_ids_sends_nothing_and_names_them(stack: Resources) -> None:
    seed_organization(1, ous={})
    pipeline = LocalPipeline(stack)
    with pytest.raises(ValueError, match=r"'1234' , '12345678901a'|'1234', '12345678901a'"):
        pipeline.start({"account_ids": ["111122223333", "1234", "12345678901a"]})
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.work_queue_url, AttributeNames=["All"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=stack.bucket)


def test_worker_with_an_invalid_setting_fails_the_batch_and_keeps_the_messages(
    stack: Resources,
) -> None:
    # A misconfigured worker must not eat messages: the batch stays on the queue.
    org = seed_organization(0, ous={})
    (account,) = org.ids()
    pipeline = LocalPipeline(stack, {"RETRY_DELAY_SECONDS": "3600"})
    boto3.client("sqs").send_message(QueueUrl=stack.work_queue_url, MessageBody=work_body(account))
    pipeline.loop.poll(pipeline.loop.subscriptions[0])
    assert pipeline.loop.stats.handler_errors == {"worker": 1}
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.work_queue_url, AttributeNames=["All"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"
    # Once the setting is fixed, the same message is collected: nothing was lost.
    pipeline.configure(RETRY_DELAY_SECONDS="0")
    pipeline.drain()
    outcome = assert_every_account_accounted_for(stack.bucket, RUN_ID, {account})
    assert set(outcome.reports) == {account}
