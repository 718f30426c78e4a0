"""Counting requests and injecting latency with botocore event hooks.

Both hooks go on boto3's default session, which every credreports client is
built from (``credreports.aws.client``); botocore copies a session's hooks into
a client when the client is created, so they must be registered before
``dependencies.reset()`` makes the functions build fresh clients.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import boto3

# Calls that the local event-source loop makes on the functions' behalf (Lambda's
# event source mapping polls, deletes and checks queues); billed as SQS requests.
EVENT_SOURCE_OPERATIONS = frozenset(
    {"sqs.ReceiveMessage", "sqs.DeleteMessageBatch", "sqs.GetQueueAttributes"}
)


def default_session() -> Any:
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    return boto3.DEFAULT_SESSION


class RequestCounter:
    """Counts every API call made by clients of the default session, by
    ``service.Operation``. Retries by botocore are one call (one before-call)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        # ReceiveMessage calls that returned no message: the loop's idle polls.
        self.empty_receives = 0
        session = default_session()
        session.events.register("before-call", self._before_call, unique_id="bench-count")
        session.events.register(
            "after-call.sqs.ReceiveMessage", self._after_receive, unique_id="bench-empty"
        )

    def _before_call(self, event_name: str, **_: Any) -> None:
        service, operation = event_name.split(".", 2)[1:]
        with self._lock:
            self.calls[f"{service}.{operation}"] += 1

    def _after_receive(self, parsed: Any, **_: Any) -> None:
        if not parsed.get("Messages"):
            with self._lock:
                self.empty_receives += 1

    def snapshot(self) -> tuple[Counter[str], int]:
        with self._lock:
            return Counter(self.calls), self.empty_receives

    def since(self, mark: tuple[Counter[str], int]) -> tuple[Counter[str], int]:
        calls, empty = self.snapshot()
        return calls - mark[0], empty - mark[1]

    def close(self) -> None:
        session = default_session()
        session.events.unregister("before-call", unique_id="bench-count")
        session.events.unregister("after-call.sqs.ReceiveMessage", unique_id="bench-empty")


class Latency:
    """Sleeps before every HTTP request: a stand-in for AWS's round trip.
    The sleep happens in the calling thread, as a network wait would."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        default_session().events.register("before-send", self._sleep, unique_id="bench-latency")

    def _sleep(self, **_: Any) -> None:
        time.sleep(self.seconds)

    def close(self) -> None:
        default_session().events.unregister("before-send", unique_id="bench-latency")


class TimedHandler:
    """Wraps a Lambda handler: wall time of each invocation."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler
        self.durations: list[float] = []

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        started = time.perf_counter()
        try:
            return self.handler(event, context)
        finally:
            self.durations.append(time.perf_counter() - started)
