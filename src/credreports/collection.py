"""Collecting one account's report (the worker's logic)."""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum

from credreports.adapters.credential_report import CredentialReports
from credreports.adapters.queue import Outgoing, Queue
from credreports.adapters.storage import ReportStore
from credreports.errors import CollectionError, DeliveryError, ReportNotReady
from credreports.messages import (
    InvalidMessageError,
    Reason,
    WorkMessage,
    parse_work_message,
)
from credreports.observability import MetricUnit, logger, metrics, record_keys

# Records of one batch collected at the same time. Each waits on STS, IAM and
# S3 most of its time, so threads overlap those waits; 10 is SQS's batch size.
# A report of 5,000 users is ~1.2 MB and costs ~6 MB while botocore reads and
# parses it; 10 at once peak at ~100 MB in a worker whose freed buffers go
# back to the OS (credreports.memory; make bench: worker peak RSS).
CONCURRENCY = 10
# While waiting inline for a report, Generate is polled this often. IAM takes
# a few seconds to build one; each poll counts as an attempt.
INLINE_POLL_SECONDS = 2.0


class Outcome(StrEnum):
    STORED = "stored"
    REQUEUED = "requeued"
    FAILED = "failed"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Decision:
    """What one record came to, and the message that must reach SQS before
    the record may be acknowledged."""

    outcome: Outcome
    requeue: Outgoing | None = None  # to the work queue: the next attempt
    dead_letter: Outgoing | None = None  # to the dead-letter queue: a failure


@dataclass(frozen=True)
class Record:
    """One SQS record of a batch: its id (for batchItemFailures) and body."""

    message_id: str
    body: str


@dataclass
class Collector:
    """Everything the worker needs to collect a report and hand on failures."""

    reports: CredentialReports
    store: ReportStore
    work_queue: Queue
    dead_letters: Queue
    max_attempts: int
    retry_delay_seconds: int
    concurrency: int = CONCURRENCY
    # Seconds a record may keep polling Generate within the invocation before
    # it is re-enqueued (INLINE_WAIT_SECONDS); 0 polls once.
    inline_wait_seconds: float = 0
    inline_poll_seconds: float = INLINE_POLL_SECONDS
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def handle_batch(self, records: Sequence[Record]) -> list[str]:
        """Collect every record of an SQS batch, several at a time, then send
        the batch's re-enqueues and dead letters (one SendMessageBatch per 10).
        Returns the ids of the records SQS must deliver again: those that
        raised, and those whose message could not be sent. A record never
        fails its neighbours."""
        retry: list[str] = []
        decided: list[tuple[Record, Decision]] = []
        workers = max(1, min(self.concurrency, len(records)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="record") as pool:
            # Each record in a copy of the handler's context: its log keys stay its own.
            futures = [
                (record, pool.submit(contextvars.copy_context().run, self.decide, record.body))
                for record in records
            ]
            for record, future in futures:
                try:
                    decided.append((record, future.result()))
                except Exception:
                    logger.exception(
                        "record failed; SQS will deliver it again", message_id=record.message_id
                    )
                    retry.append(record.message_id)
        retry.extend(self._send(decided))
        return retry

    def handle(self, body: str) -> Outcome:
        """Handle one work-queue body and send what it needs sent. Raises
        DeliveryError when that send failed, so that SQS delivers it again."""
        decision = self.decide(body)
        if self._send([(Record(message_id="-", body=body), decision)]):
            raise DeliveryError("could not send the message of this record")
        return decision.outcome

    def _send(self, decided: Sequence[tuple[Record, Decision]]) -> list[str]:
        """Send the re-enqueues and dead letters of ``decided``; returns the ids
        of the records whose message could not be sent."""
        unsent: list[str] = []
        for queue, chosen in (
            (self.work_queue, [(r, d.requeue) for r, d in decided if d.requeue]),
            (self.dead_letters, [(r, d.dead_letter) for r, d in decided if d.dead_letter]),
        ):
            if not chosen:
                continue
            failed = {
                id(message): reason for message, reason in queue.deliver([m for _, m in chosen])
            }
            for record, message in chosen:
                if id(message) in failed:
                    logger.error(
                        "could not send; SQS will deliver the record again",
                        message_id=record.message_id,
                        account_id=message.key,
                        queue=queue.url,
                        problem=failed[id(message)],
                    )
                    unsent.append(record.message_id)
        return unsent

    def decide(self, body: str) -> Decision:
        """Collect one work-queue body; what must be sent comes back in the Decision."""
        try:
            message = parse_work_message(body)
        except InvalidMessageError as exc:
            logger.warning("invalid message sent to the dead-letter queue", problem=str(exc))
            metrics.add_metric(name="InvalidMessages", unit=MetricUnit.Count, value=1)
            # The body as it came: the dlq_handler reads the same problem from it.
            return Decision(Outcome.REJECTED, dead_letter=Outgoing(key="invalid", body=body))
        with record_keys(
            run_id=message.run_id, account_id=message.account_id, attempt=message.attempt
        ):
            return self.collect(message)

    def collect(self, message: WorkMessage) -> Decision:
        """Poll Generate (again every few seconds for up to the inline wait);
        store the report once IAM has it, else re-enqueue or give up."""
        attempts = message.attempt
        try:
            attempts += 1
            state = self.reports.generate(message.account_id, message.run_id)
            deadline = time.monotonic() + self.inline_wait_seconds
            # attempt = polls made: MAX_ATTEMPTS bounds the inline polls too.
            while state != "COMPLETE" and attempts < self.max_attempts:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.sleep(min(self.inline_poll_seconds, left))
                attempts += 1
                state = self.reports.generate(message.account_id, message.run_id)
            if state != "COMPLETE":
                raise ReportNotReady(f"GenerateCredentialReport: {state}")
            report = self.reports.fetch(message.account_id, message.run_id)
            key = self.store.put_report(
                message.run_id,
                message.account_id,
                report.content,
                metadata={
                    "generated-time": report.generated_time.isoformat(),
                    "run-id": message.run_id,
                    "attempts": str(attempts),
                    "trigger": message.trigger.value,
                },
            )
            size = len(report.content)
            del report
        except CollectionError as exc:
            if exc.retryable and attempts < self.max_attempts:
                logger.info("not ready; re-enqueued", reason=exc.reason.value, detail=exc.detail)
                metrics.add_metric(name="Requeued", unit=MetricUnit.Count, value=1)
                return Decision(
                    Outcome.REQUEUED,
                    requeue=Outgoing(
                        key=message.account_id,
                        body=message.with_attempt(attempts).to_body(),
                        delay_seconds=self.retry_delay_seconds,
                    ),
                )
            return self.give_up(message, exc, attempts)
        logger.info("report stored", key=key, attempts=attempts, bytes=size)
        metrics.add_metric(name="ReportsStored", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="AttemptsPerReport", unit=MetricUnit.Count, value=attempts)
        return Decision(Outcome.STORED)

    def give_up(self, message: WorkMessage, exc: CollectionError, attempts: int) -> Decision:
        reason = exc.reason
        detail = exc.detail
        if exc.retryable:
            # Out of attempts: say so, and what the last answer was.
            detail = f"gave up after {attempts} attempts; last: {exc.detail}"
            if reason not in (Reason.THROTTLED, Reason.REPORT_NOT_READY):
                reason = Reason.REPORT_NOT_READY
        dead_letter = message.failed(reason, detail, attempts)
        logger.warning("gave up", reason=reason.value, detail=detail, attempts=attempts)
        metrics.add_metric(name="GaveUp", unit=MetricUnit.Count, value=1)
        return Decision(
            Outcome.FAILED,
            dead_letter=Outgoing(key=message.account_id, body=dead_letter.model_dump_json()),
        )
