"""Credential reports worth evaluating, from the embedded emulator.

moto's reports would make every finding meaningless: it writes no
``<root_account>`` row, dates every user and key at the second it was created,
and answers GetCredentialReport with the fixed GeneratedTime
2015-02-02T20:02:02Z. Within :func:`realistic_reports`, for the accounts
added to it, the emulator running in this process is adjusted (its IAM
backend and its report; the API the code under test calls is unchanged):

- users and keys get ages: created months or years ago, last used recently or
  long ago, or never (by user name: the demo's users, see ``USER_AGES``);
- each account's report starts with a root row, in one of ``ROOT_STATES``
  (a historical root with MFA, one with an access key, one without MFA, one
  whose root credentials were removed), taken in turn over the accounts;
- GeneratedTime is when the account's report was first generated.

The organization is synthetic: none of this describes a real account.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from unittest.mock import patch

from credreports.findings.report import ROOT_USER

_FORMAT = "%Y-%m-%dT%H:%M:%S+00:00"


@dataclass(frozen=True)
class KeyAges:
    """An access key, in days before now: created (rotated), last used."""

    rotated: float
    used: float | None = None  # None: never used


@dataclass(frozen=True)
class UserAges:
    created: float
    password_used: float | None = None  # None: never signed in
    keys: tuple[KeyAges, ...] = ()  # in the order the user's keys were created


# The demo's users (credreports.local.demo.demo_users), each in states the
# catalogue looks for, so every check fails somewhere and passes somewhere.
USER_AGES = {
    # console with MFA, signed in this week; a key used yesterday
    "alice.admin": UserAges(700, password_used=2, keys=(KeyAges(60, 1),)),
    # two active keys: the first from a rotation never finished (400 days),
    # the second created a month ago and never used
    "ci-deploy": UserAges(800, keys=(KeyAges(400, 0.2), KeyAges(30))),
    # console without MFA, and a key created with the user, never used
    "bob.developer": UserAges(120, password_used=10, keys=(KeyAges(100),)),
    # a key created for a backup job that never ran
    "legacy-backup": UserAges(500, keys=(KeyAges(500),)),
    # left months ago: the password still works, the key was deactivated
    "former-contractor": UserAges(900, password_used=300, keys=(KeyAges(900, 400),)),
}


@dataclass(frozen=True)
class RootState:
    description: str
    historical: bool  # password not_supported (it always has one); else removed: false
    mfa: bool
    password_used: float | None = None  # days ago
    key: KeyAges | None = None  # an active root access key


ROOT_STATES = (
    RootState("historical root with MFA, last used weeks ago", True, True, 20),
    RootState("root with an access key, used today", True, True, 90, KeyAges(400, 0.1)),
    RootState("historical root without MFA", True, False, 200),
    RootState("root credentials removed (Organizations)", False, False),
)


def _at(now: datetime, days: float | None) -> str:
    return "N/A" if days is None else (now - timedelta(days=days)).strftime(_FORMAT)


def root_row(account_id: str, state: RootState, now: datetime, created_days: float = 2000) -> str:
    """The root's row of a report, as AWS writes it."""
    historical = state.historical
    key = state.key
    key_1 = (
        ["true", _at(now, key.rotated), _at(now, key.used), "us-east-1", "iam"]
        if key
        else ["false", "N/A", "N/A", "N/A", "N/A"]
    )
    fields = [
        ROOT_USER,
        f"arn:aws:iam::{account_id}:root",
        _at(now, created_days),
        "not_supported" if historical else "false",
        _at(now, state.password_used) if state.password_used is not None else "no_information",
        "not_supported" if historical else "N/A",
        "not_supported" if historical else "N/A",
        "true" if state.mfa else "false",
        *key_1,
        *["false", "N/A", "N/A", "N/A", "N/A"],
        "false",
        "N/A",
        "false",
        "N/A",
    ]
    return ",".join(fields) + "\n"


def age_users(iam: Any, now: datetime) -> None:
    """Backdate the users of one account's IAM backend that USER_AGES names."""
    from moto.iam.models import AccessKeyLastUsed

    for user in iam.users.values():
        ages = USER_AGES.get(user.name)
        if ages is None:
            continue
        user.create_date = now - timedelta(days=ages.created)
        if ages.password_used is not None:
            user.password_last_used = now - timedelta(days=ages.password_used)
        for key, key_ages in zip(user.access_keys, ages.keys, strict=False):
            key.create_date = now - timedelta(days=key_ages.rotated)
            if key_ages.used is not None:
                key.last_used = AccessKeyLastUsed(
                    now - timedelta(days=key_ages.used), "sts", "us-east-1"
                )


class RealisticReports:
    """The accounts whose reports are made realistic, and when each was generated."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.roots: dict[str, RootState] = {}
        self.generated: dict[str, datetime] = {}

    def add(self, account_ids: Iterable[str]) -> None:
        """Age the users of ``account_ids`` (they must exist) and give each a
        root row, ROOT_STATES in turn in the order given."""
        from moto.iam.models import iam_backends

        for account_id in account_ids:
            age_users(iam_backends[account_id]["global"], self.now)
            self.roots[account_id] = ROOT_STATES[len(self.roots) % len(ROOT_STATES)]

    def report(self, account_id: str, report: str) -> str:
        state = self.roots.get(account_id)
        if state is None:
            return report
        header, _, users = report.partition("\n")
        return f"{header}\n{root_row(account_id, state, self.now)}{users}"


@contextmanager
def realistic_reports(now: datetime | None = None) -> Iterator[RealisticReports]:
    """Within the block, the in-process emulator's reports of the accounts
    added to what this yields have ages, a root row and their real
    generation time; other accounts' reports are as moto writes them."""
    from moto.core.responses import ActionResult
    from moto.iam.models import IAMBackend
    from moto.iam.responses import IamResponse

    realism = RealisticReports(now or datetime.now(UTC))
    original_generate = IAMBackend.generate_report
    original_report = IAMBackend.get_credential_report
    original_response = IamResponse.get_credential_report

    def generate_report(backend: Any) -> None:
        if backend.account_id in realism.roots:
            realism.generated.setdefault(backend.account_id, datetime.now(UTC))
        original_generate(backend)

    def get_credential_report(backend: Any) -> str:
        return realism.report(backend.account_id, original_report(backend))

    def respond(response: Any) -> Any:
        answer = original_response(response)
        when = realism.generated.get(response.current_account)
        if when is None:
            return answer
        result = cast(dict[str, Any], answer.result)
        return ActionResult({**result, "GeneratedTime": when.strftime("%Y-%m-%dT%H:%M:%SZ")})

    with (
        patch.object(IAMBackend, "generate_report", generate_report),
        patch.object(IAMBackend, "get_credential_report", get_credential_report),
        patch.object(IamResponse, "get_credential_report", respond),
    ):
        yield realism
