"""Account ids, run ids, timestamps and the clock: one definition each."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer

from credreports.models.echo import echo

# ASCII digits only, the whole string: Python's \d also takes other scripts'
# digits ("١٢٣…"), and $ also matches before a trailing newline.
_ACCOUNT_ID = re.compile(r"[0-9]{12}")
_RUN_ID = re.compile(r"[0-9]{8}T[0-9]{6}Z")
RUN_ID_FORMAT = "%Y%m%dT%H%M%SZ"
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
#: How far ahead of this machine's clock a run id may be (clock skew); further
#: is a typo or a forged message, which would pass for the latest run for years.
RUN_ID_FUTURE_TOLERANCE = timedelta(minutes=5)


def is_account_id(value: object) -> bool:
    return isinstance(value, str) and _ACCOUNT_ID.fullmatch(value) is not None


def validate_account_id(value: str) -> str:
    """Return ``value`` if it is an AWS account id (exactly 12 ASCII digits)."""
    if not is_account_id(value):
        raise ValueError(f"account id {echo(value)} is not 12 digits")
    return value


def invalid_account_ids(values: Iterable[object]) -> list[object]:
    """The entries of ``values`` that are not account ids, in order."""
    return [value for value in values if not is_account_id(value)]


def run_started(run_id: str) -> datetime:
    """The moment a run id names; ValueError if it is not a canonical run id
    (``2026123T20000Z`` is not: strptime alone would take it)."""
    try:
        if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
            raise ValueError
        started = datetime.strptime(run_id, RUN_ID_FORMAT).replace(tzinfo=UTC)
    except (TypeError, ValueError):
        raise ValueError(f"run id {echo(run_id)} is not of the form YYYYMMDDTHHMMSSZ") from None
    return started


def check_not_in_future(run_id: str, now: datetime) -> str:
    """Return ``run_id`` unless it names a moment more than
    RUN_ID_FUTURE_TOLERANCE after ``now``; ValueError saying how far."""
    ahead = run_started(run_id) - now
    if ahead > RUN_ID_FUTURE_TOLERANCE:
        minutes = int(ahead.total_seconds() // 60)
        raise ValueError(
            f"run id {run_id} is {minutes} minutes in the future (at most "
            f"{int(RUN_ID_FUTURE_TOLERANCE.total_seconds() // 60)} are accepted, for clock "
            "skew): a typo, or a message nobody should have sent"
        )
    return run_id


def validate_run_id(value: str) -> str:
    """Return ``value`` if it is a run id of the form YYYYMMDDTHHMMSSZ (UTC)."""
    run_started(value)
    return value


def run_id_for(moment: datetime) -> str:
    """The run id of a run started at ``moment``."""
    return moment.astimezone(UTC).strftime(RUN_ID_FORMAT)


def run_date(run_id: str) -> date:
    """The date partition of a run: the run's own date, never the wall clock."""
    return run_started(run_id).date()


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_timestamp(moment: datetime) -> str:
    """``2026-11-23T02:00:01Z``: how every stored document writes a time."""
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def _as_utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


AccountId = Annotated[str, AfterValidator(validate_account_id)]
RunId = Annotated[str, AfterValidator(validate_run_id)]
UtcTimestamp = Annotated[
    datetime, AfterValidator(_as_utc), PlainSerializer(format_timestamp, return_type=str)
]
