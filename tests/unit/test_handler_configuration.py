"""A misconfigured function fails at once, naming the variable, before any call."""

from __future__ import annotations

import os

import pytest

from credreports.local.event_source import LocalContext
from credreports.settings import ConfigurationError


def test_worker_without_member_role_name_fails_naming_it() -> None:
    from worker.app import lambda_handler

    os.environ.update(
        WORK_QUEUE_URL="http://127.0.0.1:9/123456789012/work",
        DEAD_LETTER_QUEUE_URL="http://127.0.0.1:9/123456789012/dlq",
        REPORT_BUCKET="credreports-reports",
    )
    os.environ.pop("MEMBER_ROLE_NAME", None)
    with pytest.raises(ConfigurationError, match=r"^MEMBER_ROLE_NAME is not set$"):
        lambda_handler({"Records": []}, LocalContext(function_name="worker"))


def test_producer_with_malformed_exclusion_fails_naming_it() -> None:
    from producer.app import lambda_handler

    os.environ.update(
        WORK_QUEUE_URL="http://127.0.0.1:9/123456789012/work",
        CONTROL_QUEUE_URL="http://127.0.0.1:9/123456789012/control",
        REPORT_BUCKET="credreports-reports",
        EXCLUDE_ACCOUNT_IDS="prod",
    )
    with pytest.raises(ConfigurationError, match=r"^EXCLUDE_ACCOUNT_IDS is invalid"):
        lambda_handler({}, LocalContext(function_name="producer"))


def test_summarizer_without_topic_fails_naming_it() -> None:
    from summarizer.app import lambda_handler

    os.environ.update(
        CONTROL_QUEUE_URL="http://127.0.0.1:9/123456789012/control",
        REPORT_BUCKET="credreports-reports",
        SUMMARY_CHECK_SECONDS="901",
    )
    os.environ.pop("NOTIFICATION_TOPIC_ARN", None)
    with pytest.raises(
        ConfigurationError,
        match=r"^SUMMARY_CHECK_SECONDS is invalid .*; NOTIFICATION_TOPIC_ARN is not set$",
    ):
        lambda_handler({"Records": []}, LocalContext(function_name="summarizer"))
