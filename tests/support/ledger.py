"""What a run left in the bucket, read straight from S3 (independently of the
code under test), and the invariant every pipeline test asserts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from credreports import layout
from credreports.local.announcements import Event, SnsMessage
from credreports.local.pipeline import LocalPipeline
from credreports.models.manifest import RunManifest
from tests.support.builders import start_scheduled
from tests.support.emulator import list_keys, read_json


@dataclass
class RunOutcome:
    reports: dict[str, str]  # account -> key
    failures: dict[str, dict[str, Any]]  # account -> failure record
    manifest: RunManifest | None
    # accounts with a report and a failure record, resolved to the report
    resolved: set[str] = field(default_factory=set)


def _by_account(keys: list[str]) -> dict[str, str]:
    # One key per account and run: the account is a folder of the run's key.
    return {key.split("account=")[1].split("/")[0]: key for key in keys}


def read_run(bucket: str, run_id: str, prefix: str = "") -> RunOutcome:
    reports = _by_account(list_keys(bucket, layout.run_prefix(prefix, "reports", run_id)))
    failures = {
        account: read_json(bucket, key)
        for account, key in _by_account(
            list_keys(bucket, layout.run_prefix(prefix, "failures", run_id))
        ).items()
    }
    manifest_key = layout.manifest_key(prefix, run_id)
    manifest = None
    if list_keys(bucket, manifest_key):
        manifest = RunManifest.model_validate(read_json(bucket, manifest_key))
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


def assert_announced_once(
    pipeline: LocalPipeline, run_id: str, *, complete: bool = True
) -> tuple[SnsMessage, Event]:
    """The run ended announced, once: one SNS run summary and one EventBridge
    event for it since the last look, saying ``complete`` (or not)."""
    captured = pipeline.announcements.collect()
    messages = captured.run_summaries(run_id)
    events = captured.run_events(run_id)
    assert len(messages) == 1, f"run {run_id}: {len(messages)} SNS run summaries, not 1"
    assert len(events) == 1, f"run {run_id}: {len(events)} EventBridge events, not 1"
    expected = "Run Completed" if complete else "Run Incomplete"
    assert events[0].detail_type == expected, events[0].detail_type
    captured.sns.remove(messages[0])
    captured.events.remove(events[0])
    return messages[0], events[0]


def run_to_the_end(
    pipeline: LocalPipeline,
    expected: set[str],
    event: dict[str, Any] | None = None,
    *,
    duplicates: bool = False,
    scheduled_at: str | None = None,
) -> tuple[dict[str, Any], RunOutcome]:
    """Start a run (the schedule's at ``scheduled_at``, delivered on time, or
    ``event``), deliver every message until the queues are empty, and assert
    the invariant over ``expected`` and that the run ended announced once
    (complete); returns the producer's answer and what the run left."""
    if scheduled_at is not None:
        summary = start_scheduled(pipeline, scheduled_at)
    else:
        summary = pipeline.start(event)
    pipeline.drain()
    outcome = assert_every_account_accounted_for(
        pipeline.resources.bucket,
        summary["run_id"],
        expected,
        pipeline.resources.prefix,
        duplicates=duplicates,
    )
    assert_announced_once(pipeline, summary["run_id"])
    return summary, outcome
