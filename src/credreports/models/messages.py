"""The work message: one account to collect in one run, on the work queue and,
with the reason it failed, on the dead-letter queue.

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
from typing import Any, Literal

from pydantic import Field, ValidationError

from credreports.models.codes import Reason, Trigger
from credreports.models.echo import echo
from credreports.models.ids import (
    AccountId,
    RunId,
    UtcTimestamp,
    check_not_in_future,
    utc_now,
    validate_account_id,
    validate_run_id,
)
from credreports.models.validation import Message, field_problems

MESSAGE_VERSION = 1
# SQS accepts 256 KiB; ours are ~200 bytes. Anything far bigger is not ours.
MAX_BODY_BYTES = 8 * 1024
# A field path as our models name them; anything else (an unexpected field
# the sender made up) is quoted bounded.
_FIELD_PATH = re.compile(r"[a-z_][a-z0-9_.]{0,39}")


class WorkMessage(Message):
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


class Failure(Message):
    reason: Reason
    detail: str = Field(max_length=2048)
    failed_at: UtcTimestamp


class DeadLetterMessage(WorkMessage):
    """A work message the worker gave up on, with the reason."""

    failure: Failure


class InvalidMessageError(ValueError):
    """A queue body that is not a valid message; ``str()`` names every problem."""


def _describe(error: ValidationError) -> str:
    """Every problem, each naming its field. The sender chose the field names
    and values: each is quoted bounded (credreports.models.echo)."""
    problems = []
    for problem in field_problems(error):
        where = problem.field or "body"
        if not _FIELD_PATH.fullmatch(where):
            where = echo(where)
        if problem.kind == "literal_error" and problem.field == "v":
            problems.append(f"v: unknown message version {echo(problem.input)} (supported: 1)")
        elif problem.kind == "extra_forbidden":
            problems.append(f"{where}: unexpected field")
        elif problem.kind == "missing":
            problems.append(f"{where}: missing")
        else:
            problems.append(f"{where}: {problem.message}")
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


def _not_in_future(message: WorkMessage) -> WorkMessage:
    try:
        check_not_in_future(message.run_id, utc_now())
    except ValueError as exc:
        raise InvalidMessageError(f"run_id: {exc}") from None
    return message


def parse_work_message(body: str) -> WorkMessage:
    """Parse a work queue body, or raise InvalidMessageError naming the
    problem. A run id in the future is refused too: its reports would make a
    run nobody started look like the latest."""
    data = _load_object(body)
    try:
        message = WorkMessage.model_validate(data)
    except ValidationError as exc:
        raise InvalidMessageError(_describe(exc)) from None
    return _not_in_future(message)


def parse_dead_letter(body: str) -> WorkMessage:
    """Parse a dead-letter body: a DeadLetterMessage if the worker sent it, a
    WorkMessage if SQS redrove it after crashes. Raises InvalidMessageError."""
    data = _load_object(body)
    model: type[WorkMessage] = DeadLetterMessage if "failure" in data else WorkMessage
    try:
        message = model.model_validate(data)
    except ValidationError as exc:
        raise InvalidMessageError(_describe(exc)) from None
    return _not_in_future(message)


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
        run = check_not_in_future(validate_run_id(str(data.get("run_id"))), utc_now())
    return account, run
