"""``start``: the event sent to the producer and what is printed from its answer.

The invocation itself is one boto3 call (credreports.adapters.functions);
moto's Lambda would need Docker to run the producer behind it, so the
producer's side of ``start`` is exercised by the demo and the integration
tests, which run the same handler in-process."""

from __future__ import annotations

import pytest

from credreports.cli import CommandError, describe_run_started, start_event
from credreports.operations import InvalidAccountIdsError


def test_a_full_run_sends_an_empty_event() -> None:
    assert start_event([]) == {}


def test_a_manual_run_sends_the_accounts_once_each_in_order() -> None:
    event = start_event(["222222222222", "111111111111", "222222222222"])
    assert event == {"account_ids": ["222222222222", "111111111111"]}


def test_a_malformed_account_is_named_and_nothing_is_invoked() -> None:
    with pytest.raises(InvalidAccountIdsError, match="'11111111111'"):
        start_event(["111111111111", "11111111111"])


def test_the_producer_answer_is_printed_with_run_id_and_counts() -> None:
    # Given the producer's RunStarted
    summary = {
        "run_id": "20261123T020000Z",
        "trigger": "manual",
        "enqueued": 30,
        "skipped_by_state": {"SUSPENDED": 2},
        "excluded": 1,
    }

    # Then the operator reads the run id, the counts and the next command
    text = describe_run_started(summary)
    assert "Run 20261123T020000Z started (manual): 30 accounts enqueued" in text
    assert "2 skipped by state (SUSPENDED 2), 1 excluded" in text
    assert "credreports status --run 20261123T020000Z" in text


def test_an_unexpected_answer_is_an_error_not_a_crash() -> None:
    with pytest.raises(CommandError, match="unexpected"):
        describe_run_started("Simple Lambda happy path OK")


def test_a_refused_request_says_why() -> None:
    # The producer answers a malformed event instead of raising (no pointless retries)
    answer = {"error": "ProducerEventError", "message": "unknown event fields x"}
    with pytest.raises(CommandError, match="refused the request: unknown event fields x"):
        describe_run_started(answer)
