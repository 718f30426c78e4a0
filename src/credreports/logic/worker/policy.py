"""The worker's per-account policy: poll IAM for the report, store it once it
is COMPLETE; otherwise re-enqueue the message with its attempt count, or give
up with a reason code when the attempts run out or the error is permanent.

Plain logic over two ports (credreports.ports: ``ReportSource``, ``ReportSink``): no
threads, no queues. What must be sent for an account comes back in its
``Decision``; the batch transport (``batch.py``) sends it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from credreports import layout
from credreports.adapters.queue import Outgoing
from credreports.errors import CollectionError, ReportNotReady
from credreports.models.codes import Reason
from credreports.models.messages import InvalidMessageError, WorkMessage, parse_work_message
from credreports.observability import MetricUnit, logger, metrics, record_keys
from credreports.ports import ReportSink, ReportSource

# While waiting inline for a report, Generate is polled this often. IAM takes
# a few seconds to build one; each poll counts as an attempt.
INLINE_POLL_SECONDS = 2.0


class OutOfTime(Exception):
    """The invocation's time budget ended before the record's next AWS call:
    the record is left unfinished and SQS delivers it again. Not a
    CollectionError: it says nothing about the account."""


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


@dataclass
class RetryPolicy:
    """How long an account is polled, and what its last error becomes."""

    max_attempts: int
    retry_delay_seconds: int
    # Seconds a record may keep polling Generate within the invocation before
    # it is re-enqueued (INLINE_WAIT_SECONDS); 0 polls once.
    inline_wait_seconds: float = 0
    inline_poll_seconds: float = INLINE_POLL_SECONDS

    def may_poll_again(self, attempts: int) -> bool:
        """``attempt`` counts polls: MAX_ATTEMPTS bounds the inline polls too."""
        return attempts < self.max_attempts

    def after_error(self, message: WorkMessage, error: CollectionError, attempts: int) -> Decision:
        """A retryable error with attempts left re-enqueues the message with
        ``attempts`` and the retry delay; anything else gives up."""
        if error.retryable and attempts < self.max_attempts:
            return Decision(
                Outcome.REQUEUED,
                requeue=Outgoing(
                    key=message.account_id,
                    body=message.with_attempt(attempts).to_body(),
                    delay_seconds=self.retry_delay_seconds,
                ),
            )
        return self.give_up(message, error, attempts)

    @staticmethod
    def give_up(message: WorkMessage, error: CollectionError, attempts: int) -> Decision:
        """The dead letter of ``message``. Out of attempts on a retryable
        error, the reason says what the last answer was: throttling stays
        THROTTLED, everything else (a 5xx, a report never ready) is
        REPORT_NOT_READY."""
        reason = error.reason
        detail = error.detail
        if error.retryable:
            detail = f"gave up after {attempts} attempts; last: {error.detail}"
            if reason not in (Reason.THROTTLED, Reason.REPORT_NOT_READY):
                reason = Reason.REPORT_NOT_READY
        dead_letter = message.failed(reason, detail, attempts)
        return Decision(
            Outcome.FAILED,
            dead_letter=Outgoing(key=message.account_id, body=dead_letter.model_dump_json()),
        )


@dataclass
class AccountCollector:
    """Collects one account's report: calls IAM and S3, decides what follows."""

    reports: ReportSource
    store: ReportSink
    policy: RetryPolicy
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def collect_body(self, body: str, deadline: float | None = None) -> Decision:
        """Parse one work-queue body and collect it; a body that is not a
        valid message goes to the dead-letter queue as it came. ``deadline``
        (on ``clock``): no AWS call is started after it (OutOfTime)."""
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
            return self.collect(message, deadline)

    def _in_time(self, deadline: float | None) -> None:
        if deadline is not None and self.clock() >= deadline:
            raise OutOfTime("the invocation's time budget ended")

    def collect(self, message: WorkMessage, deadline: float | None = None) -> Decision:
        """Poll Generate (again every few seconds for up to the inline wait);
        store the report once IAM has it, else re-enqueue or give up. No call
        starts after ``deadline``: the inline wait ends there too."""
        policy = self.policy
        attempts = message.attempt
        try:
            self._in_time(deadline)
            attempts += 1
            state = self.reports.generate(message.account_id, message.run_id)
            waited_until = self.clock() + policy.inline_wait_seconds
            if deadline is not None:
                waited_until = min(waited_until, deadline)
            while state != "COMPLETE" and policy.may_poll_again(attempts):
                left = waited_until - self.clock()
                if left <= 0:
                    break
                self.sleep(min(policy.inline_poll_seconds, left))
                if deadline is not None and self.clock() >= deadline:
                    break  # not ready when time ran out: re-enqueued as usual
                attempts += 1
                state = self.reports.generate(message.account_id, message.run_id)
            if state != "COMPLETE":
                raise ReportNotReady(f"GenerateCredentialReport: {state}")
            self._in_time(deadline)
            report = self.reports.fetch(message.account_id, message.run_id)
            self._in_time(deadline)
            key = self.store.put_report(
                message.run_id,
                message.account_id,
                report.content,
                metadata={
                    layout.GENERATED_TIME_METADATA: report.generated_time.isoformat(),
                    "run-id": message.run_id,
                    "attempts": str(attempts),
                    "trigger": message.trigger.value,
                },
            )
            size = len(report.content)
            del report
        except CollectionError as exc:
            decision = self.policy.after_error(message, exc, attempts)
            if decision.outcome is Outcome.REQUEUED:
                logger.info("not ready; re-enqueued", reason=exc.reason.value, detail=exc.detail)
                metrics.add_metric(name="Requeued", unit=MetricUnit.Count, value=1)
            else:
                logger.warning("gave up", reason=exc.reason.value, attempts=attempts)
                metrics.add_metric(name="GaveUp", unit=MetricUnit.Count, value=1)
            return decision
        logger.info("report stored", key=key, attempts=attempts, bytes=size)
        metrics.add_metric(name="ReportsStored", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="AttemptsPerReport", unit=MetricUnit.Count, value=attempts)
        return Decision(Outcome.STORED)
