"""Where moto's SQS differs from SQS in ways the local loop would trip on or
measure, corrected in the embedded emulator (credreports.local.emulator
applies them when it starts; the API and its answers are unchanged):

- moto serves a queue from several request threads without a lock: a
  ReceiveMessage iterating over a queue's messages while a SendMessageBatch
  adds one fails with "Set changed size during iteration", after it has
  taken messages in flight that nobody then receives. SQS loses no message
  that way; here the queue operations take one lock.
- moto checks each message it hands out against the retention period by
  computing every attribute of the queue, its message counts included: a
  ReceiveMessage of 10 from a queue of 5,000 messages took 4 s, where SQS
  answers in milliseconds. The retention period is read directly.
- moto's DeleteMessage scans the queue twice per receipt handle; one scan,
  stopping at the message. Its list of visible messages and its message
  counts ask the clock once or twice per message, and SendMessage computes
  every count for each message sent (to read one setting): the clock is read
  once per list or count, and each count is computed once per operation,
  which keeps a SendMessageBatch to a queue of 10,000 messages at the cost of
  one to an empty queue.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

_lock = threading.RLock()
_applied = False

# The SQSBackend operations that read or change a queue's messages.
_LOCKED = (
    "send_message",
    "send_message_batch",
    "receive_message",
    "delete_message",
    "delete_message_batch",
    "change_message_visibility",
    "change_message_visibility_batch",
    "get_queue_attributes",
    "purge_queue",
)


# While an operation holds the lock, each of a queue's counts is computed once
# in its thread (see _count).
_operation = threading.local()


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            outermost = getattr(_operation, "counts", None) is None
            if outermost:
                _operation.counts = {}
            try:
                return method(*args, **kwargs)
            finally:
                if outermost:
                    _operation.counts = None

    return call


def _count(queue: Any, kind: str, compute: Callable[[Any], int]) -> int:
    """A count of ``queue``'s messages, computed once per locked operation:
    SendMessage reads the queue's attributes, every count among them, for
    each message it sends; no operation returns a count after changing the
    queue."""
    counts: dict[tuple[int, str], int] | None = getattr(_operation, "counts", None)
    if counts is None:
        return compute(queue)
    key = (id(queue), kind)
    if key not in counts:
        counts[key] = compute(queue)
    return counts[key]


def _retained(backend: Any, queue_name: str, message: Any) -> bool:
    from moto.core.utils import unix_time

    retention = int(backend.get_queue(queue_name).message_retention_period)
    return bool(retention + message.sent_timestamp / 1000 > unix_time())


def _delete_message(queue: Any, receipt_handle: str) -> None:
    from moto.sqs.exceptions import ReceiptHandleIsInvalid

    if receipt_handle in queue.deleted_messages:
        return  # deleted already: SQS accepts it again
    for index, message in enumerate(queue._messages):
        if message.receipt_handle == receipt_handle or receipt_handle in (
            message._old_receipt_handles
        ):
            queue.pending_messages.discard(message)
            queue.deleted_messages.update(message.all_receipt_handles)
            del queue._messages[index]
            return
    raise ReceiptHandleIsInvalid()


def _visible_messages(queue: Any) -> list[Any]:
    from moto.core.utils import unix_time_millis

    now = unix_time_millis()
    return [m for m in queue._messages if now > m.visible_at and not now < m.delayed_until]


def _not_visible(queue: Any) -> int:
    from moto.core.utils import unix_time_millis

    def compute(queue: Any) -> int:
        now = unix_time_millis()
        return sum(1 for m in queue._messages if not now > m.visible_at)

    return _count(queue, "not-visible", compute)


def _delayed(queue: Any) -> int:
    from moto.core.utils import unix_time_millis

    def compute(queue: Any) -> int:
        now = unix_time_millis()
        return sum(1 for m in queue._messages if now < m.delayed_until)

    return _count(queue, "delayed", compute)


def _visible(queue: Any) -> int:
    return _count(queue, "visible", lambda queue: len(_visible_messages(queue)))


def apply() -> None:
    """Correct moto's SQS in this process (once)."""
    global _applied
    with _lock:
        if _applied:
            return
        from moto.sqs.models import Queue, SQSBackend

        for name in _LOCKED:
            setattr(SQSBackend, name, _locked(getattr(SQSBackend, name)))
        replaced: tuple[tuple[type, str, Any], ...] = (
            (SQSBackend, "is_message_valid_based_on_retention_period", _retained),
            (Queue, "delete_message", _delete_message),
            (Queue, "messages", property(_visible_messages)),
            (Queue, "approximate_number_of_messages", property(_visible)),
            (Queue, "approximate_number_of_messages_not_visible", property(_not_visible)),
            (Queue, "approximate_number_of_messages_delayed", property(_delayed)),
        )
        for owner, name, replacement in replaced:
            setattr(owner, name, replacement)
        _applied = True
