"""Recording failures (the dlq_handler's logic): one record per account and
run in S3, and digests to SNS: at most one per run and digest window."""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from aws_lambda_powertools.metrics import single_metric

from credreports import layout
from credreports.adapters.storage import ReportStore
from credreports.errors import DeliveryError
from credreports.models.codes import Reason
from credreports.models.failure_record import FailureRecord
from credreports.models.ids import run_id_for
from credreports.models.messages import (
    DeadLetterMessage,
    InvalidMessageError,
    parse_dead_letter,
    salvage_ids,
)
from credreports.observability import NAMESPACE, MetricUnit, logger, metrics, record_keys
from credreports.ports import MessageHolder, Publisher

# A digest names this many accounts and says where the others are: SNS takes
# 256 KiB a message, and nobody reads a list of thousands in an e-mail.
LISTED_ACCOUNTS = 50
DETAIL_CHARS = 500
# At most one digest per run in this many seconds (DIGEST_INTERVAL_SECONDS).
DIGEST_INTERVAL = 300
# The metric of dead letters whose failure record could not be written
# (template.yaml's UnrecordedDeadLettersAlarm watches it).
UNRECORDED_METRIC = "LettersNotRecorded"


@dataclass(frozen=True)
class DeadLetter:
    """A record of the dead-letter queue, as the handler received it."""

    message_id: str
    body: str
    receive_count: int
    receipt_handle: str = ""


@dataclass(frozen=True)
class Recorded:
    key: str
    record: FailureRecord
    receipt_handle: str = ""  # of the dead letter, to hold it back as a reminder


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


@dataclass(frozen=True)
class Digest:
    """One SNS message about the failures of one run."""

    subject: str
    body: str
    attributes: dict[str, list[str] | str]


def _entry(item: Recorded) -> dict[str, Any]:
    return {
        "account_id": item.record.account_id,
        "run_id": item.record.run_id,
        "reason": item.record.reason.value,
        "detail": item.record.detail[:DETAIL_CHARS],
        "attempts": item.record.attempts,
        "failure_key": item.key,
    }


def digest(
    run_id: str | None,
    recorded: Sequence[Recorded],
    *,
    failures_at: str,
    recorded_in_run: int | None = None,
    interval_seconds: int | None = None,
) -> Digest:
    """The digest of ``recorded`` (failures of one run, or of no known run):
    counts by reason, the first LISTED_ACCOUNTS accounts, and where every
    failure record of the run is. ``recorded_in_run``: the run's failure
    records so far, including those no digest listed."""
    by_reason = Counter(item.record.reason.value for item in recorded)
    run = run_id or "unknown"
    noun = "account" if len(recorded) == 1 else "accounts"
    subject = f"credreports: {len(recorded)} {noun} failed in run {run}"
    if recorded_in_run is not None and recorded_in_run > len(recorded):
        subject += f" ({recorded_in_run} so far)"
    listed = [_entry(item) for item in recorded[:LISTED_ACCOUNTS]]
    document: dict[str, Any] = {
        "summary": subject,
        "run_id": run_id,
        "count": len(recorded),
        "by_reason": dict(sorted(by_reason.items())),
        "failures": listed,
        "not_listed": len(recorded) - len(listed),
        "failure_records": failures_at,
    }
    if run_id:
        document["status_command"] = f"credreports status --run {run_id}"
    if recorded_in_run is not None:
        document["failures_recorded_in_run"] = recorded_in_run
    if interval_seconds is not None:
        document["digests"] = (
            f"at most one digest per run every {interval_seconds} s: failures recorded in "
            "between are in the failure records and counted by the next digest"
        )
    attributes: dict[str, list[str] | str] = {
        "kind": "failure-digest",
        "reason_codes": sorted(by_reason),
        "run_ids": [run],
        "count": str(len(recorded)),
    }
    return Digest(subject=subject, body=json.dumps(document, indent=2), attributes=attributes)


def digest_window(now: datetime, interval_seconds: int) -> str:
    """The digest window ``now`` falls in, named by its start (a run id's format)."""
    start = int(now.timestamp()) // interval_seconds * interval_seconds
    return run_id_for(datetime.fromtimestamp(start, UTC))


@dataclass(frozen=True)
class Notified:
    """What ``FailureRecorder.notify`` did: digests sent, and the dead letters
    to hold back (return in ``batchItemFailures``) as reminders."""

    sent: int
    held: tuple[str, ...]


class FailureRecorder:
    """Writes failure records and sends the digests, at most one per run and
    digest window.

    The first batch of a window that has failures of a run claims the window
    (an empty marker written once, layout.digest_marker_key) and sends the
    digest of its failures, with the count of the run's failure records so
    far. A later batch of the same window sends nothing: its failures are in
    their records, and it holds back one dead letter as a reminder (made
    visible again as the next window opens), so the next window's digest
    counts them. A storm of thousands of failures is a
    digest per window, not one per batch, and none is left unannounced."""

    def __init__(
        self,
        store: ReportStore,
        notifier: Publisher,
        interval_seconds: int = DIGEST_INTERVAL,
        dead_letters: MessageHolder | None = None,
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.interval_seconds = interval_seconds
        # Where a held reminder is made to come back when the next window
        # opens; without it (or if that fails) it comes back after the
        # queue's visibility timeout, which is longer than a window.
        self.dead_letters = dead_letters

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
        return Recorded(key=key, record=record, receipt_handle=letter.receipt_handle)

    def notify(self, recorded: Sequence[Recorded], now: datetime) -> Notified:
        """Send the digests of ``recorded``: one per run, unless a digest of
        that run went out in this window already."""
        by_run: dict[str | None, list[Recorded]] = {}
        for item in recorded:
            by_run.setdefault(item.record.run_id, []).append(item)
        sent, held = 0, []
        for run_id, items in by_run.items():
            if run_id is None:
                # A letter too damaged to name its run: no run to bound it by.
                self._publish(
                    digest(None, items, failures_at=self._where(f"{self.store.prefix}failures/"))
                )
                sent += 1
                continue
            kept = self._notify_run(run_id, items, now)
            if kept is None:
                sent += 1
            elif kept:
                held.append(kept.record.message_id)
                self._hold(kept, now)
        metrics.add_metric(name="DigestsPublished", unit=MetricUnit.Count, value=sent)
        return Notified(sent=sent, held=tuple(held))

    def _notify_run(
        self, run_id: str, items: list[Recorded], now: datetime
    ) -> Recorded | Literal[False] | None:
        """Send the run's digest if this window has none yet (returns None);
        else the letter to hold back as a reminder, or False for none."""
        window = digest_window(now, self.interval_seconds)
        marker = functools.partial(layout.digest_marker_key, self.store.prefix, run_id, window)
        failures = layout.run_prefix(self.store.prefix, "failures", run_id)
        if self.store.mark(marker("sent")):
            self._publish(
                digest(
                    run_id,
                    items,
                    failures_at=self._where(failures),
                    recorded_in_run=sum(1 for _ in self.store.keys(failures)),
                    interval_seconds=self.interval_seconds,
                )
            )
            return None
        metrics.add_metric(name="DigestsHeldBack", unit=MetricUnit.Count, value=1)
        markers = set(self.store.keys(layout.digest_prefix(self.store.prefix, run_id)))
        # This window's reminder, back before the window ended, goes back again.
        # One held in an earlier window has done its job: this window's digest
        # went out after it was held, counting what it stood for.
        for item in items:
            if marker(f"reminder.{item.record.message_id}") in markers:
                return item
        reminder = items[0]
        if not any(key.startswith(marker("reminder.")) for key in markers) and self.store.mark(
            marker(f"reminder.{reminder.record.message_id}")
        ):
            logger.info("digest held back; a reminder returns after the window", run_id=run_id)
            return reminder
        return False

    def _hold(self, item: Recorded, now: datetime) -> None:
        """Make the reminder come back as the next window opens."""
        if self.dead_letters is None or not item.receipt_handle:
            return
        elapsed = int(now.timestamp()) % self.interval_seconds
        try:
            self.dead_letters.hold(item.receipt_handle, self.interval_seconds - elapsed + 1)
        except DeliveryError as exc:
            logger.warning("reminder comes back after the visibility timeout", problem=str(exc))

    def _where(self, prefix: str) -> str:
        return f"s3://{self.store.bucket}/{prefix}"

    def _publish(self, message: Digest) -> None:
        self.notifier.publish(message.subject, message.body, message.attributes)
