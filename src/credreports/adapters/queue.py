"""SQS: the work queue and the dead-letter queue."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from credreports import aws
from credreports.adapters.aws_errors import describe
from credreports.errors import DeliveryError

BATCH_LIMIT = 10  # SendMessageBatch takes at most 10 entries.
RESEND_ROUNDS = 5


@dataclass(frozen=True)
class Outgoing:
    """One message to send; ``key`` identifies it in errors (an account id)."""

    key: str
    body: str
    delay_seconds: int = 0


@dataclass(frozen=True)
class QueueDepths:
    visible: int
    in_flight: int
    delayed: int

    @property
    def total(self) -> int:
        return self.visible + self.in_flight + self.delayed


class Queue:
    """Sends to one SQS queue; failed batch entries are sent again."""

    SERVICE = "sqs"

    def __init__(self, url: str, client: Any = None, *, backoff_seconds: float = 0.2) -> None:
        self.url = url
        self._client = client or aws.client(self.SERVICE)
        self._backoff = backoff_seconds

    def send_all(self, messages: Sequence[Outgoing]) -> None:
        """Send every message, 10 per call; raise DeliveryError naming what
        could not be sent after several rounds."""
        failed = self.deliver(messages)
        if failed:
            names = ", ".join(f"{message.key} ({reason})" for message, reason in failed)
            raise DeliveryError(f"could not send to {self.url}: {names}")

    def deliver(self, messages: Sequence[Outgoing]) -> list[tuple[Outgoing, str]]:
        """Send every message, 10 per call, resending failed entries for several
        rounds; returns the messages (the same objects) still not sent, with why."""
        pending = list(messages)
        failed: list[tuple[Outgoing, str]] = []
        for round_number in range(RESEND_ROUNDS):
            failed = []
            for start in range(0, len(pending), BATCH_LIMIT):
                failed.extend(self._send_batch(pending[start : start + BATCH_LIMIT]))
            if not failed:
                return []
            pending = [message for message, _ in failed]
            # Sender faults (a malformed entry) will not improve by resending.
            if all(reason.startswith("sender:") for _, reason in failed):
                break
            time.sleep(self._backoff * 2**round_number)
        return failed

    def _send_batch(self, batch: Sequence[Outgoing]) -> list[tuple[Outgoing, str]]:
        entries = [
            {"Id": str(index), "MessageBody": message.body, "DelaySeconds": message.delay_seconds}
            for index, message in enumerate(batch)
        ]
        try:
            answer = self._client.send_message_batch(QueueUrl=self.url, Entries=entries)
        except (ClientError, BotoCoreError) as exc:
            return [(message, describe(exc)) for message in batch]
        return [
            (
                batch[int(entry["Id"])],
                f"{'sender' if entry.get('SenderFault') else 'service'}: {entry.get('Code', '?')}",
            )
            for entry in answer.get("Failed", [])
        ]

    def hold(self, receipt_handle: str, seconds: int) -> None:
        """Keep a received message invisible for ``seconds`` from now; it is
        delivered again then (if it is not deleted meanwhile)."""
        try:
            self._client.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )
        except (ClientError, BotoCoreError) as exc:
            raise DeliveryError(describe(exc)) from exc

    def depths(self) -> QueueDepths:
        try:
            attributes = self._client.get_queue_attributes(
                QueueUrl=self.url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
        except (ClientError, BotoCoreError) as exc:
            raise DeliveryError(describe(exc)) from exc
        return QueueDepths(
            visible=int(attributes["ApproximateNumberOfMessages"]),
            in_flight=int(attributes["ApproximateNumberOfMessagesNotVisible"]),
            delayed=int(attributes["ApproximateNumberOfMessagesDelayed"]),
        )
