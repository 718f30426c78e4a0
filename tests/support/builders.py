"""Builders for the documents and events the tests hand to the code: work
bodies, scheduled events, run manifests, failure records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from unittest import mock

from credreports.models.codes import Reason, Trigger
from credreports.models.failure_record import FailureRecord
from credreports.models.manifest import ManifestStatus, RunManifest, SkippedAccount
from credreports.models.messages import parse_work_message

if TYPE_CHECKING:
    from credreports.local.pipeline import LocalPipeline

RUN_ID = "20261123T020000Z"
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def work_body(account_id: str, run_id: str = RUN_ID, **overrides: Any) -> str:
    """A work-queue body; an override of ``...`` leaves the field out."""
    fields: dict[str, Any] = {
        "v": 1,
        "account_id": account_id,
        "run_id": run_id,
        "attempt": 0,
        "trigger": "manual",
        "enqueued_at": "2026-11-23T02:00:01Z",
    }
    fields.update(overrides)
    return json.dumps({k: v for k, v in fields.items() if v is not ...})


def scheduled_event(at: str = "2026-11-23T02:00:00Z") -> dict[str, Any]:
    """EventBridge's scheduled event, as the schedule rule delivers it."""
    return {
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": at,
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/credreports-schedule"],
        "detail": {},
    }


@contextmanager
def delivered_at(event_time: str, delay_seconds: int = 30) -> Iterator[None]:
    """The producer's clock ``delay_seconds`` after ``event_time``: a
    scheduled event delivered just after its time, as EventBridge delivers
    it (the producer refuses one older than its maximum age)."""
    moment = datetime.fromisoformat(event_time.replace("Z", "+00:00"))
    with mock.patch(
        "credreports.models.ids.utc_now", return_value=moment + timedelta(seconds=delay_seconds)
    ):
        yield


def start_scheduled(
    pipeline: LocalPipeline, at: str = "2026-11-23T02:00:00Z", delay_seconds: int = 30
) -> dict[str, Any]:
    """The schedule rule's event for ``at``, delivered to the producer."""
    with delivered_at(at, delay_seconds):
        return pipeline.start(scheduled_event(at))


def manifest(
    accounts: list[str],
    *,
    run_id: str = RUN_ID,
    status: ManifestStatus = ManifestStatus.ENQUEUED,
    skipped: dict[str, str] | None = None,
    excluded: list[str] | None = None,
    trigger: Trigger = Trigger.SCHEDULE,
) -> RunManifest:
    return RunManifest(
        run_id=run_id,
        trigger=trigger,
        created_at=datetime(2026, 11, 23, 2, 0, 1, tzinfo=UTC),
        status=status,
        accounts=tuple(accounts),
        skipped=tuple(SkippedAccount(account_id=a, state=s) for a, s in (skipped or {}).items()),
        excluded=tuple(excluded or ()),
    )


def failure_record(
    account: str, reason: Reason = Reason.ROLE_ASSUME_DENIED, run_id: str = RUN_ID
) -> FailureRecord:
    return FailureRecord(
        account_id=account,
        run_id=run_id,
        reason=reason,
        detail="injected",
        attempts=1,
        trigger=Trigger.SCHEDULE,
        failed_at=NOW,
        recorded_at=NOW,
        message_id="m-1",
        receive_count=1,
    )


def dead_letter_body(
    account_id: str,
    reason: Reason = Reason.STORAGE_DENIED,
    run_id: str = RUN_ID,
    detail: str = "injected",
) -> str:
    """A body the worker sends to the dead-letter queue when it gives up."""
    message = parse_work_message(work_body(account_id, run_id))
    return message.failed(reason, detail, attempts=1).model_dump_json()
