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
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import Enum
from functools import lru_cache, partial
from itertools import chain, repeat
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


#: ReportRow's fields as a plain tuple (what the engine reads).
RowValues = tuple[
    str,
    str,
    datetime | None,
    bool | NotSupported | None,
    datetime | None,
    datetime | None,
    bool | None,
    bool | None,
    datetime | None,
    datetime | None,
    bool | None,
    datetime | None,
    datetime | None,
    int,
]


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
        return arn_account(self.arn, self.line)


def arn_account(arn: str, line: int) -> str:
    """The account in an ARN (``arn:aws:iam::ACCOUNT:...``) on ``line``."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or not parts[4]:
        raise ReportFormatError(f"line {line}: the arn is not an IAM ARN")
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
_make_row: Callable[[RowValues], ReportRow] = partial(tuple.__new__, ReportRow)
# The "no value" sentinels, most frequent first: a tuple compares a value with
# each in turn, cheaper than hashing a fresh string for a set.
_NO_VALUES = ("N/A", "no_information", "", "not_supported", "n/a")
_AWARE = (datetime(1970, 1, 1, tzinfo=UTC),)
_from_iso = datetime.fromisoformat


def parse_report(content: bytes | str) -> list[ReportRow]:
    """The rows of a credential report, in the report's order.

    Raises :class:`ReportFormatError` when the content is not a credential
    report (empty, not text, no ``user``/``arn`` header), lacks a column the
    checks read, or holds a value that cannot be read. A report with only its
    header has no rows."""
    text = _decode(content)
    rows = _fast_rows(text)
    return list(map(_make_row, rows)) if rows is not None else _careful_rows(text)


def report_rows(content: bytes | str) -> list[RowValues]:
    """:func:`parse_report`'s rows as plain tuples (ReportRow's fields, in its
    order), for the engine: a run reads millions of rows, and a named tuple
    costs a copy each."""
    text = _decode(content)
    rows = _fast_rows(text)
    return rows if rows is not None else list(_careful_rows(text))


# A report holds up to 5,000 rows and a run 10,000 reports. The fast path
# reads a well-formed report column by column (the loops run in C: split,
# zip, map, dict lookups) and gives up, returning None, at the first thing
# it does not expect; the careful path then reads the report row by row and
# value by value, and either accepts what the fast path did not (a boolean
# in another case, a timestamp without offset) or raises the error that
# names the line and column.


class _Layout(NamedTuple):
    """Where REQUIRED_COLUMNS are in a header (the first of a repeated name)."""

    positions: tuple[int, ...]
    width: int  # the header's number of fields
    needed: int  # the fields a row must be split into to reach every position


@lru_cache(maxsize=64)
def _layout(header: str | tuple[str, ...]) -> _Layout | None:
    """The layout of a header (its line, or its fields); None when a required
    column is missing. Every report of a run has the same header: it is read
    once."""
    fields = header.split(",") if isinstance(header, str) else header
    names = [name.strip() for name in fields]
    if any(name not in names for name in REQUIRED_COLUMNS):
        return None
    positions = tuple(names.index(name) for name in REQUIRED_COLUMNS)
    return _Layout(positions, len(names), max(positions) + 1)


def _records(text: str) -> tuple[_Layout, list[list[str]], Sequence[int]] | None:
    """The report's layout, the records after its header (split as far as
    the layout needs), and their line numbers."""
    if '"' not in text and "\r" not in text:
        # No quote and no carriage return: every line is one record and its
        # fields are what csv.reader makes of it, split at the commas (at a
        # fraction of csv.reader's cost). The field size limit is csv.reader's
        # to enforce.
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        limit = csv.field_size_limit()
        if not lines or "" in lines or (len(text) > limit and max(map(len, lines)) > limit):
            return None
        header, *body = lines
        layout = _layout(header)
        if layout is None:
            return None
        # Split no further than the last column read: the fields after it
        # would be made only to be thrown away.
        records = list(map(str.split, body, repeat(","), repeat(layout.needed)))
        if records and _fewest_fields(records, layout.needed) < layout.width:
            return None  # a short row: the careful path names it
        return layout, records, range(2, len(lines) + 1)
    reader = csv.reader(io.StringIO(text, newline=""))
    records = []
    numbers: list[int] = []
    try:
        for fields in reader:
            if not fields:
                return None
            records.append(fields)
            numbers.append(reader.line_num)
    except csv.Error:
        return None
    layout = _layout(tuple(records[0])) if records else None
    if layout is None or min(map(len, records)) < layout.width:
        return None
    return layout, records[1:], numbers[1:]


def _fewest_fields(records: list[list[str]], splits: int) -> int:
    """The fewest fields of any record split at most ``splits`` times."""
    fewest = min(map(len, records))
    if fewest <= splits:
        return fewest  # that record was split completely
    return splits + 1 + min(map(str.count, map(itemgetter(splits), records), repeat(",")))


def _moments(*columns: Sequence[str]) -> list[list[datetime | None]]:
    """Columns of timestamps. ValueError for a value that is not one,
    TypeError for one without a UTC offset (the careful path takes it as UTC)."""
    moments = [
        [None if value in _NO_VALUES else _from_iso(value) for value in column]
        for column in columns
    ]
    # Ordering a datetime without offset against one with an offset raises
    # TypeError: max() over every timestamp and an aware one finds one in a
    # single C loop, where asking each for its tzinfo costs twice as much.
    max(chain(filter(None, chain.from_iterable(moments)), _AWARE))
    return moments


def _fast_rows(text: str) -> list[RowValues] | None:
    found = _records(text)
    if found is None:
        return None
    layout, records, lines = found
    if not records:
        return []
    columns = list(zip(*records, strict=False))
    (
        users,
        arns,
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
    ) = (columns[position] for position in layout.positions)
    if not all(users) or not all(arns):
        return None
    boolean = _FAST_BOOLEANS.__getitem__
    try:
        (
            created_at,
            password_used_at,
            password_changed_at,
            key_1_rotated_at,
            key_1_used_at,
            key_2_rotated_at,
            key_2_used_at,
        ) = _moments(
            created,
            password_used,
            password_changed,
            key_1_rotated,
            key_1_used,
            key_2_rotated,
            key_2_used,
        )
        return list(
            zip(
                users,
                arns,
                created_at,
                map(_FAST_PASSWORD.__getitem__, password_enabled),
                password_used_at,
                password_changed_at,
                map(boolean, mfa),
                map(boolean, key_1_active),
                key_1_rotated_at,
                key_1_used_at,
                map(boolean, key_2_active),
                key_2_rotated_at,
                key_2_used_at,
                lines,
                strict=True,
            )
        )
    except (KeyError, ValueError, TypeError):
        return None


def _careful_rows(text: str) -> list[ReportRow]:
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
    user, arn = values[0], values[1]
    if not user or not arn:
        raise ReportFormatError(f"line {line}: a row without user or arn")
    careful = (
        read(value, column, line)
        for read, value, column in zip(_READERS, values, REQUIRED_COLUMNS, strict=True)
    )
    return ReportRow._make((*careful, line))
