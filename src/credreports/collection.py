"""Collecting one account's report (the worker's logic)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from credreports.adapters.credential_report import CredentialReports
from credreports.adapters.queue import Outgoing, Queue
from credreports.adapters.storage import ReportStore
from credreports.errors import CollectionError, ReportNotReady
from credreports.messages import (
    InvalidMessageError,
    Reason,
    WorkMessage,
    parse_work_message,
)
from credreports.observability import MetricUnit, logger, metrics


class Outcome(StrEnum):
    STORED = "stored"
    REQUEUED = "requeued"
    FAILED = "failed"
    REJECTED = "rejected"


@dataclass
class Collector:
    """Everything the worker needs to collect a report and hand on failures."""

    reports: CredentialReports
    store: ReportStore
    work_queue: Queue
    dead_letters: Queue
    max_attempts: int
    retry_delay_seconds: int

    def handle(self, body: str) -> Outcome:
        """Handle one work-queue body. Raises only when a write the pipeline
        depends on (SQS) failed, so that SQS delivers the record again."""
        try:
            message = parse_work_message(body)
        except InvalidMessageError as exc:
            # The body as it came: the dlq_handler reads the same problem from it.
            self.dead_letters.send(Outgoing(key="invalid", body=body))
            logger.warning("invalid message sent to the dead-letter queue", problem=str(exc))
            metrics.add_metric(name="InvalidMessages", unit=MetricUnit.Count, value=1)
            return Outcome.REJECTED
        with logger.append_context_keys(
            run_id=message.run_id, account_id=message.account_id, attempt=message.attempt
        ):
            return self.collect(message)

    def collect(self, message: WorkMessage) -> Outcome:
        """One poll: store the report if IAM has it, else re-enqueue or give up."""
        attempts = message.attempt + 1
        try:
            state = self.reports.generate(message.account_id)
            if state != "COMPLETE":
                raise ReportNotReady(f"GenerateCredentialReport: {state}")
            report = self.reports.fetch(message.account_id)
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
        except CollectionError as exc:
            if exc.retryable and attempts < self.max_attempts:
                self.work_queue.send(
                    Outgoing(
                        key=message.account_id,
                        body=message.next_attempt().to_body(),
                        delay_seconds=self.retry_delay_seconds,
                    )
                )
                logger.info("not ready; re-enqueued", reason=exc.reason.value, detail=exc.detail)
                metrics.add_metric(name="Requeued", unit=MetricUnit.Count, value=1)
                return Outcome.REQUEUED
            self.give_up(message, exc, attempts)
            return Outcome.FAILED
        logger.info("report stored", key=key, attempts=attempts, bytes=len(report.content))
        metrics.add_metric(name="ReportsStored", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="AttemptsPerReport", unit=MetricUnit.Count, value=attempts)
        return Outcome.STORED

    def give_up(self, message: WorkMessage, exc: CollectionError, attempts: int) -> None:
        reason = exc.reason
        detail = exc.detail
        if exc.retryable:
            # Out of attempts: say so, and what the last answer was.
            detail = f"gave up after {attempts} attempts; last: {exc.detail}"
            if reason not in (Reason.THROTTLED, Reason.REPORT_NOT_READY):
                reason = Reason.REPORT_NOT_READY
        dead_letter = message.failed(reason, detail, attempts)
        self.dead_letters.send(Outgoing(key=message.account_id, body=dead_letter.model_dump_json()))
        logger.warning("gave up", reason=reason.value, detail=detail, attempts=attempts)
        metrics.add_metric(name="GaveUp", unit=MetricUnit.Count, value=1)
