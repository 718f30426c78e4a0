"""The worker's batch transport: the records of one SQS batch collected
concurrently, their re-enqueues and dead letters sent together (one
SendMessageBatch per 10), and the ids of the records SQS must deliver again
(the partial batch response)."""

from __future__ import annotations

import contextvars
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from credreports.logic.worker.policy import Decision
from credreports.observability import logger
from credreports.ports import MessageSender

# Records of one batch collected at the same time. Each waits on STS, IAM and
# S3 most of its time, so threads overlap those waits; 10 is SQS's batch size.
# Ten reports of 5,000 users fit in 128 MB only with freed buffers returned to
# the OS (credreports.memory; README, Performance: worker peak RSS).
CONCURRENCY = 10


@dataclass(frozen=True)
class Record:
    """One SQS record of a batch: its id (for batchItemFailures) and body."""

    message_id: str
    body: str


class Collector(Protocol):
    """The per-account policy (policy.AccountCollector)."""

    def collect_body(self, body: str) -> Decision: ...


@dataclass
class WorkerBatch:
    """Runs the per-account policy over a batch and sends what it decided."""

    collector: Collector
    work_queue: MessageSender
    dead_letters: MessageSender
    concurrency: int = CONCURRENCY

    def handle(self, records: Sequence[Record]) -> list[str]:
        """Collect every record, several at a time, then send the batch's
        re-enqueues and dead letters. Returns the ids of the records SQS must
        deliver again: those that raised, and those whose message could not
        be sent. A record never fails its neighbours."""
        retry: list[str] = []
        decided: list[tuple[Record, Decision]] = []
        workers = max(1, min(self.concurrency, len(records)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="record") as pool:
            # Each record in a copy of the handler's context: its log keys stay its own.
            futures = [
                (
                    record,
                    pool.submit(
                        contextvars.copy_context().run, self.collector.collect_body, record.body
                    ),
                )
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
