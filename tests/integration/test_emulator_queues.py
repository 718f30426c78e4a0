"""The emulator's queues count as SQS does after its corrections of moto
(credreports/local/moto_sqs.py): the loop ends a run on these counts, and a
count that lagged or stuck would end it early or never."""

from __future__ import annotations

from typing import Any

import boto3

from credreports.adapters.queue import Queue


def _send(sqs: Any, url: str, count: int, delay: int = 0, start: int = 0) -> None:
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": str(index), "MessageBody": f"m{start + index}", "DelaySeconds": delay}
            for index in range(count)
        ],
    )


def test_counts_follow_every_send_receive_and_delete() -> None:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="counted", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    queue = Queue(url, client=sqs)
    _send(sqs, url, 6)
    _send(sqs, url, 2, delay=60, start=6)
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=4)["Messages"]
    depths = queue.depths()
    assert (depths.visible, depths.in_flight, depths.delayed) == (2, 4, 2)

    # A send right after a count is counted by the next one: each operation
    # counts afresh.
    _send(sqs, url, 10, start=8)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"])
    depths = queue.depths()
    assert (depths.visible, depths.in_flight, depths.delayed) == (12, 3, 2)
    assert depths.total == 17
