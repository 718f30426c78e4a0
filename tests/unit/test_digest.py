"""The SNS digest: one message per batch, readable, filterable, within SNS's size."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from credreports.logic.dlq_handler import DIGEST_BYTES, Recorded, digests
from credreports.models.codes import Reason, Trigger
from credreports.models.failure_record import FailureRecord

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def recorded(account: str, reason: Reason, run_id: str = "20261123T020000Z") -> Recorded:
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


def test_one_digest_names_every_account_with_reason_and_attempts() -> None:
    batch = [
        recorded("111122223333", Reason.ROLE_ASSUME_DENIED),
        recorded("222233334444", Reason.REPORT_NOT_READY),
        recorded("333344445555", Reason.ROLE_ASSUME_DENIED),
    ]
    (message,) = digests(batch)
    subject, body, attributes = message
    assert subject == "credreports: 3 accounts failed in run 20261123T020000Z"
    document = json.loads(body)
    assert [f["account_id"] for f in document["failures"]] == [
        "111122223333",
        "222233334444",
        "333344445555",
    ]
    assert document["by_reason"] == {"REPORT_NOT_READY": 1, "ROLE_ASSUME_DENIED": 2}
    assert attributes["reason_codes"] == ["REPORT_NOT_READY", "ROLE_ASSUME_DENIED"]


def test_three_hundred_failures_are_a_handful_of_messages_not_three_hundred() -> None:
    batch = [recorded(f"{index:012d}", Reason.THROTTLED) for index in range(300)]
    messages = digests(batch)
    assert 1 <= len(messages) <= 3
    assert all(
        len(body.encode()) < 256 * 1024 and len(subject) <= 100 for subject, body, _ in messages
    )
    assert sum(json.loads(body)["count"] for _, body, _ in messages) == 300
    assert DIGEST_BYTES < 256 * 1024


def test_subject_says_when_several_runs_are_in_one_batch() -> None:
    batch = [
        recorded("111122223333", Reason.THROTTLED, "20261122T020000Z"),
        recorded("111122223333", Reason.THROTTLED, "20261123T020000Z"),
    ]
    ((subject, _, attributes),) = digests(batch)
    assert subject == "credreports: 2 accounts failed in 2 runs"
    assert attributes["run_ids"] == ["20261122T020000Z", "20261123T020000Z"]
