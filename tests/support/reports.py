"""Credential reports in AWS's format, built from keyword overrides.

A row starts as an IAM user with no password and no access key, created long
ago; keyword arguments set any column (datetimes and booleans are written as
AWS writes them). The shared fixtures (real and documented rows) live in
../shared/fixtures/credential-reports, beside the repository.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from credreports import layout

#: ../shared beside the repository (CI clones the repository with it there).
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
FIXTURES = SHARED / "fixtures" / "credential-reports"

ACCOUNT_ID = "123456789012"
ROOT = "<root_account>"
AS_OF = datetime(2025, 6, 16, 12, 0, tzinfo=UTC)

COLUMNS = (
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
)

Value = str | bool | datetime | None


def days_ago(days: float, as_of: datetime = AS_OF) -> datetime:
    return as_of - timedelta(days=days)


def _text(value: Value) -> str:
    if value is None:
        return "N/A"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    return value


def user_row(user: str = "alice", account_id: str = ACCOUNT_ID, **columns: Value) -> dict[str, str]:
    """An IAM user (no password, no key, no MFA, created 2020) with ``columns`` set."""
    row: dict[str, Value] = dict.fromkeys(COLUMNS, None)
    row.update(
        user=user,
        arn=f"arn:aws:iam::{account_id}:user/{user}",
        user_creation_time=datetime(2020, 1, 1, tzinfo=UTC),
        password_enabled=False,
        mfa_active=False,
        access_key_1_active=False,
        access_key_2_active=False,
        cert_1_active=False,
        cert_2_active=False,
    )
    row.update(columns)
    return {name: _text(value) for name, value in row.items()}


def root_row(account_id: str = ACCOUNT_ID, **columns: Value) -> dict[str, str]:
    """The historical root row (password ``not_supported``, MFA on, no key)."""
    defaults: dict[str, Value] = {
        "arn": f"arn:aws:iam::{account_id}:root",
        "password_enabled": "not_supported",
        "password_last_changed": "not_supported",
        "password_next_rotation": "not_supported",
        "password_last_used": "no_information",
        "mfa_active": True,
    }
    return user_row(ROOT, account_id, **(defaults | columns))


def report_csv(*rows: Mapping[str, str], columns: Sequence[str] = COLUMNS) -> str:
    """The CSV of a report with ``rows``, its header ``columns`` (any order,
    extra names allowed: a row's missing value is written empty)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(name, "") for name in columns])
    return buffer.getvalue()


def write_report(path: Path, *rows: Mapping[str, str], columns: Sequence[str] = COLUMNS) -> Path:
    """``report_csv`` written at ``path`` (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_csv(*rows, columns=columns), encoding="utf-8")
    return path


def bucket_report_path(
    root: Path, account_id: str, run_id: str = "20250616T020000Z", prefix: str = ""
) -> Path:
    """Where a report lands in the bucket's layout, under ``root``."""
    return root / layout.report_key(prefix, run_id, account_id)
