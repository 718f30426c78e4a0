"""Every row of the shared fixtures (../shared/fixtures/credential-reports),
with its results worked out by hand from FINDINGS.md."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from credreports.findings.engine import evaluate_report
from tests.support.reports import FIXTURES

# (user, check, credential, status, days measured or None)
EDGE_CASES_AS_OF = datetime(2025, 6, 16, tzinfo=UTC)
EDGE_CASES = {
    # historical root: not_supported password, MFA on, no key, signed in 2025-06-01 08:15
    ("<root_account>", "root-access-key", "access-key-1", "PASS", None),
    ("<root_account>", "root-access-key", "access-key-2", "PASS", None),
    ("<root_account>", "root-mfa", "user", "PASS", None),
    ("<root_account>", "root-recent-use", "user", "PASS", 14),
    ("<root_account>", "two-active-keys", "user", "PASS", None),
    # console user who never signed in: no MFA; password set 2025-05-01 09:00 = 45 days 15 h
    ("alice", "console-mfa", "password", "FAIL", None),
    ("alice", "unused-credentials", "password", "PASS", 45),
    ("alice", "two-active-keys", "user", "PASS", None),
    # MFA, signed in 2025-06-10; key 1 rotated 2024-01-15 10:00, used 2025-06-14 22:01 (S3)
    ("bob", "console-mfa", "password", "PASS", None),
    ("bob", "initial-access-key", "access-key-1", "PASS", 1),
    ("bob", "unused-credentials", "password", "PASS", 5),
    ("bob", "unused-credentials", "access-key-1", "PASS", 1),
    ("bob", "two-active-keys", "user", "PASS", None),
    ("bob", "key-rotation", "access-key-1", "FAIL", 517),
    # no password; key 1 from 2022-02-02 used yesterday, key 2 from 2025-05-20 never used
    ("ci-deployer", "console-mfa", "password", "PASS", None),
    ("ci-deployer", "unused-credentials", "access-key-1", "PASS", 0),
    ("ci-deployer", "unused-credentials", "access-key-2", "PASS", 26),
    ("ci-deployer", "two-active-keys", "user", "FAIL", None),
    ("ci-deployer", "key-rotation", "access-key-1", "FAIL", 1229),
    ("ci-deployer", "key-rotation", "access-key-2", "PASS", 26),
    # an inactive key with dates: nothing about it
    ("carol", "console-mfa", "password", "PASS", None),
    ("carol", "two-active-keys", "user", "PASS", None),
    # only an active signing certificate: not a credential the checks look at
    ("dave", "console-mfa", "password", "PASS", None),
    ("dave", "two-active-keys", "user", "PASS", None),
}

REALISTIC_AS_OF = datetime(2017, 9, 1, tzinfo=UTC)
REALISTIC = {
    ("<root_account>", "root-access-key", "access-key-1", "PASS", None),
    ("<root_account>", "root-access-key", "access-key-2", "PASS", None),
    ("<root_account>", "root-mfa", "user", "PASS", None),
    ("<root_account>", "root-recent-use", "user", "PASS", 328),
    ("<root_account>", "two-active-keys", "user", "PASS", None),
    # MFA; password last used 2017-03-08 19:35
    ("IAM-user", "console-mfa", "password", "PASS", None),
    ("IAM-user", "unused-credentials", "password", "FAIL", 176),
    ("IAM-user", "two-active-keys", "user", "PASS", None),
    # password removed after use; key 1 inactive with dates; key 2 from 2016-07-29, used 2017-05-24
    ("with-disabled-key", "console-mfa", "password", "PASS", None),
    ("with-disabled-key", "unused-credentials", "access-key-2", "FAIL", 99),
    ("with-disabled-key", "two-active-keys", "user", "PASS", None),
    ("with-disabled-key", "key-rotation", "access-key-2", "FAIL", 398),
    # key 1 from 2015-05-28, last used 2016-04-04 (IAM, us-east-1)
    ("different-region", "console-mfa", "password", "PASS", None),
    ("different-region", "unused-credentials", "access-key-1", "FAIL", 514),
    ("different-region", "two-active-keys", "user", "PASS", None),
    ("different-region", "key-rotation", "access-key-1", "FAIL", 826),
    # key 1 from 2015-10-22, used 2017-08-30 13:32
    ("credential-user", "console-mfa", "password", "PASS", None),
    ("credential-user", "unused-credentials", "access-key-1", "PASS", 1),
    ("credential-user", "two-active-keys", "user", "PASS", None),
    ("credential-user", "key-rotation", "access-key-1", "FAIL", 679),
}


@pytest.mark.parametrize(
    ("fixture", "as_of", "account_id", "expected"),
    [
        ("edge-cases.csv", EDGE_CASES_AS_OF, "123456789012", EDGE_CASES),
        ("realistic.csv", REALISTIC_AS_OF, "0123456789", REALISTIC),
    ],
)
def test_every_row_of_the_shared_fixtures_gives_the_results_worked_out_by_hand(
    fixture: str,
    as_of: datetime,
    account_id: str,
    expected: set[tuple[str, str, str, str, int | None]],
) -> None:
    # Given a fixture report in AWS's format
    content = (FIXTURES / fixture).read_bytes()

    # When it is evaluated with no account given
    results = evaluate_report(content, None, as_of)

    # Then the account comes from the arn, and every result is the expected one, once
    assert {result.account_id for result in results} == {account_id}
    got = [(r.user, r.check, r.credential, r.status) for r in results]
    assert len(got) == len(set(got)), "a result was produced twice"
    assert set(got) == {(u, c, k, s) for u, c, k, s, _ in expected}
    # ...and every age-based result states the days it measured
    by_key = {(r.user, r.check, r.credential): r for r in results}
    for user, check, credential, _status, days in expected:
        if days is not None:
            detail = by_key[(user, check, credential)].detail
            assert f" {days} day" in detail, (user, check, credential, detail)


def test_the_edge_cases_fixture_fails_exactly_the_expected_checks() -> None:
    # Given the edge-case fixture, When evaluated
    results = evaluate_report((FIXTURES / "edge-cases.csv").read_bytes(), None, EDGE_CASES_AS_OF)

    # Then the failures are alice's console, bob's old key, ci-deployer's keys
    failed = sorted((r.user, r.check, r.credential) for r in results if r.failed)
    assert failed == [
        ("alice", "console-mfa", "password"),
        ("bob", "key-rotation", "access-key-1"),
        ("ci-deployer", "key-rotation", "access-key-1"),
        ("ci-deployer", "two-active-keys", "user"),
    ]
    # ...and a user with an IAM path is reported by name, its ARN keeping the path
    ci = next(r for r in results if r.user == "ci-deployer")
    assert ci.arn == "arn:aws:iam::123456789012:user/service/ci-deployer"
