"""What a run left in the bucket, read straight from S3 (independently of the
code under test), and the invariant every pipeline test asserts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3


@dataclass
class RunOutcome:
    reports: dict[str, str]  # account -> key
    failures: dict[str, dict[str, Any]]  # account -> failure record
    manifest: dict[str, Any] | None
    # accounts with a report and a failure record, resolved to the report
    resolved: set[str] = field(default_factory=set)


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys


def read_run(bucket: str, run_id: str, prefix: str = "") -> RunOutcome:
    s3 = boto3.client("s3")
    day = f"{run_id[0:4]}-{run_id[4:6]}-{run_id[6:8]}"
    reports: dict[str, str] = {}
    for key in _keys(s3, bucket, f"{prefix}reports/date={day}/run={run_id}/"):
        account = key.split("account=")[1].split("/")[0]
        assert account not in reports, f"two reports for {account}"
        reports[account] = key
    failures: dict[str, dict[str, Any]] = {}
    for key in _keys(s3, bucket, f"{prefix}failures/date={day}/run={run_id}/"):
        account = key.split("account=")[1].split("/")[0]
        assert account not in failures, f"two failure records for {account}"
        failures[account] = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    manifest_key = f"{prefix}runs/date={day}/run={run_id}/manifest.json"
    manifest = None
    if _keys(s3, bucket, manifest_key):
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=manifest_key)["Body"].read())
    return RunOutcome(reports=reports, failures=failures, manifest=manifest)


def assert_every_account_accounted_for(
    bucket: str, run_id: str, expected: set[str], prefix: str = "", *, duplicates: bool = False
) -> RunOutcome:
    """The invariant: every account of the run ends as exactly one report or
    exactly one failure record, and nothing else is there.

    With ``duplicates`` (runs where SQS delivered messages twice), an account
    may have both; the ledger resolves it to the report (a report beats a
    failure), so it still ends as exactly one outcome."""
    outcome = read_run(bucket, run_id, prefix)
    reported, failed = set(outcome.reports), set(outcome.failures)
    both = reported & failed
    if duplicates:
        outcome.resolved = both
        failed -= both
    else:
        assert not both, f"accounts with a report and a failure record: {sorted(both)}"
    lost = expected - reported - failed
    assert not lost, f"accounts with neither a report nor a failure record: {sorted(lost)}"
    extra = (reported | failed) - expected
    assert not extra, f"outcomes for accounts that were not in the run: {sorted(extra)}"
    return outcome
