"""The message contract: its JSON shape is pinned, and every kind of bad body
is rejected with a reason that names the problem."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from credreports.models.codes import Reason, Trigger
from credreports.models.ids import run_date, run_id_for
from credreports.models.messages import (
    DeadLetterMessage,
    InvalidMessageError,
    WorkMessage,
    parse_dead_letter,
    parse_work_message,
    salvage_ids,
)


def body(**overrides: Any) -> str:
    fields: dict[str, Any] = {
        "v": 1,
        "account_id": "111122223333",
        "run_id": "20261123T020000Z",
        "attempt": 0,
        "trigger": "schedule",
        "enqueued_at": "2026-11-23T02:00:01Z",
    }
    fields.update(overrides)
    return json.dumps({k: v for k, v in fields.items() if v is not ...})


def test_contract_shape_is_pinned() -> None:
    message = WorkMessage(
        account_id="111122223333",
        run_id="20261123T020000Z",
        attempt=0,
        trigger=Trigger.SCHEDULE,
        enqueued_at=datetime(2026, 11, 23, 2, 0, 1, tzinfo=UTC),
    )
    assert json.loads(message.to_body()) == json.loads(body())
    assert parse_work_message(message.to_body()) == message


def test_dead_letter_adds_failure_and_keeps_the_rest() -> None:
    message = parse_work_message(body(attempt=44))
    dead = message.failed(Reason.REPORT_NOT_READY, "gave up", attempts=45)
    data = json.loads(dead.model_dump_json())
    assert set(data) == {
        "v",
        "account_id",
        "run_id",
        "attempt",
        "trigger",
        "enqueued_at",
        "failure",
    }
    assert data["attempt"] == 45
    assert set(data["failure"]) == {"reason", "detail", "failed_at"}
    assert data["failure"]["reason"] == "REPORT_NOT_READY"
    assert isinstance(parse_dead_letter(dead.model_dump_json()), DeadLetterMessage)


def test_a_reenqueued_message_changes_only_its_attempt() -> None:
    message = parse_work_message(body(attempt=3))
    following = message.with_attempt(4)
    assert following.attempt == 4
    assert following.model_dump(exclude={"attempt"}) == message.model_dump(exclude={"attempt"})


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("{not json", r"body is not JSON"),
        ("[1, 2]", r"body is JSON list, not an object"),
        (body(v=...), r"v: missing \(message version\)"),
        (body(v=2), r"v: unknown message version 2 \(supported: 1\)"),
        (body(account_id=...), r"account_id: missing"),
        (body(account_id="11112222333"), r"account_id: account id '11112222333' is not 12 digits"),
        (body(account_id=111122223333), r"account_id"),
        (body(run_id="2026-11-23"), r"run_id: run id '2026-11-23' is not of the form"),
        (body(trigger="cron"), r"trigger: Input should be 'schedule', 'manual' or 'replay'"),
        (body(attempt=-1), r"attempt: Input should be greater than or equal to 0"),
        (body(colour="blue"), r"colour: unexpected field"),
        (body(failure={"reason": "THROTTLED"}), r"failure: unexpected field"),
        (body(account_id="1" * 9000), r"body is \d+ characters, over the 8192 limit"),
    ],
)
def test_bad_bodies_are_rejected_with_the_problem_named(raw: str, problem: str) -> None:
    with pytest.raises(InvalidMessageError, match=problem):
        parse_work_message(raw)


def test_dead_letter_with_unknown_reason_is_invalid() -> None:
    raw = body(failure={"reason": "COSMIC_RAYS", "detail": "", "failed_at": "2026-11-23T02:00Z"})
    with pytest.raises(InvalidMessageError, match=r"failure.reason"):
        parse_dead_letter(raw)


def test_ids_are_salvaged_from_a_damaged_body_when_they_are_valid() -> None:
    assert salvage_ids(body(v=7)) == ("111122223333", "20261123T020000Z")
    assert salvage_ids(body(account_id="nope")) == (None, "20261123T020000Z")
    assert salvage_ids("garbage") == (None, None)


def test_run_date_is_the_run_s_own_date() -> None:
    run_id = run_id_for(datetime(2026, 11, 22, 23, 59, 59, tzinfo=UTC))
    assert run_id == "20261122T235959Z"
    assert run_date(run_id).isoformat() == "2026-11-22"
