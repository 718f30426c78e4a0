"""INLINE_WAIT_SECONDS: optional, bounded, named when invalid."""

from __future__ import annotations

import pytest

from credreports.settings import ConfigurationError, WorkerSettings, load

WORKER = {
    "WORK_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/credreports-work",
    "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/credreports-dlq",
    "REPORT_BUCKET": "credreports-reports",
    "MEMBER_ROLE_NAME": "credreports-member",
}


def test_without_the_variable_the_worker_does_not_wait_inline() -> None:
    # The documented default (README, Inline wait): poll once, then re-enqueue.
    assert load(WorkerSettings, WORKER).inline_wait_seconds == 0


@pytest.mark.parametrize("value", ["0", "30"])
def test_inline_wait_accepts_0_to_30_seconds(value: str) -> None:
    settings = load(WorkerSettings, {**WORKER, "INLINE_WAIT_SECONDS": value})
    assert settings.inline_wait_seconds == int(value)


@pytest.mark.parametrize("value", ["-1", "31", "soon"])
def test_invalid_inline_wait_is_named_with_its_value(value: str) -> None:
    with pytest.raises(
        ConfigurationError, match=rf"^INLINE_WAIT_SECONDS is invalid .*got '{value}'"
    ):
        load(WorkerSettings, {**WORKER, "INLINE_WAIT_SECONDS": value})
