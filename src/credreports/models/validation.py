"""The base of every model, and pydantic's errors as messages that name the field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError


class Message(BaseModel):
    """A queue body: strict, an unknown field is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class Document(BaseModel):
    """A stored document: fields a newer writer added are ignored on reading,
    so an older CLI can still read a newer stack's bucket."""

    model_config = ConfigDict(extra="ignore", frozen=True)


@dataclass(frozen=True)
class FieldProblem:
    field: str  # dotted path; "" for the whole input
    kind: str  # pydantic's error type: "missing", "extra_forbidden", ...
    message: str
    input: Any


def field_problems(error: ValidationError) -> list[FieldProblem]:
    """Each problem of ``error`` with the field it is about."""
    return [
        FieldProblem(
            field=".".join(str(part) for part in item["loc"]),
            kind=item["type"],
            message=item["msg"].removeprefix("Value error, "),
            input=item.get("input"),
        )
        for item in error.errors(include_url=False)
    ]
