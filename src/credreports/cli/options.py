"""Option values the commands share, checked when the command line is parsed
(argparse then exits 2 naming the option)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from credreports.models.echo import echo
from credreports.models.ids import check_not_in_future, is_account_id, utc_now, validate_run_id


def run_id(value: str) -> str:
    """A canonical run id, not more than a few minutes in the future (one
    further is a typo, refused before anything is sent)."""
    try:
        return check_not_in_future(validate_run_id(value), utc_now())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def account_id(value: str) -> str:
    if not is_account_id(value):
        raise argparse.ArgumentTypeError(f"not an account id (12 digits): {echo(value)}")
    return value


def as_of(value: str) -> datetime:
    """An ISO 8601 date or time; without an offset it is UTC."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 date or time: {value!r} (e.g. 2025-06-16 or 2025-06-16T02:00:00Z)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
