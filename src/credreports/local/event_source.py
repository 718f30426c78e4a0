"""The local event-source loop: what Lambda's SQS trigger does, on the emulator.

Up to a subscription's ``concurrency`` invocations run at once (the event
source's MaximumConcurrency); each is a call of its handler, which for the
pipeline is a pool of processes (credreports.local.containers), one per
concurrent invocation, as Lambda runs one sandbox per concurrent invocation.
It receives batches, builds the event Lambda would build (every record field,
ApproximateReceiveCount included), calls the real handler, deletes what
succeeded, and leaves the rest invisible until the queue's visibility timeout
ends, so the queue's redrive policy moves poison messages to the dead-letter
queue exactly as on AWS. A handler that raises fails its whole batch, as on
Lambda, and so does one still running at the function's timeout: the loop
stops waiting for it and leaves the batch to come back after the visibility
timeout (the handler's thread cannot be stopped; on Lambda the sandbox would
be). A subscription's batching window gathers records over several receives
until the batch is full or the window ends, as the SQS event source's
MaximumBatchingWindowInSeconds does.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from credreports import aws
from credreports.adapters.queue import Queue, QueueDepths

Handler = Callable[[dict[str, Any], Any], Any]
_log = logging.getLogger(__name__)


@dataclass
class LocalContext:
    """The attributes of Lambda's context object that handlers read."""

    function_name: str
    memory_limit_in_mb: int = 256
    timeout_seconds: float = 300
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS trigger delivers for ``messages`` (ReceiveMessage items)."""
    records = []
    for message in messages:
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {
                    name: message.get("Attributes", {}).get(name, "")
                    for name in (
                        "ApproximateReceiveCount",
                        "SentTimestamp",
                        "SenderId",
                        "ApproximateFirstReceiveTimestamp",
                    )
                },
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "binaryValue": value.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": value["DataType"],
                    }
                    for name, value in message.get("MessageAttributes", {}).items()
                },
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


@dataclass
class Subscription:
    queue_url: str
    queue_arn: str
    handler: Handler
    function_name: str
    batch_size: int
    # The function's timeout: a handler still running then fails its batch.
    timeout_seconds: float = 300
    # MaximumBatchingWindowInSeconds: 0 invokes with what one receive returned.
    batching_window_seconds: float = 0
    # ScalingConfig.MaximumConcurrency: invocations at once.
    concurrency: int = 1


@dataclass
class LoopStats:
    invocations: dict[str, int] = field(default_factory=dict)
    records: dict[str, int] = field(default_factory=dict)
    failed_records: dict[str, int] = field(default_factory=dict)
    handler_errors: dict[str, int] = field(default_factory=dict)
    # Invocations still running at the function's timeout (counted in handler_errors too).
    timeouts: dict[str, int] = field(default_factory=dict)
    # How long each invocation took, in seconds (a timed-out one: its timeout).
    durations: dict[str, list[float]] = field(default_factory=dict)
    # The most invocations of a function that ran at once.
    peak_concurrency: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None


class InvocationTimeout(Exception):
    """The handler was still running at the function's timeout."""


def invoke_with_timeout(
    handler: Handler, event: dict[str, Any], context: LocalContext, timeout_seconds: float
) -> Any:
    """Run ``handler`` as Lambda would: its answer, its exception, or
    InvocationTimeout if it is still running after ``timeout_seconds``."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["response"] = handler(event, context)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, name=f"invoke-{context.function_name}", daemon=True)
    thread.start()
    # A container is killed at the same deadline (credreports.local.containers).
    thread.join(timeout_seconds)
    if thread.is_alive():
        raise InvocationTimeout(
            f"Task timed out after {timeout_seconds:.2f} seconds ({context.function_name})"
        )
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("response")


class EventSourceLoop:
    """Delivers SQS batches to handlers until every queue is empty."""

    def __init__(self, client: Any = None) -> None:
        self._client = client or aws.client("sqs")
        self._region = self._client.meta.region_name
        # By function name: "worker", "dlq_handler".
        self.subscriptions: dict[str, Subscription] = {}
        self.stats = LoopStats()
        self._stats_lock = threading.Lock()
        self._running: dict[str, int] = {}

    def subscribe(
        self,
        queue_url: str,
        handler: Handler,
        function_name: str,
        batch_size: int = 10,
        *,
        timeout_seconds: float = 300,
        batching_window_seconds: float = 0,
        concurrency: int = 1,
    ) -> None:
        arn = self._client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        self.subscriptions[function_name] = Subscription(
            queue_url=queue_url,
            queue_arn=arn["Attributes"]["QueueArn"],
            handler=handler,
            function_name=function_name,
            batch_size=batch_size,
            timeout_seconds=timeout_seconds,
            batching_window_seconds=batching_window_seconds,
            concurrency=concurrency,
        )

    def _receive(self, subscription: Subscription, limit: int) -> list[dict[str, Any]]:
        answer = self._client.receive_message(
            QueueUrl=subscription.queue_url,
            # SQS returns at most 10 messages a call, whatever the batch size.
            MaxNumberOfMessages=min(limit, 10),
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        messages: list[dict[str, Any]] = answer.get("Messages", [])
        return messages

    def _gather(self, subscription: Subscription) -> list[dict[str, Any]]:
        """One batch: what a receive returns, then, within the batching
        window, more receives until the batch is full."""
        messages = self._receive(subscription, subscription.batch_size)
        if not messages:
            return []
        window_ends = time.monotonic() + subscription.batching_window_seconds
        while len(messages) < subscription.batch_size and time.monotonic() < window_ends:
            more = self._receive(subscription, subscription.batch_size - len(messages))
            if more:
                messages.extend(more)
            else:
                time.sleep(min(0.05, max(0.0, window_ends - time.monotonic())))
        return messages

    def poll(self, subscription: Subscription) -> int:
        """One batch and one invocation; returns the number of records delivered."""
        messages = self._gather(subscription)
        if messages:
            self._invoke(subscription, messages)
        return len(messages)

    def _count(self, counter: dict[str, int], name: str, by: int = 1) -> None:
        counter[name] = counter.get(name, 0) + by

    def _invoke(
        self,
        subscription: Subscription,
        messages: list[dict[str, Any]],
        returned: Callable[[], None] | None = None,
    ) -> None:
        """Invoke the handler with ``messages`` and delete those it handled.
        ``returned`` is called as soon as the handler has returned (or
        failed): Lambda frees the concurrency slot then, and deletes the
        batch's records afterwards."""
        name = subscription.function_name
        event = sqs_event(messages, subscription.queue_arn, self._region)
        with self._stats_lock:
            self._count(self.stats.invocations, name)
            self._count(self.stats.records, name, len(messages))
            self._count(self._running, name)
            self.stats.peak_concurrency[name] = max(
                self.stats.peak_concurrency.get(name, 0), self._running[name]
            )
        context = LocalContext(function_name=name, timeout_seconds=subscription.timeout_seconds)
        started = time.monotonic()
        try:
            response = invoke_with_timeout(
                subscription.handler, event, context, subscription.timeout_seconds
            )
        except Exception as exc:
            # Lambda: an exception or a timeout fails the whole batch; nothing is deleted.
            with self._stats_lock:
                self._count(self._running, name, -1)
                self.stats.durations.setdefault(name, []).append(time.monotonic() - started)
                if isinstance(exc, InvocationTimeout):
                    self._count(self.stats.timeouts, name)
                self._count(self.stats.handler_errors, name)
                self._count(self.stats.failed_records, name, len(messages))
                self.stats.last_error = f"{name}: {type(exc).__name__}: {exc}"
            if returned:
                returned()
            _log.warning("%s failed its batch of %d: %s", name, len(messages), exc)
            return
        failed = {item["itemIdentifier"] for item in (response or {}).get("batchItemFailures", [])}
        with self._stats_lock:
            self._count(self._running, name, -1)
            self.stats.durations.setdefault(name, []).append(time.monotonic() - started)
            self._count(self.stats.failed_records, name, len(failed))
        if returned:
            returned()
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self._client.delete_message_batch(
                QueueUrl=subscription.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(done[start : start + 10])
                ],
            )

    def depths(self) -> dict[str, QueueDepths]:
        return {
            s.queue_url: Queue(s.queue_url, client=self._client).depths()
            for s in self.subscriptions.values()
        }

    def run_until_idle(
        self,
        timeout_seconds: float = 120,
        idle_sleep: float = 0.1,
        on_progress: Callable[[], None] | None = None,
    ) -> LoopStats:
        """Deliver batches, up to each subscription's concurrency at once,
        until every queue is empty (nothing visible, in flight or delayed)
        and no invocation runs. Raises TimeoutError if that takes longer than
        the timeout.

        Each subscription has a poller of its own, as each event source
        mapping has on AWS: it receives a batch as soon as one of its
        function's slots is free, while the other functions run, and polls an
        empty queue less often the longer it stays empty (up to
        ``MAX_IDLE_POLL_SECONDS``)."""
        deadline = time.monotonic() + timeout_seconds
        slots = sum(s.concurrency for s in self.subscriptions.values())
        pool = ThreadPoolExecutor(max_workers=max(1, slots), thread_name_prefix="invocation")
        pollers = [
            _Poller(self, subscription, pool) for subscription in self.subscriptions.values()
        ]
        empty_checks = 0
        try:
            for poller in pollers:
                poller.start()
            while time.monotonic() < deadline:
                time.sleep(idle_sleep)
                for poller in pollers:
                    poller.raise_error()
                if on_progress:
                    on_progress()
                if any(poller.holding for poller in pollers):
                    empty_checks = 0
                    continue
                # Two empty readings in a row: moto counts visible and in-flight
                # messages at two instants, so a message whose visibility timeout
                # ends between them is in neither count once.
                if all(depth.total == 0 for depth in self.depths().values()):
                    empty_checks += 1
                    if empty_checks >= 2:
                        return self.stats
                else:
                    empty_checks = 0
        finally:
            for poller in pollers:
                poller.stop()
            busy = any(poller.holding for poller in pollers)
            pool.shutdown(wait=not busy, cancel_futures=True)
        raise TimeoutError(f"queues not empty after {timeout_seconds} s: {self.depths()}")


#: The longest an idle poller waits between two receives of an empty queue.
MAX_IDLE_POLL_SECONDS = 0.5
_FIRST_IDLE_POLL_SECONDS = 0.02


class _Poller:
    """One subscription's poller thread: takes a free slot, receives a
    batch, and hands it to an invocation thread, which frees the slot when
    the handler returns."""

    def __init__(
        self, loop: EventSourceLoop, subscription: Subscription, pool: ThreadPoolExecutor
    ) -> None:
        self._loop = loop
        self._subscription = subscription
        self._pool = pool
        self._free = threading.Semaphore(subscription.concurrency)
        self._lock = threading.Lock()
        # Slots taken: a receive under way, or an invocation not returned yet.
        self._holding = 0
        self._stopped = threading.Event()
        self._errors: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, name=f"poller-{subscription.function_name}", daemon=True
        )

    @property
    def holding(self) -> int:
        with self._lock:
            return self._holding

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=30)

    def raise_error(self) -> None:
        with self._lock:
            if self._errors:
                raise self._errors[0]

    def _take(self) -> bool:
        if not self._free.acquire(timeout=0.1):
            return False
        with self._lock:
            self._holding += 1
        return True

    def _give_back(self) -> None:
        with self._lock:
            self._holding -= 1
        self._free.release()

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            self._errors.append(exc)
        self._stopped.set()

    def _run(self) -> None:
        idle = 0.0
        while not self._stopped.is_set():
            if not self._take():
                continue
            try:
                messages = self._loop._gather(self._subscription)
            except Exception as exc:
                self._give_back()
                self._failed(exc)
                return
            if not messages:
                self._give_back()
                idle = min(max(idle * 2, _FIRST_IDLE_POLL_SECONDS), MAX_IDLE_POLL_SECONDS)
                self._stopped.wait(idle)
                continue
            idle = 0.0
            self._pool.submit(self._invoke, messages)

    def _invoke(self, messages: list[dict[str, Any]]) -> None:
        returned = threading.Event()

        def give_back() -> None:
            if not returned.is_set():
                returned.set()
                self._give_back()

        try:
            self._loop._invoke(self._subscription, messages, give_back)
        except Exception as exc:
            self._failed(exc)
        finally:
            give_back()
