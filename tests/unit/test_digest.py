"""The SNS digests (issue 11, item 7): readable and filterable, bounded in
size, and at most one per run and digest window however many batches of
failures arrive, with a reminder held back so the failures of the batches
in between are counted by the next one. On fakes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from credreports.logic.dlq_handler import (
    LISTED_ACCOUNTS,
    DeadLetter,
    FailureRecorder,
    Recorded,
    digest,
    digest_window,
)
from credreports.models.codes import Reason, Trigger
from credreports.models.failure_record import FailureRecord
from tests.support.builders import RUN_ID, dead_letter_body
from tests.support.fakes import MemoryStore

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
INTERVAL = 300


def recorded(account: str, reason: Reason, run_id: str = RUN_ID) -> Recorded:
    record = FailureRecord(
        account_id=account,
        run_id=run_id,
        reason=reason,
        detail="x" * 500,
        attempts=45,
        trigger=Trigger.SCHEDULE,
        failed_at=NOW,
        recorded_at=NOW,
        message_id="m-" + account,
        receive_count=1,
    )
    return Recorded(key=f"failures/.../account={account}/failure.json", record=record)


class Inbox:
    """The SNS topic: what was published."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def publish(self, subject: str, message: str, attributes: dict[str, list[str] | str]) -> str:
        self.messages.append(
            {"subject": subject, "body": json.loads(message), "attributes": attributes}
        )
        return str(len(self.messages))


def test_a_digest_names_each_account_with_reason_and_attempts() -> None:
    batch = [
        recorded("111122223333", Reason.ROLE_ASSUME_DENIED),
        recorded("222233334444", Reason.REPORT_NOT_READY),
        recorded("333344445555", Reason.ROLE_ASSUME_DENIED),
    ]
    message = digest(RUN_ID, batch, failures_at="s3://b/failures/x/", recorded_in_run=3)

    assert message.subject == f"credreports: 3 accounts failed in run {RUN_ID}"
    document = json.loads(message.body)
    assert [f["account_id"] for f in document["failures"]] == [
        "111122223333",
        "222233334444",
        "333344445555",
    ]
    assert document["by_reason"] == {"REPORT_NOT_READY": 1, "ROLE_ASSUME_DENIED": 2}
    assert message.attributes["reason_codes"] == ["REPORT_NOT_READY", "ROLE_ASSUME_DENIED"]
    assert message.attributes["kind"] == "failure-digest"


def test_a_digest_of_hundreds_lists_the_first_and_says_where_the_rest_are() -> None:
    batch = [recorded(f"{index:012d}", Reason.THROTTLED) for index in range(300)]
    message = digest(RUN_ID, batch, failures_at="s3://b/failures/run/", recorded_in_run=900)

    document = json.loads(message.body)
    assert len(document["failures"]) == LISTED_ACCOUNTS
    assert document["not_listed"] == 300 - LISTED_ACCOUNTS
    assert document["failure_records"] == "s3://b/failures/run/"
    assert document["status_command"] == f"credreports status --run {RUN_ID}"
    assert message.subject.endswith("(900 so far)")
    assert len(message.body.encode()) < 256 * 1024 and len(message.subject) <= 100


def letters(first: int, count: int) -> list[DeadLetter]:
    return [
        DeadLetter(
            message_id=f"m-{index}",
            body=dead_letter_body(f"{index:012d}", Reason.STORAGE_DENIED),
            receive_count=1,
        )
        for index in range(first, first + count)
    ]


def deliver(
    recorder: FailureRecorder, batch: list[DeadLetter], now: datetime
) -> tuple[int, tuple[str, ...]]:
    """What the handler does with a batch: record each letter, then notify."""
    done = [r for r in (recorder.record(letter, now) for letter in batch) if r is not None]
    notified = recorder.notify(done, now)
    return notified.sent, notified.held


def test_five_hundred_failures_in_one_run_are_two_digests_and_every_account_is_recorded() -> None:
    # Given 50 batches of 10 STORAGE_DENIED failures of one run, within one window
    store, inbox = MemoryStore(), Inbox()
    recorder = FailureRecorder(store, inbox, interval_seconds=INTERVAL)
    window = NOW.replace(minute=0, second=0)
    held: list[str] = []
    for batch in range(50):
        sent, kept = deliver(recorder, letters(batch * 10, 10), window + timedelta(seconds=batch))
        held.extend(kept)

    # Then the first batch sent the window's digest; one later batch held a
    # letter back as the reminder, the others sent nothing
    assert len(inbox.messages) == 1
    assert held == ["m-10"]

    # When the reminder comes back after the window
    reminder = DeadLetter("m-10", dead_letter_body(f"{10:012d}"), receive_count=2)
    sent, kept = deliver(recorder, [reminder], window + timedelta(seconds=INTERVAL + 1))

    # Then the next digest goes out, counting every failure of the run so far
    assert (sent, kept) == (1, ())
    assert len(inbox.messages) == 2
    last = inbox.messages[-1]["body"]
    assert last["failures_recorded_in_run"] == 500
    assert last["failure_records"].endswith(f"run={RUN_ID}/")
    # ...and every failed account is named in a digest or has its failure record
    named = {f["account_id"] for m in inbox.messages for f in m["body"]["failures"]}
    records = {key.split("account=")[1].split("/")[0] for key in store.keys("failures/")}
    assert records == {f"{index:012d}" for index in range(500)}
    assert named <= records


def test_a_reminder_back_before_its_window_ended_is_held_again() -> None:
    store, inbox = MemoryStore(), Inbox()
    recorder = FailureRecorder(store, inbox, interval_seconds=INTERVAL)
    deliver(recorder, letters(0, 1), NOW)
    _, held = deliver(recorder, letters(1, 1), NOW + timedelta(seconds=1))
    assert held == ("m-1",)

    again = DeadLetter("m-1", dead_letter_body(f"{1:012d}"), receive_count=2)
    assert deliver(recorder, [again], NOW + timedelta(seconds=2)) == (0, ("m-1",))
    assert deliver(recorder, [again], NOW + timedelta(seconds=INTERVAL)) == (1, ())
    assert len(inbox.messages) == 2


def test_each_run_of_a_batch_gets_its_own_digest() -> None:
    store, inbox = MemoryStore(), Inbox()
    recorder = FailureRecorder(store, inbox, interval_seconds=INTERVAL)
    other = "20261122T020000Z"
    batch = [
        DeadLetter("m-1", dead_letter_body("111122223333", run_id=other), 1),
        DeadLetter("m-2", dead_letter_body("111122223333"), 1),
    ]
    assert deliver(recorder, batch, NOW) == (2, ())
    assert sorted(m["attributes"]["run_ids"][0] for m in inbox.messages) == [other, RUN_ID]


def test_windows_are_named_by_their_start() -> None:
    assert digest_window(datetime(2026, 11, 23, 3, 4, 59, tzinfo=UTC), 300) == "20261123T030000Z"
    assert digest_window(datetime(2026, 11, 23, 3, 5, 0, tzinfo=UTC), 300) == "20261123T030500Z"


class HeldLetters:
    """The dead-letter queue: which received letters were held back, how long."""

    def __init__(self) -> None:
        self.held: list[tuple[str, int]] = []

    def hold(self, receipt_handle: str, seconds: int) -> None:
        self.held.append((receipt_handle, seconds))


def test_a_reminder_is_made_to_come_back_as_the_next_window_opens() -> None:
    store, inbox, queue = MemoryStore(), Inbox(), HeldLetters()
    recorder = FailureRecorder(store, inbox, interval_seconds=INTERVAL, dead_letters=queue)
    window = NOW.replace(minute=0, second=0)
    deliver(recorder, letters(0, 1), window)

    # A batch 100 s into the window holds its letter back for the 200 s left (and one more)
    batch = [DeadLetter("m-1", dead_letter_body(f"{1:012d}"), 1, receipt_handle="r-1")]
    assert deliver(recorder, batch, window + timedelta(seconds=100)) == (0, ("m-1",))
    assert queue.held == [("r-1", 201)]
