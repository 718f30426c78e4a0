"""What each check decides, at its boundaries, on rows built for the purpose."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from credreports.findings.catalogue import Thresholds
from credreports.findings.engine import Finding, evaluate_report
from tests.support.reports import AS_OF, days_ago, report_csv, root_row, user_row


def results(*rows: dict[str, str], thresholds: Thresholds | None = None) -> list[Finding]:
    return evaluate_report(report_csv(*rows), None, AS_OF, thresholds or Thresholds())


def status(found: list[Finding], check: str, credential: str, user: str | None = None) -> str:
    matching = [
        r.status
        for r in found
        if r.check == check and r.credential == credential and (user is None or r.user == user)
    ]
    assert len(matching) == 1, f"{len(matching)} results of {check}/{credential}: {found}"
    return matching[0]


def checks_of(found: list[Finding], user: str) -> set[tuple[str, str]]:
    return {(r.check, r.credential) for r in found if r.user == user}


# --- unused-credentials: 45 days ---------------------------------------------------


@pytest.mark.parametrize(
    ("days", "expected"),
    [(45, "PASS"), (45 + 23 / 24, "PASS"), (46, "FAIL")],
    ids=["45 days", "45 days 23 hours", "46 days"],
)
def test_a_password_unused_for_more_than_45_whole_days_fails(days: float, expected: str) -> None:
    # Given a console user (with MFA) whose password was last used `days` ago
    found = results(
        user_row(
            password_enabled=True,
            mfa_active=True,
            password_last_used=days_ago(days),
            password_last_changed=days_ago(400),
        )
    )
    # Then unused-credentials fails only past 45 whole days
    assert status(found, "unused-credentials", "password") == expected


@pytest.mark.parametrize(("days", "expected"), [(45, "PASS"), (46, "FAIL")])
def test_an_active_key_unused_for_more_than_45_days_fails(days: int, expected: str) -> None:
    found = results(
        user_row(
            access_key_2_active=True,
            access_key_2_last_rotated=days_ago(60),
            access_key_2_last_used_date=days_ago(days),
        )
    )
    assert status(found, "unused-credentials", "access-key-2") == expected
    assert not any(r.credential == "access-key-1" for r in found), "key 1 does not exist"


@pytest.mark.parametrize(("days", "expected"), [(45, "PASS"), (46, "FAIL")])
def test_a_never_used_password_counts_from_when_it_was_set(days: int, expected: str) -> None:
    # Given a password set `days` ago (user created years ago) and never used
    found = results(
        user_row(
            user_creation_time=days_ago(1000),
            password_enabled=True,
            mfa_active=True,
            password_last_used="no_information",
            password_last_changed=days_ago(days),
        )
    )
    # Then it is measured from password_last_changed, not from the user's creation
    assert status(found, "unused-credentials", "password") == expected
    (result,) = [r for r in found if r.check == "unused-credentials"]
    assert "never used" in result.detail
    assert f"{days} days" in result.detail


@pytest.mark.parametrize(("days", "expected"), [(45, "PASS"), (46, "FAIL")])
def test_a_never_used_password_without_a_change_date_counts_from_the_users_creation(
    days: int, expected: str
) -> None:
    found = results(
        user_row(
            user_creation_time=days_ago(days),
            password_enabled=True,
            mfa_active=True,
            password_last_used="no_information",
            password_last_changed="N/A",
        )
    )
    assert status(found, "unused-credentials", "password") == expected


@pytest.mark.parametrize(("days", "expected"), [(45, "PASS"), (46, "FAIL")])
def test_a_never_used_key_counts_from_its_rotation(days: int, expected: str) -> None:
    # Given a user created long ago whose key 1 was created `days` ago and never used
    found = results(
        user_row(
            user_creation_time=days_ago(1000),
            access_key_1_active=True,
            access_key_1_last_rotated=days_ago(days),
        )
    )
    # Then the key is measured from its rotation
    assert status(found, "unused-credentials", "access-key-1") == expected


def test_unused_credentials_leaves_out_disabled_passwords_inactive_keys_and_the_root() -> None:
    # Given a user whose password was removed and whose key is inactive (both with old
    # dates), and a root unused for years
    found = results(
        root_row(password_last_used=days_ago(900)),
        user_row(
            "carol",
            password_enabled=False,
            password_last_used=days_ago(900),
            access_key_1_active=False,
            access_key_1_last_rotated=days_ago(900),
            access_key_1_last_used_date=days_ago(900),
        ),
    )
    # Then no unused-credentials result at all (and no key check about carol's key)
    assert not [r for r in found if r.check == "unused-credentials"]
    assert checks_of(found, "carol") == {("console-mfa", "password"), ("two-active-keys", "user")}


def test_the_unused_threshold_is_a_setting() -> None:
    row = user_row(access_key_1_active=True, access_key_1_last_used_date=days_ago(11))
    assert status(results(row), "unused-credentials", "access-key-1") == "PASS"
    found = results(row, thresholds=Thresholds(unused_days=10))
    assert status(found, "unused-credentials", "access-key-1") == "FAIL"


# --- key-rotation: 90 days ---------------------------------------------------------


@pytest.mark.parametrize(("days", "expected"), [(90, "PASS"), (91, "FAIL")])
def test_an_active_key_rotated_more_than_90_days_ago_fails(days: int, expected: str) -> None:
    found = results(
        user_row(
            access_key_1_active=True,
            access_key_1_last_rotated=days_ago(days),
            access_key_1_last_used_date=days_ago(0.5),
        )
    )
    assert status(found, "key-rotation", "access-key-1") == expected


def test_key_rotation_is_one_result_per_active_key_and_applies_to_the_root_too() -> None:
    found = results(
        root_row(access_key_1_active=True, access_key_1_last_rotated=days_ago(200)),
        user_row(
            access_key_1_active=True,
            access_key_1_last_rotated=days_ago(200),
            access_key_2_active=True,
            access_key_2_last_rotated=days_ago(10),
        ),
        user_row("old-inactive", access_key_1_last_rotated=days_ago(900)),
    )
    rotation = {(r.user, r.credential, r.status) for r in found if r.check == "key-rotation"}
    assert rotation == {
        ("<root_account>", "access-key-1", "FAIL"),
        ("alice", "access-key-1", "FAIL"),
        ("alice", "access-key-2", "PASS"),
    }


# --- root-recent-use: 1 day --------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "expected"),
    [(0.1, "FAIL"), (1, "FAIL"), (1 + 23 / 24, "FAIL"), (2, "PASS")],
    ids=["hours", "1 day", "1 day 23 hours", "2 days"],
)
def test_a_root_used_at_most_1_day_ago_fails(days: float, expected: str) -> None:
    found = results(root_row(password_last_used=days_ago(days)))
    assert status(found, "root-recent-use", "user") == expected


def test_root_use_is_the_most_recent_of_the_password_and_both_keys() -> None:
    # Given a root whose password was used long ago, but whose key 2 (since
    # deactivated) was used yesterday
    found = results(
        root_row(
            password_last_used=days_ago(300),
            access_key_1_active=False,
            access_key_1_last_used_date=days_ago(30),
            access_key_2_active=False,
            access_key_2_last_rotated=days_ago(400),
            access_key_2_last_used_date=days_ago(1),
        )
    )
    # Then the root counts as used yesterday
    assert status(found, "root-recent-use", "user") == "FAIL"
    (result,) = [r for r in found if r.check == "root-recent-use"]
    assert "access key 2" in result.detail


def test_a_root_never_used_passes_root_recent_use() -> None:
    found = results(root_row(password_last_used="no_information"))
    assert status(found, "root-recent-use", "user") == "PASS"


# --- root-mfa and root-access-key --------------------------------------------------


def test_a_root_with_credentials_removed_passes_root_mfa_and_root_access_key() -> None:
    # Given a member account whose root credentials were removed (centralized
    # root access management): no password, no active key, and no MFA
    found = results(root_row(password_enabled=False, password_last_changed="N/A", mfa_active=False))
    # Then root-mfa passes (nobody can sign in as root), as does root-access-key
    assert status(found, "root-mfa", "user") == "PASS"
    assert status(found, "root-access-key", "access-key-1") == "PASS"
    assert status(found, "root-access-key", "access-key-2") == "PASS"


def test_a_historical_root_without_mfa_fails_root_mfa() -> None:
    # Given the historical root row (password not_supported: it always has one), no MFA
    found = results(root_row(mfa_active=False))
    # Then it can sign in without MFA
    assert status(found, "root-mfa", "user") == "FAIL"


def test_a_root_with_only_an_active_key_and_no_mfa_fails_root_mfa_and_root_access_key() -> None:
    found = results(
        root_row(
            password_enabled=False,
            mfa_active=False,
            access_key_2_active=True,
            access_key_2_last_rotated=days_ago(10),
        )
    )
    assert status(found, "root-mfa", "user") == "FAIL"
    assert status(found, "root-access-key", "access-key-1") == "PASS"
    assert status(found, "root-access-key", "access-key-2") == "FAIL"


def test_root_checks_apply_to_the_root_row_only_and_user_checks_to_users_only() -> None:
    found = results(root_row(), user_row(password_enabled=True, mfa_active=False))
    assert checks_of(found, "<root_account>") == {
        ("root-access-key", "access-key-1"),
        ("root-access-key", "access-key-2"),
        ("root-mfa", "user"),
        ("root-recent-use", "user"),
        ("two-active-keys", "user"),
    }
    assert checks_of(found, "alice") == {
        ("console-mfa", "password"),
        ("unused-credentials", "password"),
        ("two-active-keys", "user"),
    }


# --- console-mfa, initial-access-key, two-active-keys ------------------------------


@pytest.mark.parametrize(
    ("password", "mfa", "expected"),
    [(True, False, "FAIL"), (True, True, "PASS"), (False, False, "PASS")],
)
def test_console_mfa_fails_a_password_without_mfa(password: bool, mfa: bool, expected: str) -> None:
    found = results(user_row(password_enabled=password, mfa_active=mfa))
    assert status(found, "console-mfa", "password") == expected


def test_initial_access_key_fails_a_console_users_never_used_key_only() -> None:
    found = results(
        user_row(
            "console-never",
            password_enabled=True,
            mfa_active=True,
            access_key_1_active=True,
            access_key_1_last_rotated=days_ago(3),
        ),
        user_row(
            "console-used",
            password_enabled=True,
            mfa_active=True,
            access_key_1_active=True,
            access_key_1_last_rotated=days_ago(3),
            access_key_1_last_used_date=days_ago(1),
        ),
        user_row("no-console", access_key_1_active=True, access_key_1_last_rotated=days_ago(3)),
    )
    assert status(found, "initial-access-key", "access-key-1", "console-never") == "FAIL"
    assert status(found, "initial-access-key", "access-key-1", "console-used") == "PASS"
    assert ("initial-access-key", "access-key-1") not in checks_of(found, "no-console")


def test_two_active_keys_fails_when_both_keys_are_active() -> None:
    both = dict(access_key_1_active=True, access_key_2_active=True)
    found = results(user_row("both", **both), user_row("one", access_key_2_active=True))
    assert status(found, "two-active-keys", "user", "both") == "FAIL"
    assert status(found, "two-active-keys", "user", "one") == "PASS"


# --- identity, resources, evaluation time --------------------------------------------


def test_the_finding_id_is_the_same_from_run_to_run_and_names_the_credential() -> None:
    row = user_row(access_key_1_active=True, access_key_2_active=True)
    today = evaluate_report(report_csv(row), None, AS_OF)
    later = evaluate_report(report_csv(row), None, AS_OF + timedelta(days=400))
    assert [r.finding_id for r in today] == [r.finding_id for r in later]
    assert len({r.finding_id for r in today}) == len(today)
    rotation = [r for r in today if r.check == "key-rotation"]
    assert [r.finding_id for r in rotation] == [
        "credreports-key-rotation-123456789012-alice-access-key-1",
        "credreports-key-rotation-123456789012-alice-access-key-2",
    ]
    assert [r.resource for r in rotation] == [
        "arn:aws:iam::123456789012:user/alice#access-key-1",
        "arn:aws:iam::123456789012:user/alice#access-key-2",
    ]


def test_results_carry_severity_controls_and_the_account_given() -> None:
    found = evaluate_report(
        report_csv(user_row(password_enabled=True)), "999988887777", AS_OF, Thresholds()
    )
    result = next(r for r in found if r.check == "console-mfa")
    assert result.account_id == "999988887777"
    assert result.severity == "high"
    assert result.controls == ("CIS-3.0:1.10", "CIS-5.0:1.9", "SecurityHub:IAM.5")
    assert result.resource == result.arn


def test_as_of_must_carry_a_time_zone() -> None:
    with pytest.raises(ValueError, match="timezone"):
        evaluate_report(report_csv(user_row()), None, datetime(2025, 6, 16))


def test_thresholds_from_the_environment_name_a_bad_variable() -> None:
    assert Thresholds.from_environment({"ROTATION_DAYS": "30"}) == Thresholds(rotation_days=30)
    with pytest.raises(ValueError, match="UNUSED_DAYS"):
        Thresholds.from_environment({"UNUSED_DAYS": "soon"})
    with pytest.raises(ValueError, match="ROOT_USE_DAYS"):
        Thresholds.from_environment({"ROOT_USE_DAYS": "-1"})
