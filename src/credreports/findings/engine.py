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
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache, partial
from itertools import repeat
from typing import Any, Literal, NamedTuple, TypeVar

from credreports.findings.catalogue import CHECKS_BY_ID, DEFAULT_THRESHOLDS, Severity, Thresholds
from credreports.findings.report import (
    NOT_SUPPORTED,
    ROOT_USER,
    ReportFormatError,
    RowValues,
    arn_account,
    report_rows,
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
# A decision: the status and the detail that says why.
_Verdict = tuple[Status, str]


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


def _ago(days: int) -> str:
    if days >= 0:
        return "1 day ago" if days == 1 else f"{days} days ago"
    return "1 day after as_of" if days == -1 else f"{-days} days after as_of"


def _against(measured: str, limit: int, age: int) -> _Verdict:
    """An age against its limit: FAIL when more than ``limit`` days."""
    over = age > limit
    detail = f"{measured} {_ago(age)} ({'more than' if over else 'at most'} {limit})"
    return (FAIL if over else PASS), detail


# How many ages a table below remembers: a run's ages fall within a few
# thousand days, and the bound keeps dates spread over the calendar from
# growing a table without end.
_REMEMBERED = 16_384
_T = TypeVar("_T")


class _ByAge(dict[int, _T]):
    """What a check says of an age, made once per age and then looked up: a
    run formats the same details millions of times, and a dict lookup costs
    a fraction of formatting one (or of an lru_cache call)."""

    def __init__(self, make: Callable[[int], _T]) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, age: int) -> _T:
        made = self.make(age)
        if len(self) < _REMEMBERED:
            self[age] = made
        return made


@dataclass(frozen=True, slots=True)
class _Credential:
    """What the checks say of one credential (the password, key 1, key 2)
    under one set of thresholds."""

    name: str  # password | access-key-1 | access-key-2
    fragment: str  # after the user's ARN, in a key's resource
    unused_after_use: _ByAge[_Verdict]  # measured from its last use
    unused_after_setting: _ByAge[_Verdict]  # never used: from its change or rotation
    unused_after_creation: _ByAge[_Verdict]  # never used, never set: from the user's creation
    unused_without_date: str
    rotation: _ByAge[_Verdict]
    without_rotation_date: str
    used: _ByAge[str]  # initial-access-key: when it was used
    never_used_by_console_user: str


def _credential(name: str, words: str, set_verb: str, thresholds: Thresholds) -> _Credential:
    unused, rotation = thresholds.unused_days, thresholds.rotation_days
    return _Credential(
        name=name,
        fragment=key_resource("", name),
        unused_after_use=_ByAge(partial(_against, f"{words} last used", unused)),
        unused_after_setting=_ByAge(partial(_against, f"{words} never used, {set_verb}", unused)),
        unused_after_creation=_ByAge(
            partial(_against, f"{words} never used, user created", unused)
        ),
        unused_without_date=f"{words} never used; no date to measure from",
        rotation=_ByAge(partial(_against, f"{words} last rotated", rotation)),
        without_rotation_date=f"{words}: no rotation date",
        used=_ByAge(lambda age: f"{words} last used {_ago(age)}"),
        never_used_by_console_user=f"console user's {words} was never used",
    )


@lru_cache(maxsize=8)
def _credentials(thresholds: Thresholds) -> tuple[_Credential, _Credential, _Credential]:
    """The password's, key 1's and key 2's (the same thresholds serve a whole run)."""
    return (
        _credential(PASSWORD, "password", "changed", thresholds),
        _credential(KEY_1, "access key 1", "rotated", thresholds),
        _credential(KEY_2, "access key 2", "rotated", thresholds),
    )


# A credential of a row: (what the checks say of it, when it was set, its
# last use, its resource).
_Held = tuple[_Credential, datetime | None, datetime | None, str]


def evaluate(
    rows: Iterable[RowValues],
    account_id: str,
    as_of: datetime,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    passed: set[tuple[str, str]] | None = None,
) -> list[Finding]:
    """Every result of every check over ``rows`` (one account's report: its
    ReportRows, or report_rows' tuples), ages measured from ``as_of``
    (timezone-aware).

    With ``passed``, only the failing results are returned, and the (account
    id, check id) of the passing ones are added to ``passed``: a caller that
    shows the failures (``findings --status failed``) does not pay for
    building the rest, and still knows which checks had results."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware (UTC)")
    # The reports' tzinfo (UTC's): subtracting a timestamp from as_of then
    # skips asking both for their offset.
    as_of = as_of.astimezone(UTC)
    results: list[Finding] = []
    emit = results.append
    every = passed is None
    skipped: set[str] = set()  # the checks of the passing results not built
    skip = skipped.add
    password_, key_1, key_2 = _credentials(thresholds)
    # A run evaluates millions of rows: the checks are written out in this loop
    # rather than in functions of their own (a call per row and per credential
    # costs as much as the checks), and a result is built as a plain tuple, the
    # check's fields first (rule + the rest), made a Finding by tuple.__new__.
    for row in rows:
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
            _line,
        ) = row
        keys: list[_Held] = []
        if key_1_active is True:
            keys.append((key_1, key_1_rotated, key_1_used, arn + key_1.fragment))
        if key_2_active is True:
            keys.append((key_2, key_2_rotated, key_2_used, arn + key_2.fragment))

        if user == ROOT_USER:
            for finding in _root(row, account_id, bool(keys), as_of, thresholds.root_use_days):
                if every or finding.status is FAIL:
                    emit(finding)
                else:
                    skip(finding.check)
        else:
            # console-mfa
            password = password_enabled is True
            if not password:
                status, detail = PASS, "no console password"
            elif mfa is True:
                status, detail = PASS, "console password with MFA"
            else:
                status, detail = FAIL, "console password without MFA"
            if every or status is FAIL:
                result = (account_id, user, arn, status, PASSWORD, arn, detail)
                emit(_new(Finding, _CONSOLE_MFA + result))
            else:
                skip(_CONSOLE_MFA[0])

            unused = keys
            if password:
                # initial-access-key
                for key, _rotated, used, resource in keys:
                    if used is None:
                        detail = key.never_used_by_console_user
                        result = (account_id, user, arn, FAIL, key.name, resource, detail)
                        emit(_new(Finding, _INITIAL_ACCESS_KEY + result))
                    elif every:
                        detail = key.used[(as_of - used).days]
                        result = (account_id, user, arn, PASS, key.name, resource, detail)
                        emit(_new(Finding, _INITIAL_ACCESS_KEY + result))
                    else:
                        skip(_INITIAL_ACCESS_KEY[0])
                unused = [(password_, password_changed, password_used, arn), *keys]

            # unused-credentials: the last use, else when the credential was set
            # (password changed, key rotated), else the user's creation.
            for credential, since, used, resource in unused:
                if used is not None:
                    status, detail = credential.unused_after_use[(as_of - used).days]
                elif since is not None:
                    status, detail = credential.unused_after_setting[(as_of - since).days]
                elif created is not None:
                    status, detail = credential.unused_after_creation[(as_of - created).days]
                else:
                    status, detail = FAIL, credential.unused_without_date
                if every or status is FAIL:
                    result = (account_id, user, arn, status, credential.name, resource, detail)
                    emit(_new(Finding, _UNUSED_CREDENTIALS + result))
                else:
                    skip(_UNUSED_CREDENTIALS[0])

        # two-active-keys and key-rotation: every row, the root's included.
        if len(keys) == 2:
            result = (account_id, user, arn, FAIL, USER, arn, "access keys 1 and 2 are both active")
            emit(_new(Finding, _TWO_ACTIVE_KEYS + result))
        elif every:
            result = (account_id, user, arn, PASS, USER, arn, "at most one active access key")
            emit(_new(Finding, _TWO_ACTIVE_KEYS + result))
        else:
            skip(_TWO_ACTIVE_KEYS[0])
        for key, rotated, _used, resource in keys:
            if rotated is None:
                rotated = created
            if rotated is None:
                status, detail = FAIL, key.without_rotation_date
            else:
                status, detail = key.rotation[(as_of - rotated).days]
            if every or status is FAIL:
                result = (account_id, user, arn, status, key.name, resource, detail)
                emit(_new(Finding, _KEY_ROTATION + result))
            else:
                skip(_KEY_ROTATION[0])
    if passed is not None:
        passed.update(zip(repeat(account_id), skipped))
    return results


def evaluate_report(
    content: bytes | str,
    account_id: str | None,
    as_of: datetime,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    passed: set[tuple[str, str]] | None = None,
) -> list[Finding]:
    """:func:`evaluate` over a report's CSV. The account is the one given,
    else the one in the first row's ARN. Raises ReportFormatError when the
    content cannot be read (see parse_report)."""
    rows = report_rows(content)
    if account_id is None and rows:
        first = rows[0]
        account_id = arn_account(first[1], first[-1])
    if not account_id:
        if rows:
            raise ReportFormatError("no account id: none given and none in the arn")
        return []
    return evaluate(rows, account_id, as_of, thresholds, passed)


def _root(
    row: RowValues, account_id: str, active_key: bool, as_of: datetime, root_use_days: int
) -> list[Finding]:
    """root-access-key, root-mfa and root-recent-use (one root row a report)."""
    (user, arn, _, password_enabled, password_used, _, mfa, key_1_active, _, key_1_used) = row[:10]
    key_2_active, key_2_used = row[10], row[12]
    results = []
    for credential, name, active, used in (
        (KEY_1, "access key 1", key_1_active, key_1_used),
        (KEY_2, "access key 2", key_2_active, key_2_used),
    ):
        if active is True:
            last = "never used" if used is None else f"last used {_ago((as_of - used).days)}"
            status, detail = FAIL, f"{name} is active ({last})"
        else:
            status, detail = PASS, f"{name} is not active"
        resource = key_resource(arn, credential)
        result = (account_id, user, arn, status, credential, resource, detail)
        results.append(_new(Finding, _ROOT_ACCESS_KEY + result))

    password = password_enabled is True or password_enabled is NOT_SUPPORTED
    if mfa is True:
        status, detail = PASS, "MFA is active"
    elif password or active_key:
        means = "a password" if password else "an active access key"
        status, detail = FAIL, f"the root user can sign in ({means}) and MFA is not active"
    else:
        status, detail = PASS, "root credentials removed: no password, no active access key"
    result = (account_id, user, arn, status, USER, arn, detail)
    results.append(_new(Finding, _ROOT_MFA + result))

    # The most recent use of the password and both keys (the first on a tie).
    latest, what = None, ""
    for when, name in (
        (password_used, "password"),
        (key_1_used, "access key 1"),
        (key_2_used, "access key 2"),
    ):
        if when is not None and (latest is None or when > latest):
            latest, what = when, name
    if latest is not None:
        age = (as_of - latest).days
        recent = age <= root_use_days
        comparison = "at most" if recent else "more than"
        detail = f"last used {_ago(age)} ({what}); {comparison} {root_use_days}"
        status = FAIL if recent else PASS
    else:
        status, detail = PASS, "never used"
    result = (account_id, user, arn, status, USER, arn, detail)
    results.append(_new(Finding, _ROOT_RECENT_USE + result))
    return results
