"""Settings: a missing or invalid variable fails with its name."""

from __future__ import annotations

import pytest

from credreports.settings import (
    ConfigurationError,
    DlqHandlerSettings,
    ProducerSettings,
    WorkerSettings,
    load,
)

WORKER = {
    "WORK_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/credreports-work",
    "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/credreports-dlq",
    "REPORT_BUCKET": "credreports-reports",
    "MEMBER_ROLE_NAME": "credreports-member",
}
PRODUCER = {
    "WORK_QUEUE_URL": WORKER["WORK_QUEUE_URL"],
    "REPORT_BUCKET": "credreports-reports",
}
DLQ = {
    "REPORT_BUCKET": "credreports-reports",
    "DEAD_LETTER_QUEUE_URL": WORKER["DEAD_LETTER_QUEUE_URL"],
    "NOTIFICATION_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:credreports-failures",
}


def test_defaults_follow_the_design() -> None:
    settings = load(WorkerSettings, WORKER)
    assert settings.max_attempts == 45
    assert settings.retry_delay_seconds == 60
    assert settings.report_prefix == ""


@pytest.mark.parametrize("name", sorted(WORKER))
def test_each_missing_worker_variable_is_named(name: str) -> None:
    environ = {k: v for k, v in WORKER.items() if k != name}
    with pytest.raises(ConfigurationError, match=rf"^{name} is not set$"):
        load(WorkerSettings, environ)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MAX_ATTEMPTS", "0"),
        ("MAX_ATTEMPTS", "lots"),
        ("RETRY_DELAY_SECONDS", "901"),  # SQS DelaySeconds caps at 900
        ("RETRY_DELAY_SECONDS", "-1"),
        ("WORK_QUEUE_URL", "credreports-work"),
        ("DEAD_LETTER_QUEUE_URL", ""),
        ("MEMBER_ROLE_NAME", "role name with spaces"),
        ("REPORT_BUCKET", "x"),
        ("REPORT_PREFIX", "/absolute/"),
    ],
)
def test_each_invalid_worker_variable_is_named_with_its_value(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"^{name} is invalid .*got '{value}'"):
        load(WorkerSettings, {**WORKER, name: value})


def test_several_problems_are_all_named() -> None:
    with pytest.raises(ConfigurationError) as error:
        load(WorkerSettings, {"REPORT_BUCKET": "credreports-reports", "MAX_ATTEMPTS": "x"})
    message = str(error.value)
    for name in ("WORK_QUEUE_URL", "DEAD_LETTER_QUEUE_URL", "MEMBER_ROLE_NAME", "MAX_ATTEMPTS"):
        assert name in message


def test_producer_lists_are_comma_separated_and_may_be_empty() -> None:
    settings = load(
        ProducerSettings,
        {
            **PRODUCER,
            "INCLUDE_OU_IDS": " ou-ab12-cdefgh34 , r-ab12 ",
            "EXCLUDE_OU_IDS": "",
            "EXCLUDE_ACCOUNT_IDS": "111122223333,444455556666",
        },
    )
    assert settings.include_ou_ids == ("ou-ab12-cdefgh34", "r-ab12")
    assert settings.exclude_ou_ids == ()
    assert settings.exclude_account_ids == ("111122223333", "444455556666")


def test_malformed_excluded_account_is_named() -> None:
    with pytest.raises(ConfigurationError, match=r"EXCLUDE_ACCOUNT_IDS is invalid.*'1111-2222'"):
        load(ProducerSettings, {**PRODUCER, "EXCLUDE_ACCOUNT_IDS": "111122223333,1111-2222"})


def test_malformed_ou_id_is_named() -> None:
    with pytest.raises(ConfigurationError, match=r"INCLUDE_OU_IDS is invalid.*Workloads"):
        load(ProducerSettings, {**PRODUCER, "INCLUDE_OU_IDS": "Workloads"})


def test_each_function_needs_only_its_own_variables() -> None:
    # The producer runs without the topic; the dlq_handler without the queues.
    load(ProducerSettings, PRODUCER)
    load(DlqHandlerSettings, DLQ)
    with pytest.raises(ConfigurationError, match=r"^NOTIFICATION_TOPIC_ARN is invalid"):
        load(DlqHandlerSettings, {**DLQ, "NOTIFICATION_TOPIC_ARN": "credreports-failures"})


def test_prefix_gets_its_trailing_slash() -> None:
    assert load(DlqHandlerSettings, {**DLQ, "REPORT_PREFIX": "iam"}).report_prefix == "iam/"
