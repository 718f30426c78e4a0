"""What the producer accepts as an event, and how it says no."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from credreports.logic.producer import ProducerEventError, parse_event
from credreports.models.codes import Trigger

NOW = datetime(2026, 11, 23, 9, 30, 0, tzinfo=UTC)


def scheduled(time: str = "2026-11-23T02:00:00Z") -> dict[str, object]:
    return {"detail-type": "Scheduled Event", "source": "aws.events", "time": time, "detail": {}}


def test_scheduled_event_takes_its_run_id_from_the_event_time() -> None:
    # A retried invocation of the same event gets the same run id, hence the same keys.
    first = parse_event(scheduled(), now=NOW)
    retried = parse_event(scheduled(), now=datetime(2026, 11, 23, 2, 4, tzinfo=UTC))
    assert first.run_id == retried.run_id == "20261123T020000Z"
    assert first.trigger is Trigger.SCHEDULE and first.account_ids is None


def test_empty_event_is_a_full_run_now() -> None:
    request = parse_event({}, now=NOW)
    assert (request.run_id, request.trigger, request.account_ids) == (
        "20261123T093000Z",
        Trigger.MANUAL,
        None,
    )


def test_manual_run_keeps_the_given_accounts_once_each_in_order() -> None:
    request = parse_event({"account_ids": ["222233334444", "111122223333", "222233334444"]}, NOW)
    assert request.account_ids == ("222233334444", "111122223333")
    assert request.trigger is Trigger.MANUAL


def test_manual_run_names_every_malformed_id() -> None:
    with pytest.raises(ProducerEventError) as error:
        parse_event({"account_ids": ["111122223333", "12345", "abcdefghijkl", 111122223333]}, NOW)
    message = str(error.value)
    assert "'12345'" in message and "'abcdefghijkl'" in message and "111122223333" in message
    assert message.count("111122223333") == 1  # the integer, not the valid string


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        ({"account_ids": []}, "non-empty list"),
        ({"account_ids": "111122223333"}, "non-empty list"),
        ({"accounts": ["111122223333"]}, "unknown event fields accounts"),
        ({"detail-type": "Object Created", "time": "2026-11-23T02:00:00Z"}, "'Object Created'"),
        ({"detail-type": "Scheduled Event", "time": "yesterday"}, "no valid 'time'"),
        (["111122223333"], "must be a JSON object"),
    ],
)
def test_events_it_cannot_act_on_are_rejected_by_name(event: object, problem: str) -> None:
    with pytest.raises(ProducerEventError, match=problem):
        parse_event(event, NOW)
