"""Issue 10 on the emulator: evidence is written once, existence is asked
without reading, and member-account sessions name the run.

Reads are refused by fault injection (tests/support/faults.py), the way the
bucket policy's deny refuses them to every role of the stack on AWS: moto
ignores the deny's condition, so the local stack leaves it out.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from credreports import layout
from credreports.adapters.storage import ReportStore
from credreports.local.pipeline import LocalPipeline
from credreports.local.resources import Resources
from credreports.local.seed import seed_organization
from credreports.models.codes import Reason
from tests.support.builders import delivered_at, scheduled_event, start_scheduled, work_body
from tests.support.emulator import list_keys, queue_depth
from tests.support.faults import Faults
from tests.support.ledger import assert_every_account_accounted_for

RUN_ID = "20261123T020000Z"


def refuse_reads(faults: Faults) -> None:
    """Fault injection: S3 answers AccessDenied to every GetObject and
    HeadObject (HeadObject is authorised as GetObject), as the bucket policy
    does to every role of the stack."""
    for operation in ("s3.GetObject", "s3.HeadObject"):
        faults.fail(operation, "AccessDenied", 403)


def versions(bucket: str, key: str) -> list[dict[str, Any]]:
    answer = boto3.client("s3").list_object_versions(Bucket=bucket, Prefix=key)
    return [v for v in answer.get("Versions", []) if v["Key"] == key]


def test_a_duplicate_delivery_after_the_report_is_stored_leaves_one_version(
    stack: Resources, faults: Faults, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a versioned bucket and a run whose reports are stored
    boto3.client("s3").put_bucket_versioning(
        Bucket=stack.bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    org = seed_organization(3)
    pipeline = LocalPipeline(stack)
    start_scheduled(pipeline)
    delivered = pipeline.drain().records["worker"]
    account_id = sorted(org.ids())[1]
    key = layout.report_key("", RUN_ID, account_id)
    (stored,) = versions(stack.bucket, key)

    # When SQS delivers that account's message once more (at-least-once)
    duplicate = work_body(account_id, trigger="schedule")
    boto3.client("sqs").send_message(QueueUrl=stack.work_queue_url, MessageBody=duplicate)
    stats = pipeline.drain()

    # Then the worker tried to write it (If-None-Match) and the stored one stays,
    # the only version: nothing rewritten, nothing failed
    assert stats.records["worker"] == delivered + 1 and not stats.failed_records.get("worker")
    duplicates = [r for r in caplog.records if r.getMessage().startswith("duplicate:")]
    assert len(duplicates) == 1 and key in str(duplicates[0].__dict__)
    (after,) = versions(stack.bucket, key)
    assert after["VersionId"] == stored["VersionId"] and after["ETag"] == stored["ETag"]
    outcome = assert_every_account_accounted_for(stack.bucket, RUN_ID, org.ids())
    assert set(outcome.reports) == org.ids() and not outcome.failures
    assert faults.fired == {}


def test_existence_is_asked_by_listing_so_reads_can_be_refused(
    stack: Resources, faults: Faults
) -> None:
    # Given a bucket with a manifest and one whose key extends it
    s3 = boto3.client("s3")
    manifest = layout.manifest_key("", RUN_ID)
    s3.put_object(Bucket=stack.bucket, Key=manifest, Body=b"{}")
    s3.put_object(Bucket=stack.bucket, Key=manifest.replace(RUN_ID, RUN_ID[:-1] + "9"), Body=b"{}")
    s3.put_object(Bucket=stack.bucket, Key=manifest + ".bak", Body=b"{}")
    store = ReportStore(stack.bucket)
    # When reads are refused
    refuse_reads(faults)

    # Then exists answers from the listing, for exactly the key
    assert store.exists(manifest)
    assert not store.exists(layout.manifest_key("", "20261123T020001Z"))
    assert not store.exists(manifest[:-1])
    assert not store.exists("runs/")
    # ...and a read really is refused
    with pytest.raises(Exception, match="AccessDenied"):
        store.get_json(manifest)


def test_producer_moves_a_taken_manual_run_id_without_reading_manifests(
    stack: Resources, faults: Faults
) -> None:
    # Given manifests for every second around now (each run id taken)
    s3 = boto3.client("s3")
    now = datetime.now(UTC).replace(microsecond=0)
    taken = [now + timedelta(seconds=offset) for offset in range(-2, 20)]
    for moment in taken:
        run_id = moment.strftime("%Y%m%dT%H%M%SZ")
        s3.put_object(Bucket=stack.bucket, Key=layout.manifest_key("", run_id), Body=b"{}")
    org = seed_organization(2)
    pipeline = LocalPipeline(stack)
    refuse_reads(faults)

    # When a manual run starts (the producer's reads refused)
    summary = pipeline.start({"account_ids": sorted(org.ids())})

    # Then it took the first free second after them without reading, and
    # completed (the summarizer, which reads, runs with reads allowed)
    assert summary["run_id"] == (taken[-1] + timedelta(seconds=1)).strftime("%Y%m%dT%H%M%SZ")
    assert faults.fired["fail:s3.GetObject"] == 0 and faults.fired["fail:s3.HeadObject"] == 0
    faults.clear()
    pipeline.drain()
    outcome = assert_every_account_accounted_for(stack.bucket, summary["run_id"], org.ids())
    assert set(outcome.reports) == org.ids()


def test_dlq_handler_finds_a_stored_report_without_reading_it(
    stack: Resources, faults: Faults
) -> None:
    # Given a run whose reports are stored
    org = seed_organization(2)
    pipeline = LocalPipeline(stack)
    start_scheduled(pipeline)
    pipeline.drain()
    reported, other = sorted(org.ids())[:2]
    boto3.client("s3").delete_object(Bucket=stack.bucket, Key=layout.report_key("", RUN_ID, other))
    refuse_reads(faults)

    # When late dead letters arrive for an account with a report and one without
    sqs = boto3.client("sqs")
    for account_id in (reported, other):
        body = work_body(account_id, attempt=3, trigger="schedule")
        sqs.send_message(QueueUrl=stack.dead_letter_queue_url, MessageBody=body)
    pipeline.drain()

    # Then the report beats the failure (found by listing, reads refused) and
    # the other account gets its failure record
    faults.clear()
    outcome = assert_every_account_accounted_for(stack.bucket, RUN_ID, org.ids())
    assert set(outcome.failures) == {other}
    assert outcome.failures[other]["reason"] == Reason.WORKER_CRASHED.value
    assert reported in outcome.reports


def test_member_sessions_are_named_after_the_run(stack: Resources, faults: Faults) -> None:
    # Given an organization, and the emulator noting each AssumeRole's session
    # name (what member-account CloudTrail shows)
    org = seed_organization(2)
    assume_role = faults.record("sts.AssumeRole")
    pipeline = LocalPipeline(stack)

    # When a scheduled run collects the accounts
    start_scheduled(pipeline)
    pipeline.drain()

    # Then every member session says which run it belongs to
    sessions = [call.form["RoleSessionName"] for call in assume_role]
    assert len(sessions) == len(org.ids())
    assert set(sessions) == {f"credreports-{RUN_ID}"}
    assert all(re.fullmatch(r"[\w+=,.@-]{2,64}", name) for name in sessions)
    assert_every_account_accounted_for(stack.bucket, RUN_ID, org.ids())


FORGED = {
    "wrong source": ({"source": "my.app"}, "source 'my.app' is not aws.events"),
    "another rule": (
        {"resources": ["arn:aws:events:us-east-1:123456789012:rule/someone-elses"]},
        "do not name the schedule rule",
    ),
    "a year ago": ({"time": "2025-11-23T02:00:00Z"}, "more than 2 hours old"),
    "tomorrow": ({"time": "2026-11-24T02:00:00Z"}, "in the future"),
}


@pytest.mark.parametrize(("forged", "why"), FORGED.values(), ids=FORGED.keys())
def test_a_forged_scheduled_event_starts_no_run_and_says_why(
    stack: Resources, forged: dict[str, Any], why: str
) -> None:
    # Given an organization and an event that is not the schedule rule's, now
    org = seed_organization(2)
    pipeline = LocalPipeline(stack)
    event = {**scheduled_event("2026-11-23T02:00:00Z"), **forged}

    # When it reaches the producer (at 02:00:30, when the rule's own would)
    # (answered, not raised: Lambda would retry the same event for nothing)
    with delivered_at("2026-11-23T02:00:00Z"):
        refused = pipeline.start(event)

    # Then the producer says why, and wrote and sent nothing
    assert refused["error"] == "ProducerEventError"
    assert "no run started" in refused["message"] and why in refused["message"]
    assert list_keys(stack.bucket, "") == []
    assert queue_depth(stack.work_queue_url) == 0
    # ...while the rule's own event starts the run
    summary = start_scheduled(pipeline, "2026-11-23T02:00:00Z")
    pipeline.drain()
    assert_every_account_accounted_for(stack.bucket, summary["run_id"], org.ids())
