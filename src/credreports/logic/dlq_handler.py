"""Recording failures (the dlq_handler's logic): one record per account and
run in S3, and one digest per batch to SNS."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import single_metric

from credreports import layout
from credreports.adapters.notifications import Notifier
from credreports.adapters.storage import ReportStore
from credreports.models.codes import Reason
from credreports.models.failure_record import FailureRecord
from credreports.models.messages import (
    DeadLetterMessage,
    InvalidMessageError,
    parse_dead_letter,
    salvage_ids,
)
from credreports.observability import NAMESPACE, MetricUnit, logger, metrics, record_keys

# SNS takes 256 KiB per message; keep each digest well under it.
DIGEST_BYTES = 200_000


@dataclass(frozen=True)
class DeadLetter:
    """A record of the dead-letter queue, as the handler received it."""

    message_id: str
    body: str
    receive_count: int


@dataclass(frozen=True)
class Recorded:
    key: str
    record: FailureRecord


def failure_record(letter: DeadLetter, now: datetime) -> FailureRecord:
    """The failure record for a dead letter. A redriven message (no ``failure``
    field) crashed the worker; a body that is not a valid message is
    INVALID_MESSAGE, filed under its account and run when those can be read."""
    common: dict[str, Any] = {
        "recorded_at": now,
        "message_id": letter.message_id,
        "receive_count": letter.receive_count,
    }
    try:
        message = parse_dead_letter(letter.body)
    except InvalidMessageError as exc:
        account_id, run_id = salvage_ids(letter.body)
        return FailureRecord(
            account_id=account_id,
            run_id=run_id,
            reason=Reason.INVALID_MESSAGE,
            detail=f"rejected message: {exc}",
            attempts=0,
            trigger=None,
            failed_at=now,
            **common,
        )
    if isinstance(message, DeadLetterMessage):
        reason = message.failure.reason
        detail = message.failure.detail
        failed_at = message.failure.failed_at
    else:
        reason, failed_at = Reason.WORKER_CRASHED, now
        detail = (
            f"the worker failed on this message {letter.receive_count} times and SQS moved it "
            "to the dead-letter queue; search the worker's logs for this account_id and run_id"
        )
    return FailureRecord(
        account_id=message.account_id,
        run_id=message.run_id,
        reason=reason,
        detail=detail,
        attempts=message.attempt,
        trigger=message.trigger,
        failed_at=failed_at,
        **common,
    )


def record_key(prefix: str, record: FailureRecord) -> str:
    if record.account_id and record.run_id:
        return layout.failure_key(prefix, record.run_id, record.account_id)
    return layout.invalid_message_key(
        prefix, record.recorded_at.date().isoformat(), record.message_id
    )


def digests(recorded: list[Recorded]) -> list[tuple[str, str, dict[str, list[str] | str]]]:
    """SNS messages (subject, body, attributes) for a batch of failures: one,
    unless the batch is too large for one SNS message."""
    entries = [
        {
            "account_id": item.record.account_id,
            "run_id": item.record.run_id,
            "reason": item.record.reason.value,
            "detail": item.record.detail,
            "attempts": item.record.attempts,
            "failure_key": item.key,
        }
        for item in recorded
    ]
    pages: list[list[dict[str, Any]]] = [[]]
    size = 0
    for entry in entries:
        entry_size = len(json.dumps(entry)) + 2
        if pages[-1] and size + entry_size > DIGEST_BYTES:
            pages.append([])
            size = 0
        pages[-1].append(entry)
        size += entry_size
    messages = []
    for page in pages:
        runs = sorted({str(entry["run_id"]) for entry in page if entry["run_id"]}) or ["unknown"]
        by_reason = Counter(str(entry["reason"]) for entry in page)
        where = f"run {runs[0]}" if len(runs) == 1 else f"{len(runs)} runs"
        noun = "account" if len(page) == 1 else "accounts"
        subject = f"credreports: {len(page)} {noun} failed in {where}"
        body = json.dumps(
            {
                "summary": subject,
                "count": len(page),
                "runs": runs,
                "by_reason": dict(sorted(by_reason.items())),
                "failures": page,
            },
            indent=2,
        )
        attributes: dict[str, list[str] | str] = {
            "reason_codes": sorted(by_reason),
            "run_ids": runs,
            "count": str(len(page)),
        }
        messages.append((subject, body, attributes))
    return messages


class FailureRecorder:
    """Writes failure records and sends the digest."""

    def __init__(self, store: ReportStore, notifier: Notifier) -> None:
        self.store = store
        self.notifier = notifier

    def record(self, letter: DeadLetter, now: datetime) -> Recorded | None:
        """Write the failure record of one dead letter. None when the account
        already has a report for that run (a duplicate delivery succeeded): a
        report beats a failure, and the operator is not paged for it."""
        record = failure_record(letter, now)
        key = record_key(self.store.prefix, record)
        with record_keys(run_id=record.run_id, account_id=record.account_id):
            if record.account_id and record.run_id:
                report = layout.report_key(self.store.prefix, record.run_id, record.account_id)
                if self.store.exists(report):
                    logger.info("report already stored; failure dropped", reason=record.reason)
                    return None
            self.store.put_json(key, record.model_dump(mode="json"))
            logger.warning("failure recorded", reason=record.reason.value, key=key)
        with single_metric(
            name="Failures", unit=MetricUnit.Count, value=1, namespace=NAMESPACE
        ) as metric:
            metric.add_dimension(name="reason", value=record.reason.value)
        return Recorded(key=key, record=record)

    def notify(self, recorded: list[Recorded]) -> int:
        """Publish the digest of ``recorded``; returns the number of SNS messages."""
        sent = 0
        for subject, body, attributes in digests(recorded):
            self.notifier.publish(subject, body, attributes)
            sent += 1
        metrics.add_metric(name="DigestsPublished", unit=MetricUnit.Count, value=sent)
        return sent
