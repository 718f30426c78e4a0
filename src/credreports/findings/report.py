"""Reading an IAM credential report (the CSV that GetCredentialReport returns).

Columns are found by name in the header, in any order; columns the checks do
not read (the certificates, the last-used region and service, a 23rd column
such as ``additional_credentials_info``) are ignored, since AWS has added
columns before. Values follow AWS's documentation (../shared/FINDINGS.md):

- ``N/A``, ``no_information``, ``not_supported`` and an empty field mean "no
  value" and read as None, except ``password_enabled = not_supported``: the
  historical root row, whose root user always has a password. It reads as
  :data:`NOT_SUPPORTED`, so the root checks can tell it from ``false``.
- booleans are compared case-insensitively (real reports write ``true``, the
  documentation ``TRUE``);
- timestamps are ISO 8601 with ``+00:00`` or ``Z``; one without an offset is
  taken as UTC.

A value that is none of these (a boolean column holding ``yes``, a date that
is not a date) makes the whole report unreadable: a check must never pass
because a value it needed was silently dropped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum
from operator import itemgetter
from typing import NamedTuple

ROOT_USER = "<root_account>"

#: The columns the checks read; a report without one of them cannot be evaluated.
REQUIRED_COLUMNS = (
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
)
_NO_VALUE = frozenset({"", "N/A", "n/a", "no_information", "not_supported"})
_BOOLEANS: dict[str, bool | None] = {"true": True, "false": False} | dict.fromkeys(_NO_VALUE)


# The REQUIRED_COLUMNS of one CSV row, in that order.
_Picker = Callable[[list[str]], tuple[str, ...]]


class ReportFormatError(ValueError):
    """The content is not a credential report the checks can read; the
    message names the problem (and the line), never a value of the report."""


class NotSupported(Enum):
    """``password_enabled = not_supported``: the historical root row."""

    NOT_SUPPORTED = "not_supported"


NOT_SUPPORTED = NotSupported.NOT_SUPPORTED


class ReportRow(NamedTuple):
    """One row of a report: a user, or the account's root user.

    Named after the report's columns; None where the report has no value."""

    user: str
    arn: str
    user_creation_time: datetime | None
    password_enabled: bool | NotSupported | None
    password_last_used: datetime | None
    password_last_changed: datetime | None
    mfa_active: bool | None
    access_key_1_active: bool | None
    access_key_1_last_rotated: datetime | None
    access_key_1_last_used_date: datetime | None
    access_key_2_active: bool | None
    access_key_2_last_rotated: datetime | None
    access_key_2_last_used_date: datetime | None
    line: int = 0  # in the CSV, for messages

    @property
    def is_root(self) -> bool:
        return self.user == ROOT_USER

    @property
    def account_id(self) -> str:
        """The account in the row's ARN (``arn:aws:iam::ACCOUNT:...``)."""
        parts = self.arn.split(":", 5)
        if len(parts) < 6 or parts[0] != "arn" or not parts[4]:
            raise ReportFormatError(f"line {self.line}: the arn is not an IAM ARN")
        return parts[4]


def _decode(content: bytes | str) -> str:
    if isinstance(content, str):
        return content.removeprefix("\ufeff")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ReportFormatError("not a credential report: the content is not UTF-8 text") from None


def _time(value: str, column: str, line: int) -> datetime | None:
    if value in _NO_VALUE:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ReportFormatError(f"line {line}: {column} is not an ISO 8601 timestamp") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _boolean(value: str, column: str, line: int) -> bool | None:
    try:
        return _BOOLEANS[value.lower()]
    except KeyError:
        raise ReportFormatError(f"line {line}: {column} is neither true nor false") from None


def _password_enabled(value: str, column: str, line: int) -> bool | NotSupported | None:
    if value == "not_supported":
        return NOT_SUPPORTED
    return _boolean(value, column, line)


def _text(value: str, column: str, line: int) -> str:
    return value


# How each of REQUIRED_COLUMNS is read, value by value (the careful path).
_READERS = (
    _text,
    _text,
    _time,
    _password_enabled,
    _time,
    _time,
    _boolean,
    _boolean,
    _time,
    _time,
    _boolean,
    _time,
    _time,
)
# The fast path's lookups: the spellings seen in real reports and the documentation.
_FAST_BOOLEANS = _BOOLEANS | {"TRUE": True, "FALSE": False, "True": True, "False": False}
_FAST_PASSWORD: dict[str, bool | NotSupported | None] = _FAST_BOOLEANS | {
    "not_supported": NOT_SUPPORTED
}
_new = tuple.__new__


def _aware(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("no UTC offset")  # the careful path takes it as UTC
    return moment


def parse_report(content: bytes | str) -> list[ReportRow]:
    """The rows of a credential report, in the report's order.

    Raises :class:`ReportFormatError` when the content is not a credential
    report (empty, not text, no ``user``/``arn`` header), lacks a column the
    checks read, or holds a value that cannot be read. A report with only its
    header has no rows."""
    text = _decode(content)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if not header:
            raise ReportFormatError("not a credential report: the content is empty")
        names = [name.strip() for name in header]
        if "user" not in names or "arn" not in names:
            raise ReportFormatError(
                "not a credential report: its first line has no user and arn columns"
            )
        missing = [name for name in REQUIRED_COLUMNS if name not in names]
        if missing:
            raise ReportFormatError(f"credential report without the column(s) {', '.join(missing)}")
        positions = {name: index for index, name in reversed(list(enumerate(names)))}
        pick: _Picker = itemgetter(*(positions[name] for name in REQUIRED_COLUMNS))
        width = len(names)
        rows = [_row(fields, pick, width, reader.line_num) for fields in reader if fields]
    except csv.Error as exc:
        raise ReportFormatError(f"line {reader.line_num}: not valid CSV ({exc})") from None
    return rows


def _row(fields: list[str], pick: _Picker, width: int, line: int) -> ReportRow:
    if len(fields) < width:
        raise ReportFormatError(f"line {line}: {len(fields)} fields, the header has {width}")
    values = pick(fields)
    (
        user,
        arn,
        created,
        password_enabled,
        password_used,
        password_changed,
        mfa,
        key_1_active,
        key_1_rotated,
        key_1_used,
        key_2_active,
        key_2_rotated,
        key_2_used,
    ) = values
    if not user or not arn:
        raise ReportFormatError(f"line {line}: a row without user or arn")
    # A report holds up to 5,000 rows and a run 10,000 reports: the usual
    # spellings are read inline; anything else goes value by value through
    # _READERS, which accept the rest or name the column that is wrong.
    no_value = _NO_VALUE
    try:
        row: ReportRow = _new(
            ReportRow,
            (
                user,
                arn,
                None if created in no_value else _aware(created),
                _FAST_PASSWORD[password_enabled],
                None if password_used in no_value else _aware(password_used),
                None if password_changed in no_value else _aware(password_changed),
                _FAST_BOOLEANS[mfa],
                _FAST_BOOLEANS[key_1_active],
                None if key_1_rotated in no_value else _aware(key_1_rotated),
                None if key_1_used in no_value else _aware(key_1_used),
                _FAST_BOOLEANS[key_2_active],
                None if key_2_rotated in no_value else _aware(key_2_rotated),
                None if key_2_used in no_value else _aware(key_2_used),
                line,
            ),
        )
    except (KeyError, ValueError):
        careful = (
            read(value, column, line)
            for read, value, column in zip(_READERS, values, REQUIRED_COLUMNS, strict=True)
        )
        row = ReportRow._make((*careful, line))
    return row
