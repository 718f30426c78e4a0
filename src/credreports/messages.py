"""The one message model shared by producer, worker, dlq_handler and the CLI.

Work queue body (JSON)::

    {"v": 1, "account_id": "111122223333", "run_id": "20261123T020000Z",
     "attempt": 0, "trigger": "schedule", "enqueued_at": "2026-11-23T02:00:01Z"}

A body the worker sends to the dead-letter queue adds ``failure``. Bodies are
strict: an unknown version, a missing or extra field, a malformed id are each
rejected with a reason that names the problem.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
)

MESSAGE_VERSION = 1
# SQS accepts 256 KiB; ours are ~200 bytes. Anything far bigger is not ours.
MAX_BODY_BYTES = 8 * 1024

_ACCOUNT_ID = re.compile(r"^\d{12}$")
_RUN_ID_FORMAT = "%Y%m%dT%H%M%SZ"


class Trigger(StrEnum):
    SCHEDULE = "schedule"
    MANUAL = "manual"
    REPLAY = "replay"


class Reason(StrEnum):
    """Why an account has no report. Each code tells the operator what to fix."""

    ROLE_ASSUME_DENIED = "ROLE_ASSUME_DENIED"
    REPORT_ACCESS_DENIED = "REPORT_ACCESS_DENIED"
    REPORT_NOT_READY = "REPORT_NOT_READY"
    THROTTLED = "THROTTLED"
    STORAGE_DENIED = "STORAGE_DENIED"
    INVALID_MESSAGE = "INVALID_MESSAGE"
    WORKER_CRASHED = "WORKER_CRASHED"


def validate_account_id(value: str) -> str:
    """Return ``value`` if it is an AWS account id (exactly 12 digits)."""
    if not isinstance(value, str) or not _ACCOUNT_ID.match(value):
        raise ValueError(f"account id {value!r} is not 12 digits")
    return value


def invalid_account_ids(values: Iterable[object]) -> list[object]:
    """The entries of ``values`` that are not account ids, in order."""
    return [value for value in values if not (isinstance(value, str) and _ACCOUNT_ID.match(value))]


def validate_run_id(value: str) -> str:
    """Return ``value`` if it is a run id of the form YYYYMMDDTHHMMSSZ (UTC)."""
    try:
        datetime.strptime(value, _RUN_ID_FORMAT)
    except (TypeError, ValueError):
        raise ValueError(f"run id {value!r} is not of the form YYYYMMDDTHHMMSSZ") from None
    return value


AccountId = Annotated[str, AfterValidator(validate_account_id)]
RunId = Annotated[str, AfterValidator(validate_run_id)]
UtcTimestamp = Annotated[
    datetime,
    AfterValidator(
        lambda value: value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    ),
    PlainSerializer(lambda value: value.strftime("%Y-%m-%dT%H:%M:%SZ"), return_type=str),
]


def run_id_for(moment: datetime) -> str:
    """The run id of a run started at ``moment``."""
    return moment.astimezone(UTC).strftime(_RUN_ID_FORMAT)


def run_date(run_id: str) -> date:
    """The date partition of a run: the run's own date, never the wall clock."""
    return datetime.strptime(run_id, _RUN_ID_FORMAT).date()


def utc_now() -> datetime:
    return datetime.now(UTC)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class WorkMessage(_Strict):
    """One account to collect in one run."""

    v: Literal[1] = 1
    account_id: AccountId
    run_id: RunId
    attempt: int = Field(default=0, ge=0)
    trigger: Trigger
    enqueued_at: UtcTimestamp

    def with_attempt(self, attempt: int) -> WorkMessage:
        """The same message after ``attempt`` polls (what a re-enqueue carries)."""
        return self.model_copy(update={"attempt": attempt})

    def to_body(self) -> str:
        return self.model_dump_json()

    def failed(self, reason: Reason, detail: str, attempts: int) -> DeadLetterMessage:
        """The dead-letter form of this message, after ``attempts`` polls."""
        return DeadLetterMessage(
            **self.model_dump(exclude={"attempt"}),
            attempt=attempts,
            failure=Failure(reason=reason, detail=detail, failed_at=utc_now()),
        )


class Failure(_Strict):
    reason: Reason
    detail: str = Field(max_length=2048)
    failed_at: UtcTimestamp


class DeadLetterMessage(WorkMessage):
    """A work message the worker gave up on, with the reason."""

    failure: Failure


class InvalidMessageError(ValueError):
    """A queue body that is not a valid message; ``str()`` names every problem."""


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "body"
        if item["type"] == "literal_error" and item["loc"] == ("v",):
            problems.append(f"v: unknown message version {item.get('input')!r} (supported: 1)")
        elif item["type"] == "extra_forbidden":
            problems.append(f"{where}: unexpected field")
        elif item["type"] == "missing":
            problems.append(f"{where}: missing")
        else:
            message = item["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {message}")
    return "; ".join(problems)


def _load_object(body: str) -> dict[str, Any]:
    if len(body.encode("utf-8", errors="replace")) > MAX_BODY_BYTES:
        raise InvalidMessageError(
            f"body is {len(body)} characters, over the {MAX_BODY_BYTES} limit"
        )
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise InvalidMessageError(f"body is not JSON: {exc.msg} at position {exc.pos}") from None
    if not isinstance(data, dict):
        raise InvalidMessageError(f"body is JSON {type(data).__name__}, not an object")
    if "v" not in data:
        raise InvalidMessageError("v: missing (message version)")
    return data


def parse_work_message(body: str) -> WorkMessage:
    """Parse a work queue body, or raise InvalidMessageError naming the problem."""
    data = _load_object(body)
    try:
        return WorkMessage.model_validate(data)
    except ValidationError as exc:
        raise InvalidMessageError(_describe(exc)) from None


def parse_dead_letter(body: str) -> WorkMessage:
    """Parse a dead-letter body: a DeadLetterMessage if the worker sent it, a
    WorkMessage if SQS redrove it after crashes. Raises InvalidMessageError."""
    data = _load_object(body)
    model: type[WorkMessage] = DeadLetterMessage if "failure" in data else WorkMessage
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidMessageError(_describe(exc)) from None


def salvage_ids(body: str) -> tuple[str | None, str | None]:
    """Best-effort (account_id, run_id) from a body that failed validation, so the
    failure record of a damaged message still lands beside its run."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, RecursionError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    account: str | None = None
    run: str | None = None
    with contextlib.suppress(ValueError):
        account = validate_account_id(str(data.get("account_id")))
    with contextlib.suppress(ValueError):
        run = validate_run_id(str(data.get("run_id")))
    return account, run


class FailureRecord(_Strict):
    """What ``failures/.../failure.json`` holds: one per account and run."""

    v: Literal[1] = 1
    account_id: AccountId | None
    run_id: RunId | None
    reason: Reason
    detail: str
    attempts: int = Field(ge=0)
    trigger: Trigger | None
    failed_at: UtcTimestamp
    recorded_at: UtcTimestamp
    message_id: str
    receive_count: int = Field(ge=0)
    replayed_at: UtcTimestamp | None = None

    @field_validator("detail")
    @classmethod
    def _bounded(cls, value: str) -> str:
        return value[:2048]
