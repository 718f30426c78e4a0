"""What the producer accepts as an event, and how it says no."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from credreports.logic.producer import ProducerEventError, parse_event
from credreports.models.codes import Trigger

NOW = datetime(2026, 11, 23, 2, 30, 0, tzinfo=UTC)
RULE = "arn:aws:events:us-east-1:123456789012:rule/credreports-schedule"


def scheduled(time: str = "2026-11-23T02:00:00Z", **fields: object) -> dict[str, object]:
    event: dict[str, object] = {
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": time,
        "resources": [RULE],
        "detail": {},
    }
    event.update(fields)
    return event


def test_scheduled_event_takes_its_run_id_from_the_event_time() -> None:
    # A retried invocation of the same event gets the same run id, hence the same keys.
    first = parse_event(scheduled(), now=NOW, schedule_rule_arn=RULE)
    retried = parse_event(
        scheduled(), now=datetime(2026, 11, 23, 3, 59, tzinfo=UTC), schedule_rule_arn=RULE
    )
    assert first.run_id == retried.run_id == "20261123T020000Z"
    assert first.trigger is Trigger.SCHEDULE and first.account_ids is None


@pytest.mark.parametrize(
    ("event", "rule", "why"),
    [
        (scheduled(source="my.app"), RULE, "source 'my.app' is not aws.events"),
        (scheduled(resources=[RULE.replace("credreports", "other")]), RULE, "do not name"),
        (scheduled(resources=RULE), RULE, "do not name"),
        (scheduled(), "", "SCHEDULE_RULE_ARN is not set"),
        (scheduled("2025-11-23T02:00:00Z"), RULE, "more than 2 hours old"),
        (scheduled("2026-11-23T00:29:00Z"), RULE, "more than 2 hours old"),
        (scheduled("2026-11-24T02:00:00Z"), RULE, "in the future"),
        (scheduled("2026-11-23T02:36:00Z"), RULE, "in the future"),
        (scheduled("2026-11-23T02:00:00"), RULE, "no valid 'time'"),
    ],
    ids=[
        "wrong source",
        "another rule",
        "resources not a list",
        "no rule configured",
        "a year ago",
        "older than its maximum age",
        "tomorrow",
        "beyond clock skew",
        "no time zone",
    ],
)
def test_a_forged_or_stale_scheduled_event_starts_no_run_and_says_why(
    event: dict[str, object], rule: str, why: str
) -> None:
    with pytest.raises(ProducerEventError, match=r"no valid 'time'|no run started") as error:
        parse_event(event, now=NOW, schedule_rule_arn=rule)
    assert why in str(error.value)


def test_a_scheduled_event_late_within_its_maximum_age_or_early_within_skew_starts() -> None:
    late = parse_event(scheduled("2026-11-23T00:31:00Z"), now=NOW, schedule_rule_arn=RULE)
    early = parse_event(scheduled("2026-11-23T02:34:00Z"), now=NOW, schedule_rule_arn=RULE)
    assert (late.run_id, early.run_id) == ("20261123T003100Z", "20261123T023400Z")


def test_empty_event_is_a_full_run_now() -> None:
    request = parse_event({}, now=NOW)
    assert (request.run_id, request.trigger, request.account_ids) == (
        "20261123T023000Z",
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
        ({"accounts": ["111122223333"]}, "unknown event fields 'accounts'"),
        ({"detail-type": "Object Created", "time": "2026-11-23T02:00:00Z"}, "'Object Created'"),
        (scheduled("yesterday"), "no valid 'time'"),
        (["111122223333"], "must be a JSON object"),
    ],
)
def test_events_it_cannot_act_on_are_rejected_by_name(event: object, problem: str) -> None:
    with pytest.raises(ProducerEventError, match=problem):
        parse_event(event, NOW, schedule_rule_arn=RULE)
