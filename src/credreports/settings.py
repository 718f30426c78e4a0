"""Settings of each function, read from the Lambda environment.

Validated on first use and cached for the life of the container (never at
import); a missing or invalid variable fails with its name. Each function
validates only the variables it uses, so a producer does not need the
notification topic and a misconfigured dlq_handler does not stop the worker.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from credreports.layout import normalise_prefix
from credreports.logic.worker.policy import INLINE_POLL_SECONDS
from credreports.models.echo import echo, echo_all
from credreports.models.ids import invalid_account_ids
from credreports.models.validation import field_problems

# INLINE_WAIT_SECONDS unless set: off. A wait trades Lambda time for latency,
# which a scheduled run does not need (README, Performance: Inline wait).
INLINE_WAIT_DEFAULT = 0

# SUMMARY_CHECK_SECONDS unless set: how long a run check waits on the control
# queue before the summarizer looks at the run (and between its looks).
SUMMARY_CHECK_DEFAULT = 300
# SUMMARY_DEADLINE_MARGIN_SECONDS unless set: added to MAX_ATTEMPTS x
# RETRY_DELAY_SECONDS (the longest an account can legitimately take) for
# queueing, throttled batches and the dead-letter handler's batching window.
SUMMARY_DEADLINE_MARGIN_DEFAULT = 900
_QUEUE_URL = r"^https?://"

_OU_ID = re.compile(r"^(ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32})$")


class ConfigurationError(RuntimeError):
    """A setting is missing or invalid; the message names every such variable."""


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


def _account_list(value: tuple[str, ...]) -> tuple[str, ...]:
    bad = invalid_account_ids(value)
    if bad:
        raise ValueError(f"not 12-digit account ids: {echo_all(bad)}")
    return value


def _ou_list(value: tuple[str, ...]) -> tuple[str, ...]:
    bad = [item for item in value if not _OU_ID.match(item)]
    if bad:
        raise ValueError(f"not OU or root ids (ou-xxxx-xxxxxxxx, r-xxxx): {echo_all(bad)}")
    return value


def _prefix(value: Any) -> Any:
    return normalise_prefix(value) if isinstance(value, str) else value


# Tuples, so that settings are hashable and can key the cached dependencies.
AccountIds = Annotated[tuple[str, ...], BeforeValidator(_split), AfterValidator(_account_list)]
OuIds = Annotated[tuple[str, ...], BeforeValidator(_split), AfterValidator(_ou_list)]


class _Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    report_bucket: str = Field(alias="REPORT_BUCKET", min_length=3, max_length=63)
    report_prefix: Annotated[str, BeforeValidator(_prefix)] = Field(
        default="", alias="REPORT_PREFIX", pattern=r"^([^/].*/)?$"
    )


class _SendsChecks(_Settings):
    """The functions that put run checks on the control queue."""

    control_queue_url: str = Field(alias="CONTROL_QUEUE_URL", pattern=_QUEUE_URL)
    # SQS caps DelaySeconds at 900.
    summary_check_seconds: int = Field(
        default=SUMMARY_CHECK_DEFAULT, alias="SUMMARY_CHECK_SECONDS", ge=0, le=900
    )


class ProducerSettings(_SendsChecks):
    work_queue_url: str = Field(alias="WORK_QUEUE_URL", pattern=r"^https?://")
    include_ou_ids: OuIds = Field(default=(), alias="INCLUDE_OU_IDS")
    exclude_ou_ids: OuIds = Field(default=(), alias="EXCLUDE_OU_IDS")
    exclude_account_ids: AccountIds = Field(default=(), alias="EXCLUDE_ACCOUNT_IDS")
    # The only rule whose scheduled events start a run. Unset, every scheduled
    # event is refused (runs start by `credreports start` only).
    schedule_rule_arn: str = Field(
        default="",
        alias="SCHEDULE_RULE_ARN",
        pattern=r"^$|^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:rule/[A-Za-z0-9._/-]{1,128}$",
    )


class WorkerSettings(_Settings):
    work_queue_url: str = Field(alias="WORK_QUEUE_URL", pattern=r"^https?://")
    dead_letter_queue_url: str = Field(alias="DEAD_LETTER_QUEUE_URL", pattern=r"^https?://")
    member_role_name: str = Field(alias="MEMBER_ROLE_NAME", pattern=r"^[A-Za-z0-9_+=,.@/-]{1,64}$")
    max_attempts: int = Field(default=45, alias="MAX_ATTEMPTS", ge=1, le=1000)
    # SQS caps DelaySeconds at 900.
    retry_delay_seconds: int = Field(default=60, alias="RETRY_DELAY_SECONDS", ge=0, le=900)
    # Polling again within the invocation before re-enqueuing. At most 30 s:
    # the function's timeout must hold it.
    inline_wait_seconds: int = Field(
        default=INLINE_WAIT_DEFAULT, alias="INLINE_WAIT_SECONDS", ge=0, le=30
    )
    # How often the inline wait polls: GenerateCredentialReport is a
    # throttled API, and a report takes seconds.
    inline_poll_seconds: float = Field(
        default=INLINE_POLL_SECONDS, alias="INLINE_POLL_SECONDS", ge=0.05, le=30
    )


class DlqHandlerSettings(_Settings):
    # Where a dead letter held back as a digest reminder is made to come back.
    dead_letter_queue_url: str = Field(alias="DEAD_LETTER_QUEUE_URL", pattern=r"^https?://")
    notification_topic_arn: str = Field(
        alias="NOTIFICATION_TOPIC_ARN",
        pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$",
    )
    # At most one digest per run in this many seconds; below the dead-letter
    # queue's visibility timeout, so a held reminder returns in a later window
    # even when it could not be made to return sooner.
    digest_interval_seconds: int = Field(
        default=300, alias="DIGEST_INTERVAL_SECONDS", ge=1, le=3600
    )


class SummarizerSettings(_SendsChecks):
    notification_topic_arn: str = Field(
        alias="NOTIFICATION_TOPIC_ARN",
        pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$",
    )
    event_bus_name: str = Field(
        default="default", alias="EVENT_BUS_NAME", pattern=r"^[A-Za-z0-9._/:-]{1,1600}$"
    )
    # The worker's, to know how long an account can legitimately take.
    max_attempts: int = Field(default=45, alias="MAX_ATTEMPTS", ge=1, le=1000)
    retry_delay_seconds: int = Field(default=60, alias="RETRY_DELAY_SECONDS", ge=0, le=900)
    deadline_margin_seconds: int = Field(
        default=SUMMARY_DEADLINE_MARGIN_DEFAULT,
        alias="SUMMARY_DEADLINE_MARGIN_SECONDS",
        ge=0,
        le=86_400,
    )
    unused_days: int = Field(default=45, alias="UNUSED_DAYS", ge=0, le=3650)
    rotation_days: int = Field(default=90, alias="ROTATION_DAYS", ge=0, le=3650)
    root_use_days: int = Field(default=1, alias="ROOT_USE_DAYS", ge=0, le=3650)

    @property
    def deadline_seconds(self) -> int:
        """How long after a run starts (or is reopened) it may stay unsettled."""
        return self.max_attempts * self.retry_delay_seconds + self.deadline_margin_seconds


S = TypeVar("S", bound=_Settings)


def variables(model: type[_Settings]) -> frozenset[str]:
    """The environment variables ``model`` reads: what a deployment of that
    function must set (or may, where there is a default)."""
    return frozenset(str(field.alias) for field in model.model_fields.values())


FUNCTION_SETTINGS: dict[str, type[_Settings]] = {}


def load(model: type[S], environ: Mapping[str, str]) -> S:
    """Validate ``environ`` against ``model``; raise ConfigurationError naming
    each missing or invalid variable."""
    try:
        return model.model_validate(dict(environ))
    except ValidationError as exc:
        problems = []
        for problem in field_problems(exc):
            name = problem.field.split(".")[0] or "environment"
            if problem.kind == "missing":
                problems.append(f"{name} is not set")
            else:
                problems.append(f"{name} is invalid ({problem.message}; got {echo(problem.input)})")
        raise ConfigurationError("; ".join(problems)) from None


FUNCTION_SETTINGS.update(
    producer=ProducerSettings,
    worker=WorkerSettings,
    dlq_handler=DlqHandlerSettings,
    summarizer=SummarizerSettings,
)


@lru_cache(maxsize=1)
def producer_settings() -> ProducerSettings:
    return load(ProducerSettings, os.environ)


@lru_cache(maxsize=1)
def worker_settings() -> WorkerSettings:
    return load(WorkerSettings, os.environ)


@lru_cache(maxsize=1)
def dlq_handler_settings() -> DlqHandlerSettings:
    return load(DlqHandlerSettings, os.environ)


@lru_cache(maxsize=1)
def summarizer_settings() -> SummarizerSettings:
    return load(SummarizerSettings, os.environ)


def clear_cache() -> None:
    """Forget cached settings (tests, and the local loop when it changes them)."""
    producer_settings.cache_clear()
    worker_settings.cache_clear()
    dlq_handler_settings.cache_clear()
    summarizer_settings.cache_clear()
