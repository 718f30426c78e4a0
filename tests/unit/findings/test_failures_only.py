"""Evaluating for the failures only (``passed``): the same failing results,
and which (account, check) passed instead of the passing results."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from credreports.findings.catalogue import Thresholds
from credreports.findings.engine import evaluate_report
from tests.support.reports import AS_OF, FIXTURES, days_ago, report_csv, root_row, user_row

ROWS = report_csv(
    root_row(mfa_active=False, access_key_1_active=True, access_key_1_last_used_date=days_ago(3)),
    user_row("alice", password_enabled=True, password_last_used=days_ago(60)),
    user_row(
        "bob",
        password_enabled=True,
        mfa_active=True,
        password_last_used=days_ago(2),
        access_key_1_active=True,
        access_key_1_last_rotated=days_ago(100),
        access_key_2_active=True,
        access_key_2_last_rotated=days_ago(5),
        access_key_2_last_used_date=days_ago(1),
    ),
    user_row("carol"),
)


@pytest.mark.parametrize(
    ("content", "as_of"),
    [
        (ROWS.encode(), AS_OF),
        ((FIXTURES / "edge-cases.csv").read_bytes(), datetime(2025, 6, 16, tzinfo=UTC)),
        ((FIXTURES / "realistic.csv").read_bytes(), datetime(2017, 9, 1, tzinfo=UTC)),
    ],
    ids=["built", "edge-cases", "realistic"],
)
@pytest.mark.parametrize(
    "thresholds", [Thresholds(), Thresholds(1, 1, 30)], ids=["default", "tight"]
)
def test_the_failures_are_the_same_and_the_passing_checks_are_named_by_account(
    content: bytes, as_of: datetime, thresholds: Thresholds
) -> None:
    every = evaluate_report(content, None, as_of, thresholds)
    passed: set[tuple[str, str]] = set()

    failing = evaluate_report(content, None, as_of, thresholds, passed)

    assert failing == [f for f in every if f.failed]
    assert passed == {(f.account_id, f.check) for f in every if not f.failed}
    assert failing and passed, "this report should both fail and pass something"


def test_the_passing_checks_of_several_reports_gather_in_one_set() -> None:
    passed: set[tuple[str, str]] = set()
    evaluate_report(ROWS, "111111111111", AS_OF, passed=passed)
    evaluate_report(ROWS, "222222222222", AS_OF, passed=passed)
    assert ("111111111111", "two-active-keys") in passed
    assert ("222222222222", "two-active-keys") in passed
    assert ("111111111111", "console-mfa") in passed  # bob and carol pass it
    assert ("111111111111", "root-mfa") not in passed  # the root can sign in without MFA
