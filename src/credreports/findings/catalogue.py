"""The checks credreports runs over every credential report, as data.

The catalogue of ../shared/FINDINGS.md: the CIS AWS Foundations Benchmark's
IAM recommendations that a credential report can answer, with their CIS v3.0
and v5.0 numbers and the Security Hub control that covers the same ground.
What each check measures is in engine.py; the thresholds are settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    INFORMATIONAL = "informational"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """1 (informational) to 5 (critical): OCSF's ``severity_id``."""
        return _RANKS[self]


_RANKS = {severity: rank for rank, severity in enumerate(Severity, start=1)}


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    severity: Severity
    cis_v3: str
    cis_v5: str
    security_hub: str | None
    applies_to: str  # "root", "users" or "all rows"
    description: str  # what a FAIL means
    remediation: str  # how to fix it

    @property
    def controls(self) -> tuple[str, ...]:
        """The benchmark items and Security Hub control this check answers."""
        controls: tuple[str, ...] = (f"CIS-3.0:{self.cis_v3}", f"CIS-5.0:{self.cis_v5}")
        if self.security_hub:
            controls += (f"SecurityHub:{self.security_hub}",)
        return controls


CHECKS: tuple[Check, ...] = (
    Check(
        id="root-access-key",
        title="No access key for the root user",
        severity=Severity.CRITICAL,
        cis_v3="1.4",
        cis_v5="1.3",
        security_hub="IAM.4",
        applies_to="root",
        description="The root user has an active access key: a long-lived secret that can do "
        "anything in the account, and that no policy can restrict.",
        remediation="Sign in as the root user, open Security credentials, deactivate and "
        "delete the access key; use an IAM role for what the key did.",
    ),
    Check(
        id="root-mfa",
        title="MFA on the root user",
        severity=Severity.CRITICAL,
        cis_v3="1.5",
        cis_v5="1.4",
        security_hub="IAM.9",
        applies_to="root",
        description="The root user can sign in (it has a password or an active key) and has "
        "no MFA device.",
        remediation="Sign in as the root user and assign an MFA device (a hardware key for "
        "the management account), or remove the member account's root credentials with "
        "centralized root access management in AWS Organizations.",
    ),
    Check(
        id="root-recent-use",
        title="Root user not used for everyday tasks",
        severity=Severity.HIGH,
        cis_v3="1.7",
        cis_v5="1.6",
        security_hub=None,
        applies_to="root",
        description="The root user's password or one of its access keys was used within "
        "the last ROOT_USE_DAYS days.",
        remediation="Find who used it and why (CloudTrail, userIdentity.type = Root); do "
        "that task with an IAM role, and keep root for the few tasks that need it.",
    ),
    Check(
        id="console-mfa",
        title="MFA for every user with a console password",
        severity=Severity.HIGH,
        cis_v3="1.10",
        cis_v5="1.9",
        security_hub="IAM.5",
        applies_to="users",
        description="The user has a console password and no MFA device.",
        remediation="Have the user assign an MFA device (or assign one for them); or remove "
        "the password if the user does not sign in to the console. Prefer IAM Identity "
        "Center users to IAM users.",
    ),
    Check(
        id="initial-access-key",
        title="No access key set up with a console user and never used",
        severity=Severity.MEDIUM,
        cis_v3="1.11",
        cis_v5="1.10",
        security_hub=None,
        applies_to="users",
        description="A user with a console password has an active access key that was never "
        "used: most often created along with the user, just in case.",
        remediation="Delete the key (aws iam delete-access-key); create one only when the "
        "user needs programmatic access, and prefer a role.",
    ),
    Check(
        id="unused-credentials",
        title="No credentials left unused",
        severity=Severity.MEDIUM,
        cis_v3="1.12",
        cis_v5="1.11",
        security_hub="IAM.22",
        applies_to="users",
        description="A console password or an active access key was not used for more than "
        "UNUSED_DAYS days (a never-used one counts from its creation or rotation).",
        remediation="Deactivate the key (aws iam update-access-key --status Inactive) or "
        "remove the password (aws iam delete-login-profile); delete them once nothing "
        "breaks, and the user if nothing is left.",
    ),
    Check(
        id="two-active-keys",
        title="At most one active access key per user",
        severity=Severity.MEDIUM,
        cis_v3="1.13",
        cis_v5="1.12",
        security_hub=None,
        applies_to="all rows",
        description="Both of the user's access keys are active: a rotation was left half done, "
        "or two systems share one identity.",
        remediation="Find which key is still used (access_key_N_last_used_date), move "
        "everything to it, deactivate then delete the other.",
    ),
    Check(
        id="key-rotation",
        title="Access keys rotated regularly",
        severity=Severity.MEDIUM,
        cis_v3="1.14",
        cis_v5="1.13",
        security_hub="IAM.3",
        applies_to="all rows",
        description="An active access key was created (last rotated) more than ROTATION_DAYS "
        "days ago.",
        remediation="Create a second key, switch its users to it, deactivate then delete the "
        "old one; better, replace the key by a role or IAM Identity Center.",
    ),
)

CHECKS_BY_ID: Mapping[str, Check] = {check.id: check for check in CHECKS}


@dataclass(frozen=True)
class Thresholds:
    """Ages in whole days; "older than N days" means an age greater than N."""

    unused_days: int = 45
    rotation_days: int = 90
    root_use_days: int = 1

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name.upper()} must be a whole number of days >= 0")

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> Thresholds:
        """``UNUSED_DAYS``, ``ROTATION_DAYS``, ``ROOT_USE_DAYS`` where set,
        defaults otherwise. Raises ValueError naming a variable that is not a
        whole number of days."""
        values: dict[str, int] = {}
        for name in ("unused_days", "rotation_days", "root_use_days"):
            raw = environment.get(name.upper(), "").strip()
            if not raw:
                continue
            try:
                values[name] = int(raw)
            except ValueError:
                raise ValueError(
                    f"{name.upper()} must be a whole number of days >= 0 (got {raw!r})"
                ) from None
        return cls(**values)


DEFAULT_THRESHOLDS = Thresholds()
