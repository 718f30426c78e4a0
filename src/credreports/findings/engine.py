"""The checks of the catalogue over the rows of a credential report.

Every applicable (check, account, user, credential) yields one result, PASS
or FAIL; a check that does not apply to a row (a root check on a user, a user
check on the root, a key check on a key that is not active) yields nothing.
What each check yields, per row:

- ``root-access-key`` (root): ``access-key-1`` and ``access-key-2``, FAIL when active.
- ``root-mfa`` (root): ``user``, FAIL when the root can sign in (a password,
  ``not_supported`` included, or an active key) and MFA is not active. A root
  whose credentials were removed (no password, no active key) passes.
- ``root-recent-use`` (root): ``user``, FAIL when the most recent of the
  password's and both keys' last use is at most ``root_use_days`` old.
- ``console-mfa`` (users): ``password``, FAIL when a password is enabled
  without MFA.
- ``initial-access-key`` (users with a password): each active key, FAIL when
  it was never used.
- ``unused-credentials`` (users): the enabled password and each active key,
  FAIL when unused for more than ``unused_days``; never used counts from
  ``password_last_changed`` / ``last_rotated``, else the user's creation.
- ``two-active-keys`` (all rows): ``user``, FAIL when both keys are active.
- ``key-rotation`` (all rows): each active key, FAIL when last rotated more
  than ``rotation_days`` ago.

Ages are whole days rounded down, measured from one ``as_of``; "more than N
days" is an age greater than N. A credential with no date at all to measure
from fails the age checks: nothing shows it was used or rotated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Literal, NamedTuple

from credreports.findings.catalogue import CHECKS_BY_ID, DEFAULT_THRESHOLDS, Severity, Thresholds
from credreports.findings.report import (
    NOT_SUPPORTED,
    ROOT_USER,
    ReportFormatError,
    ReportRow,
    parse_report,
)

Status = Literal["PASS", "FAIL"]
PASS: Status = "PASS"  # noqa: S105 - a status, not a secret
FAIL: Status = "FAIL"

# The credential a result is about (the Athena SQL writes the same words).
USER = "user"
PASSWORD = "password"  # noqa: S105 - a credential kind, not a secret
KEY_1 = "access-key-1"
KEY_2 = "access-key-2"

FINDING_ID_PREFIX = "credreports"


def finding_id(check: str, account_id: str, user: str, credential: str) -> str:
    """The id that follows one finding from run to run (the shape of
    Prowler's uid: product, check, account, resource)."""
    return f"{FINDING_ID_PREFIX}-{check}-{account_id}-{user}-{credential}"


def key_resource(arn: str, credential: str) -> str:
    """An access key has no ARN of its own: the user's ARN with the key as a
    fragment (``#`` cannot occur in an IAM ARN)."""
    return f"{arn}#{credential}"


class Finding(NamedTuple):
    """One result of one check for one credential of one user.

    A named tuple (immutable), fields in the order that lets the engine build
    one from what a check shares, what a row shares, and what it decided."""

    check: str
    severity: Severity
    controls: tuple[str, ...]
    account_id: str
    user: str
    arn: str
    status: Status
    credential: str  # user | password | access-key-1 | access-key-2
    resource: str  # the user's ARN, or key_resource() for a key
    detail: str  # what was measured, in words

    @property
    def finding_id(self) -> str:
        return finding_id(self.check, self.account_id, self.user, self.credential)

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    def as_dict(self) -> dict[str, Any]:
        """The result as a flat record (the json and csv formats)."""
        return {
            "check": self.check,
            "status": self.status,
            "severity": self.severity.value,
            "account_id": self.account_id,
            "user": self.user,
            "arn": self.arn,
            "credential": self.credential,
            "resource": self.resource,
            "detail": self.detail,
            "controls": list(self.controls),
            "finding_id": self.finding_id,
        }


# Built with tuple.__new__: the hot path makes millions, and the named tuple's
# own __new__ is a Python function call that takes twice as long.
_new = tuple.__new__
# What every result of one check shares: (check, severity, controls).
_Rule = tuple[str, Severity, tuple[str, ...]]
# What every result about one row shares: (account_id, user, arn).
_Subject = tuple[str, str, str]
# A row's key: (credential, number, active, last rotated, last used).
_Slot = tuple[str, int, bool, datetime | None, datetime | None]
# An active key: (credential, number, last rotated, last used, resource).
_Key = tuple[str, int, datetime | None, datetime | None, str]
_Emit = Callable[[Finding], None]


def _rule(check_id: str) -> _Rule:
    check = CHECKS_BY_ID[check_id]
    return (check.id, check.severity, check.controls)


_ROOT_ACCESS_KEY = _rule("root-access-key")
_ROOT_MFA = _rule("root-mfa")
_ROOT_RECENT_USE = _rule("root-recent-use")
_CONSOLE_MFA = _rule("console-mfa")
_INITIAL_ACCESS_KEY = _rule("initial-access-key")
_UNUSED_CREDENTIALS = _rule("unused-credentials")
_TWO_ACTIVE_KEYS = _rule("two-active-keys")
_KEY_ROTATION = _rule("key-rotation")


def _result(
    rule: _Rule, subject: _Subject, status: Status, credential: str, resource: str, detail: str
) -> Finding:
    return _new(Finding, (*rule, *subject, status, credential, resource, detail))


def _ago(days: int) -> str:
    if days >= 0:
        return "1 day ago" if days == 1 else f"{days} days ago"
    return "1 day after as_of" if days == -1 else f"{-days} days after as_of"


def _key_slots(row: ReportRow) -> tuple[_Slot, _Slot]:
    return (
        (
            KEY_1,
            1,
            row.access_key_1_active is True,
            row.access_key_1_last_rotated,
            row.access_key_1_last_used_date,
        ),
        (
            KEY_2,
            2,
            row.access_key_2_active is True,
            row.access_key_2_last_rotated,
            row.access_key_2_last_used_date,
        ),
    )


def evaluate(
    rows: Iterable[ReportRow],
    account_id: str,
    as_of: datetime,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> list[Finding]:
    """Every result of every check over ``rows`` (one account's report),
    ages measured from ``as_of`` (timezone-aware)."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware (UTC)")
    results: list[Finding] = []
    emit = results.append
    for row in rows:
        subject = (account_id, row.user, row.arn)
        keys: list[_Key] = [
            (credential, number, rotated, used, key_resource(row.arn, credential))
            for credential, number, active, rotated, used in _key_slots(row)
            if active
        ]
        if row.user == ROOT_USER:
            _root(row, subject, keys, as_of, thresholds, emit)
        else:
            _user(row, subject, keys, as_of, thresholds, emit)
        _any_row(row, subject, keys, as_of, thresholds, emit)
    return results


def evaluate_report(
    content: bytes | str,
    account_id: str | None,
    as_of: datetime,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> list[Finding]:
    """:func:`evaluate` over a report's CSV. The account is the one given,
    else the one in the first row's ARN. Raises ReportFormatError when the
    content cannot be read (see parse_report)."""
    rows = parse_report(content)
    if account_id is None and rows:
        account_id = rows[0].account_id
    if not account_id:
        if rows:
            raise ReportFormatError("no account id: none given and none in the arn")
        return []
    return evaluate(rows, account_id, as_of, thresholds)


def _root(
    row: ReportRow,
    subject: _Subject,
    keys: list[_Key],
    as_of: datetime,
    thresholds: Thresholds,
    emit: _Emit,
) -> None:
    for credential, number, active, _rotated, used in _key_slots(row):
        if active:
            last = "never used" if used is None else f"last used {_ago((as_of - used).days)}"
            status, detail = FAIL, f"access key {number} is active ({last})"
        else:
            status, detail = PASS, f"access key {number} is not active"
        resource = key_resource(row.arn, credential)
        emit(_result(_ROOT_ACCESS_KEY, subject, status, credential, resource, detail))

    password = row.password_enabled is True or row.password_enabled is NOT_SUPPORTED
    if row.mfa_active is True:
        status, detail = PASS, "MFA is active"
    elif password or keys:
        means = "a password" if password else "an active access key"
        status, detail = FAIL, f"the root user can sign in ({means}) and MFA is not active"
    else:
        status, detail = PASS, "root credentials removed: no password, no active access key"
    emit(_result(_ROOT_MFA, subject, status, USER, row.arn, detail))

    uses = [
        (when, what)
        for when, what in (
            (row.password_last_used, "password"),
            (row.access_key_1_last_used_date, "access key 1"),
            (row.access_key_2_last_used_date, "access key 2"),
        )
        if when is not None
    ]
    if uses:
        when, what = max(uses, key=lambda use: use[0])
        age = (as_of - when).days
        limit = thresholds.root_use_days
        recent = age <= limit
        detail = f"last used {_ago(age)} ({what}); {'at most' if recent else 'more than'} {limit}"
        status = FAIL if recent else PASS
    else:
        status, detail = PASS, "never used"
    emit(_result(_ROOT_RECENT_USE, subject, status, USER, row.arn, detail))


def _user(
    row: ReportRow,
    subject: _Subject,
    keys: list[_Key],
    as_of: datetime,
    thresholds: Thresholds,
    emit: _Emit,
) -> None:
    arn = row.arn
    password = row.password_enabled is True
    if not password:
        status, detail = PASS, "no console password"
    elif row.mfa_active is True:
        status, detail = PASS, "console password with MFA"
    else:
        status, detail = FAIL, "console password without MFA"
    emit(_result(_CONSOLE_MFA, subject, status, PASSWORD, arn, detail))

    if password:
        for credential, number, _rotated, used, resource in keys:
            if used is None:
                status, detail = FAIL, f"console user's access key {number} was never used"
            else:
                status, detail = PASS, f"access key {number} last used {_ago((as_of - used).days)}"
            emit(_result(_INITIAL_ACCESS_KEY, subject, status, credential, resource, detail))

    limit = thresholds.unused_days
    if password:
        since = row.password_last_changed
        emit(
            _unused(
                row,
                subject,
                PASSWORD,
                arn,
                "password",
                row.password_last_used,
                since,
                "changed",
                as_of,
                limit,
            )
        )
    for credential, number, rotated, used, resource in keys:
        emit(
            _unused(
                row,
                subject,
                credential,
                resource,
                f"access key {number}",
                used,
                rotated,
                "rotated",
                as_of,
                limit,
            )
        )


def _unused(
    row: ReportRow,
    subject: _Subject,
    credential: str,
    resource: str,
    what: str,
    used: datetime | None,
    since: datetime | None,
    since_verb: str,
    as_of: datetime,
    limit: int,
) -> Finding:
    """unused-credentials for one credential: its last use, else its change
    or rotation, else the user's creation."""
    if used is not None:
        age = (as_of - used).days
        measured = f"{what} last used {_ago(age)}"
    else:
        if since is None:
            since, since_verb = row.user_creation_time, "user created"
        if since is None:
            detail = f"{what} never used; no date to measure from"
            return _result(_UNUSED_CREDENTIALS, subject, FAIL, credential, resource, detail)
        age = (as_of - since).days
        measured = f"{what} never used, {since_verb} {_ago(age)}"
    unused = age > limit
    detail = f"{measured} ({'more than' if unused else 'at most'} {limit})"
    return _result(
        _UNUSED_CREDENTIALS, subject, FAIL if unused else PASS, credential, resource, detail
    )


def _any_row(
    row: ReportRow,
    subject: _Subject,
    keys: list[_Key],
    as_of: datetime,
    thresholds: Thresholds,
    emit: _Emit,
) -> None:
    if len(keys) == 2:
        status, detail = FAIL, "access keys 1 and 2 are both active"
    else:
        status, detail = PASS, "at most one active access key"
    emit(_result(_TWO_ACTIVE_KEYS, subject, status, USER, row.arn, detail))

    limit = thresholds.rotation_days
    for credential, number, rotated, _used, resource in keys:
        if rotated is None:
            rotated = row.user_creation_time
        if rotated is None:
            status, detail = FAIL, f"access key {number}: no rotation date"
        else:
            age = (as_of - rotated).days
            old = age > limit
            status = FAIL if old else PASS
            detail = (
                f"access key {number} last rotated {_ago(age)} "
                f"({'more than' if old else 'at most'} {limit})"
            )
        emit(_result(_KEY_ROTATION, subject, status, credential, resource, detail))
