"""The worker's batch transport (credreports.logic.worker.batch): records
collected concurrently, their messages sent together, and the partial batch
response naming exactly the records SQS must deliver again."""

from __future__ import annotations

from credreports.adapters.queue import Outgoing
from credreports.logic.worker.batch import Record, WorkerBatch
from credreports.logic.worker.policy import Decision, Outcome
from tests.support.fakes import MemoryQueue


class ByBody:
    """A collector that decides by the body: "store", "requeue:<key>",
    "fail:<key>", or "crash" (raises, as a bug would)."""

    def collect_body(self, body: str, deadline: float | None = None) -> Decision:
        verb, _, key = body.partition(":")
        if verb == "crash":
            raise RuntimeError("injected: a bug in one record")
        if verb == "requeue":
            return Decision(Outcome.REQUEUED, requeue=Outgoing(key=key, body=body))
        if verb == "fail":
            return Decision(Outcome.FAILED, dead_letter=Outgoing(key=key, body=body))
        return Decision(Outcome.STORED)


def batch(work: MemoryQueue, dead: MemoryQueue) -> WorkerBatch:
    return WorkerBatch(collector=ByBody(), work_queue=work, dead_letters=dead)


def test_each_record_ends_sent_or_named_for_redelivery() -> None:
    # Given a batch with a stored, a requeued, a failed and a crashing record
    work, dead = MemoryQueue(), MemoryQueue()
    records = [
        Record("m1", "store"),
        Record("m2", "requeue:222222222222"),
        Record("m3", "fail:333333333333"),
        Record("m4", "crash"),
    ]

    # When the batch is handled
    retry = batch(work, dead).handle(records)

    # Then only the crashing record comes back; the others' messages were sent
    assert retry == ["m4"]
    assert [m.key for m in work.sent] == ["222222222222"]
    assert [m.key for m in dead.sent] == ["333333333333"]


def test_a_record_whose_message_could_not_be_sent_is_delivered_again() -> None:
    # Given a work queue that refuses one account's re-enqueue
    work, dead = MemoryQueue(refuse={"222222222222"}), MemoryQueue()
    records = [Record("m1", "requeue:111111111111"), Record("m2", "requeue:222222222222")]

    retry = batch(work, dead).handle(records)

    # Then that record alone is retried (it was not acknowledged), the other was sent
    assert retry == ["m2"]
    assert [m.key for m in work.sent] == ["111111111111"]


def test_an_empty_batch_sends_nothing() -> None:
    work, dead = MemoryQueue(), MemoryQueue()
    assert batch(work, dead).handle([]) == []
    assert not work.sent and not dead.sent
