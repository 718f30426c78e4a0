"""Sending a run check to the control queue: the producer when a run starts,
``enqueue --run`` and ``replay`` when they reopen one. The summarizer answers
it once the run is settled or late (credreports.logic.summarizer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from credreports.adapters.queue import Outgoing
from credreports.models.run_check import CheckOrigin, RunCheck
from credreports.ports import MessageSender


@dataclass(frozen=True)
class CheckSender:
    """The control queue, and how long a check waits there before the summarizer looks."""

    queue: MessageSender
    delay_seconds: int

    def send(self, run_id: str, origin: CheckOrigin) -> None:
        """One delayed check of ``run_id``, issued now; raises DeliveryError if
        SQS refuses it."""
        # The wall clock, as the summarizer reads it when it measures the
        # run's deadline from this moment.
        check = RunCheck(run_id=run_id, issued_at=datetime.now(UTC), origin=origin)
        self.queue.send_all(
            [Outgoing(key=run_id, body=check.to_body(), delay_seconds=self.delay_seconds)]
        )
