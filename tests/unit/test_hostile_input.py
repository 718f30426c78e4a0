"""Issue 10, item 7: a value a sender controls is quoted bounded wherever it
lands (the worker's log line, the failure record, the digest, the producer's
and the CLI's errors, a settings error), and ids are what they claim to be:
12 ASCII digits, canonical run ids, none in the future."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from credreports.logic.dlq_handler import DeadLetter, Recorded, digest, failure_record, record_key
from credreports.logic.producer import ProducerEventError, parse_event
from credreports.logic.worker.policy import Outcome
from credreports.models.echo import ECHO_CHARS, echo
from credreports.models.ids import (
    check_not_in_future,
    is_account_id,
    run_id_for,
    validate_account_id,
    validate_run_id,
)
from credreports.models.messages import InvalidMessageError, parse_work_message
from credreports.operations import InvalidAccountIdsError, require_account_ids
from credreports.settings import ConfigurationError, ProducerSettings, load
from tests.support.builders import work_body
from tests.unit.test_collection_policy import collector

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
SEVEN_KB = "7" * 7 * 1024
HOSTILE = {
    "7 KB id": SEVEN_KB,
    "Unicode digits": "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661\u0662",
    "trailing newline": "111122223333\n",
    "HTML": "<img src=x onerror=alert(1)>",
    "HTML, long": "<script>" + "x" * 500 + "</script>",
    "control characters": "1111\x1b[31m22223333",
}
# What a bounded quote may add around the value: its length and hash.
SLACK = 60


def landings(value: str) -> dict[str, str]:
    """Every text the value lands in, when a sender puts it where an account id goes."""
    body = work_body(value)
    texts: dict[str, str] = {}
    with pytest.raises(InvalidMessageError) as worker_problem:
        parse_work_message(body)
    texts["worker log line"] = str(worker_problem.value)
    letter = DeadLetter(message_id="m-1", body=body, receive_count=1)
    record = failure_record(letter, NOW)
    texts["failure record"] = record.model_dump_json()
    message = digest(
        record.run_id, [Recorded(key=record_key("", record), record=record)], failures_at="s3://b/"
    )
    texts["digest subject"], texts["digest body"] = message.subject, message.body
    texts["digest attributes"] = json.dumps(message.attributes)
    with pytest.raises(ProducerEventError) as producer_problem:
        parse_event({"account_ids": [value]}, NOW)
    texts["producer error"] = str(producer_problem.value)
    with pytest.raises(InvalidAccountIdsError) as cli_problem:
        require_account_ids([value])
    texts["CLI error"] = str(cli_problem.value)
    with pytest.raises(ConfigurationError) as settings_problem:
        load(
            ProducerSettings,
            {"REPORT_BUCKET": "b", "WORK_QUEUE_URL": "https://q", "EXCLUDE_ACCOUNT_IDS": value},
        )
    texts["settings error"] = str(settings_problem.value)
    with pytest.raises(InvalidMessageError) as field_problem:
        parse_work_message(json.dumps({**json.loads(work_body("111122223333")), value: 1}))
    texts["worker log line, as a field name"] = str(field_problem.value)
    return texts


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_id_is_echoed_bounded_everywhere_it_lands(value: str) -> None:
    texts = landings(value)

    for where, text in texts.items():
        quoted = echo(value)
        # Bounded: at most ECHO_CHARS of the value, plus its length and hash.
        assert len(quoted) <= ECHO_CHARS + SLACK, where
        assert value not in text or (len(value) <= ECHO_CHARS and value.isprintable()), where
        assert value[: ECHO_CHARS + 1] not in text or len(value) <= ECHO_CHARS, where
        # Inert: no raw newline, escape character, HTML or non-ASCII digits.
        decoded = json.loads(text) if text.startswith("{") else text
        flat = json.dumps(decoded) if isinstance(decoded, dict) else decoded
        for raw in ("\n" if "\n" in value else "", "\x1b", "<", "\u0661"):
            assert not raw or raw not in flat, (where, raw)
    # A long value is named by its length and a hash, so it can still be found.
    if len(value) > ECHO_CHARS:
        assert f"({len(value)} chars, sha256 " in texts["failure record"]
        assert f"({len(value)} chars, sha256 " in texts["producer error"]


def test_the_failure_record_of_a_hostile_id_goes_to_no_account() -> None:
    record = failure_record(DeadLetter("m-1", work_body(SEVEN_KB), 1), NOW)

    assert record.account_id is None and record.run_id is not None
    assert len(record.detail) < 200


@pytest.mark.parametrize(
    "value",
    [
        "111122223333\n",
        "\u0661" * 12,
        "\uff11" * 12,  # fullwidth digits
        " 111122223333",
        "11112222333",
        "1111222233334",
        111122223333,
    ],
)
def test_account_ids_are_twelve_ascii_digits_and_nothing_else(value: object) -> None:
    assert not is_account_id(value)
    with pytest.raises(ValueError, match="is not 12 digits"):
        validate_account_id(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [
        "2026123T20000Z",  # strptime alone takes it for 2026-01-23 02:00:00
        "20261123T020000Z\n",
        "20261123T020000",
        "20261123t020000z",
        "20261323T020000Z",
        "\u0662\u0660\u0662\u0666\u0661\u0661\u0662\u0663T020000Z",
        "20261123T020000Z" * 500,
    ],
)
def test_run_ids_are_canonical(value: str) -> None:
    with pytest.raises(ValueError, match="is not of the form YYYYMMDDTHHMMSSZ") as problem:
        validate_run_id(value)
    assert len(str(problem.value)) < 150


def test_a_run_id_more_than_a_few_minutes_ahead_is_refused() -> None:
    assert check_not_in_future(run_id_for(NOW + timedelta(minutes=5)), NOW)
    with pytest.raises(ValueError, match="6 minutes in the future"):
        check_not_in_future(run_id_for(NOW + timedelta(minutes=6, seconds=30)), NOW)


def test_the_worker_refuses_a_message_of_a_run_in_the_future() -> None:
    # Given a message whose run id is a year ahead (a typo, or a forged message)
    future = run_id_for(datetime.now(UTC) + timedelta(days=365))
    worker, reports, store = collector(["COMPLETE"])

    # When the worker gets it
    decision = worker.collect_body(work_body("111111111111", run_id=future))

    # Then nothing is collected or stored, and it goes to the dead-letter
    # queue, where the dlq_handler files it under no run at all
    assert decision.outcome is Outcome.REJECTED and not reports.polls and not store.objects
    assert decision.dead_letter is not None
    record = failure_record(DeadLetter("m-1", decision.dead_letter.body, 1), NOW)
    assert (record.account_id, record.run_id) == ("111111111111", None)
    assert "in the future" in record.detail
    assert record_key("", record).startswith("failures/date=2026-11-23/run=unknown/")
