"""What ``failures/.../failure.json`` holds: one per account and run."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from credreports.models.codes import Reason, Trigger
from credreports.models.ids import AccountId, RunId, UtcTimestamp
from credreports.models.validation import Message


class FailureRecord(Message):
    """Why one account of one run has no report. Strict, like the message it
    is made from: the dlq_handler writes it, ``status`` and ``replay`` read it."""

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
