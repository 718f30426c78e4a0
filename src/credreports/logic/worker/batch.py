"""The worker's batch transport: the records of one SQS batch collected
concurrently, their re-enqueues and dead letters sent together (one
SendMessageBatch per 10), and the ids of the records SQS must deliver again
(the partial batch response).

The batch keeps time. Given the invocation's time left, it starts no record
and waits for none once less than ``margin_seconds`` is left, so that there
is still time to send what the finished records decided and return. A record
still running then (an AWS call that hangs) is left behind: it goes back to
SQS in ``batchItemFailures`` and nothing is sent for it, even when its thread
finishes later, because only this method sends, and only for the records it
saw finish in time.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Protocol

from credreports.logic.worker.policy import Decision, OutOfTime
from credreports.models.messages import salvage_ids
from credreports.observability import MetricUnit, logger, metrics
from credreports.ports import MessageSender

# Records of one batch collected at the same time. Each waits on STS, IAM and
# S3 most of its time, so threads overlap those waits; 10 is SQS's batch size.
# Ten reports of 5,000 users fit in 128 MB only with freed buffers returned to
# the OS (credreports.memory; README, Performance: worker peak RSS).
CONCURRENCY = 10
# Kept back from the time budget for sending the batch's re-enqueues and dead
# letters (one SendMessageBatch per 10, resent on failure) and returning.
SEND_MARGIN_SECONDS = 10.0


@dataclass(frozen=True)
class Record:
    """One SQS record of a batch: its id (for batchItemFailures) and body."""

    message_id: str
    body: str


class Collector(Protocol):
    """The per-account policy (policy.AccountCollector)."""

    def collect_body(self, body: str, deadline: float | None = None) -> Decision: ...


@dataclass
class WorkerBatch:
    """Runs the per-account policy over a batch and sends what it decided."""

    collector: Collector
    work_queue: MessageSender
    dead_letters: MessageSender
    concurrency: int = CONCURRENCY
    margin_seconds: float = SEND_MARGIN_SECONDS
    # The policy's clock too: deadlines are compared on one clock.
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def handle(self, records: Sequence[Record], time_left: float | None = None) -> list[str]:
        """Collect every record, several at a time, then send the batch's
        re-enqueues and dead letters. Returns the ids of the records SQS must
        deliver again: those that raised, those unfinished when the time
        budget (``time_left`` seconds less the margin) ended, and those whose
        message could not be sent. A record never fails its neighbours."""
        deadline = None
        if time_left is not None:
            deadline = self.clock() + max(0.0, time_left - self.margin_seconds)
        futures = self._collect_all(records, deadline)
        retry: list[str] = []
        decided: list[tuple[Record, Decision]] = []
        unfinished = 0
        for record, future in futures:
            if not future.done() or future.cancelled() or isinstance(future.exception(), OutOfTime):
                unfinished += 1
                account_id, run_id = salvage_ids(record.body)
                logger.warning(
                    "record unfinished when the time budget ended; SQS will deliver it again",
                    message_id=record.message_id,
                    account_id=account_id,
                    run_id=run_id,
                )
                retry.append(record.message_id)
            elif future.exception() is not None:
                logger.error(
                    "record failed; SQS will deliver it again",
                    message_id=record.message_id,
                    exc_info=future.exception(),
                )
                retry.append(record.message_id)
            else:
                decided.append((record, future.result()))
        if unfinished:
            metrics.add_metric(name="RecordsOutOfTime", unit=MetricUnit.Count, value=unfinished)
        retry.extend(self._send(decided))
        return retry

    def _collect_all(
        self, records: Sequence[Record], deadline: float | None
    ) -> list[tuple[Record, Future[Decision]]]:
        """Start every record and wait for them until ``deadline``; the
        futures, done or not, in the order of ``records``."""
        workers = max(1, min(self.concurrency, len(records)))
        timeout = None if deadline is None else max(0.0, deadline - self.clock())
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="record")
        try:
            # Each record in a copy of the handler's context: its log keys stay its own.
            futures = [
                (
                    record,
                    pool.submit(contextvars.copy_context().run, self._collect, record, deadline),
                )
                for record in records
            ]
            wait([future for _, future in futures], timeout=timeout)
        finally:
            # Never join: a thread stuck in a call must not hold the invocation
            # open. Records not started yet are cancelled; a running one ends
            # on its own (its calls have timeouts, aws.WORKER_CALL_CONFIG).
            pool.shutdown(wait=False, cancel_futures=True)
        return futures

    def _collect(self, record: Record, deadline: float | None) -> Decision:
        if deadline is not None and self.clock() >= deadline:
            raise OutOfTime("not started: the invocation's time budget had ended")
        return self.collector.collect_body(record.body, deadline)

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
