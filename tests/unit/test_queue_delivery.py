"""Queue.deliver's resend rounds (credreports.adapters.queue): failed entries
of SendMessageBatch are sent again, sender faults are not, and what is still
unsent after the rounds comes back with why."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from credreports.adapters.queue import RESEND_ROUNDS, Outgoing, Queue
from credreports.errors import DeliveryError

URL = "https://sqs.us-east-1.amazonaws.com/123456789012/work"


class Sqs:
    """SendMessageBatch that fails the entries ``failing(call, message)`` names."""

    def __init__(self, failing: Any = None, sender_fault: bool = False) -> None:
        self.failing = failing or (lambda call, key: False)
        self.sender_fault = sender_fault
        self.calls: list[list[str]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append([entry["MessageBody"] for entry in Entries])
        call = len(self.calls)
        failed = [
            {"Id": entry["Id"], "Code": "InternalError", "SenderFault": self.sender_fault}
            for entry in Entries
            if self.failing(call, entry["MessageBody"])
        ]
        return {"Successful": [], "Failed": failed}


def messages(count: int) -> list[Outgoing]:
    return [Outgoing(key=f"{i:012d}", body=f"{i:012d}") for i in range(count)]


def test_ten_a_call_and_failed_entries_resent_in_the_next_round() -> None:
    # Given 25 messages, and SQS failing two entries of the first call only
    sqs = Sqs(failing=lambda call, body: call == 1 and body in {"000000000001", "000000000007"})
    queue = Queue(URL, client=sqs, backoff_seconds=0)

    # When they are delivered
    unsent = queue.deliver(messages(25))

    # Then three calls of at most 10 were made, then one resending the two
    assert unsent == []
    assert [len(call) for call in sqs.calls] == [10, 10, 5, 2]
    assert sqs.calls[-1] == ["000000000001", "000000000007"]


def test_an_entry_failing_every_round_comes_back_with_why() -> None:
    sqs = Sqs(failing=lambda call, body: body == "000000000003")
    queue = Queue(URL, client=sqs, backoff_seconds=0)

    unsent = queue.deliver(messages(5))

    assert [(m.key, why) for m, why in unsent] == [("000000000003", "service: InternalError")]
    assert len(sqs.calls) == RESEND_ROUNDS
    with pytest.raises(DeliveryError, match="000000000003"):
        queue.send_all(messages(5))


def test_sender_faults_are_not_resent() -> None:
    sqs = Sqs(failing=lambda call, body: body == "000000000000", sender_fault=True)
    queue = Queue(URL, client=sqs, backoff_seconds=0)

    unsent = queue.deliver(messages(2))

    assert [why for _, why in unsent] == ["sender: InternalError"]
    assert len(sqs.calls) == 1


def test_a_call_that_raises_fails_its_whole_batch_for_that_round() -> None:
    class Flaky(Sqs):
        def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
            if not self.calls:
                self.calls.append([])
                raise ClientError({"Error": {"Code": "ServiceUnavailable"}}, "SendMessageBatch")
            return super().send_message_batch(QueueUrl, Entries)

    sqs = Flaky()
    unsent = Queue(URL, client=sqs, backoff_seconds=0).deliver(messages(3))

    assert unsent == [] and sqs.calls[-1] == [m.body for m in messages(3)]
