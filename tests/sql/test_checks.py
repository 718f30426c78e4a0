"""Issue 13, must show 1: every named check query, run by DuckDB over reports
laid out as in S3, returns exactly the failing (account, user, credential)
rows that the Python engine finds in the same reports at the same as_of."""

from __future__ import annotations

from collections import Counter
from typing import Any

import duckdb
import pytest

from credreports.findings.catalogue import CHECKS, CHECKS_BY_ID
from tests.sql.conftest import (
    LAPSED,
    MANUAL,
    MISSING,
    PRODUCTION,
    REALISTIC,
    REMOVED,
    SANDBOX,
    SCHEDULED,
    Bucket,
    run_time,
)
from tests.support.reports import AS_OF
from tools import athena_local
from tools.athena_sql import Statement, statements

Key = tuple[str, str, str]  # (account, user, credential)


def statement(name: str) -> Statement:
    (found,) = [s for s in statements() if s.name == name]
    return found


def query(duck: duckdb.DuckDBPyConnection, name: str) -> list[dict[str, Any]]:
    return athena_local.rows(duck, statement(name), AS_OF)


def python_failures(bucket: Bucket, check: str) -> set[Key]:
    """What the engine finds failing in the newest report of each account, now."""
    return {
        (f.account_id, f.user, f.credential)
        for report in bucket.latest(AS_OF)
        for f in report.findings(AS_OF)
        if f.failed and f.check == check
    }


@pytest.mark.parametrize("check", [check.id for check in CHECKS])
def test_the_named_query_of_each_check_returns_exactly_what_the_python_engine_fails(
    bucket: Bucket, duck: duckdb.DuckDBPyConnection, check: str
) -> None:
    # Given the reports of the bucket and the engine's failures in them at AS_OF
    expected = python_failures(bucket, check)
    assert expected, f"the fixtures fail {check} nowhere: this test could not fail"

    # When the check's named query runs, its clock pinned at AS_OF
    found = query(duck, f"credreports-{check}")

    # Then it returns those failing credentials, each once, with the check's severity
    got = [(row["account_id"], row["user"], row["credential"]) for row in found]
    assert sorted(got) == sorted(expected)
    assert {row["severity"] for row in found} == {CHECKS_BY_ID[check].severity.value}


def test_every_report_measured_at_its_run_agrees_with_the_engine_at_that_time(
    bucket: Bucket, duck: duckdb.DuckDBPyConnection
) -> None:
    # Given every stored report, the old one and both runs of one day included
    expected = Counter(
        (report.run_id, f.check, f.account_id, f.user, f.credential)
        for report in bucket.reports
        for f in report.findings(run_time(report.run_id))
        if f.failed
    )

    # When the findings view is read in its history scope
    got = Counter(
        duck.execute(
            'SELECT run_id, check_id, account_id, "user", credential '
            "FROM credential_findings WHERE scope = 'run'"
        ).fetchall()
    )

    # Then each report's failures are the engine's at the start of its run
    assert got == expected
    assert {run for run, *_ in got} == {r.run_id for r in bucket.reports}


def test_ages_are_whole_days_rounded_down_from_as_of(duck: duckdb.DuckDBPyConnection) -> None:
    # Given keys rotated 91 days and 90 days 23 hours before AS_OF, and the
    # sandbox root last used 12 hours before it
    rotation = {
        (r["user"], r["credential"]): r["days"] for r in query(duck, "credreports-key-rotation")
    }
    recent = {r["account_id"]: r["days"] for r in query(duck, "credreports-root-recent-use")}

    # Then the first fails at 91 days, the second passes, and the root use is 0 days old
    assert rotation[("rotation-boundary", "access-key-1")] == 91
    assert ("rotation-boundary", "access-key-2") not in rotation
    assert recent == {SANDBOX: 0}


def test_findings_per_account_counts_each_severity_and_names_the_accounts(
    bucket: Bucket, duck: duckdb.DuckDBPyConnection
) -> None:
    # Given the engine's failures in each account's newest report
    expected: dict[str, Counter[str]] = {}
    for report in bucket.latest(AS_OF):
        failed = [f for f in report.findings(AS_OF) if f.failed]
        expected[report.account_id] = Counter(f.severity.value for f in failed)

    # When the operator query runs
    found = {row["account_id"]: row for row in query(duck, "credreports-findings-per-account")}

    # Then every account reporting this week is listed (not the one silent for 10 days)...
    assert set(found) == {PRODUCTION, REALISTIC, SANDBOX, REMOVED} == set(expected)
    for account_id, counts in expected.items():
        row = found[account_id]
        assert (row["critical"], row["high"], row["medium"]) == (
            counts["critical"],
            counts["high"],
            counts["medium"],
        ), account_id
        assert row["failing"] == sum(counts.values())
    # ...named and placed as the newest manifest that gives their details did
    # (the manual run's manifest gives none; REALISTIC's name was not known)
    assert {a: (r["account_name"], r["ou_path"]) for a, r in found.items()} == {
        PRODUCTION: ("production", "Workloads/Prod"),
        SANDBOX: ("sandbox", "Sandbox"),
        REALISTIC: (None, "Workloads"),
        REMOVED: ("removed", ""),
    }
    # ...the newest run shown
    assert found[PRODUCTION]["run_id"] == MANUAL
    # ...and the most critical account comes first
    assert next(iter(found)) == SANDBOX


def test_failing_users_per_day_count_each_days_reports_at_their_run(
    bucket: Bucket, duck: duckdb.DuckDBPyConnection
) -> None:
    # Given the engine's failing users per day and check over the last 30 days
    users: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for report in bucket.reports:
        for f in report.findings(run_time(report.run_id)):
            if f.failed:
                users.setdefault((report.day, f.check), set()).add((f.account_id, f.user))

    # When the operator query runs
    found = query(duck, "credreports-failing-users-per-day")

    # Then each (day, check) counts its failing users once, the two runs of a day together
    got = {(str(r["report_date"]), r["check_id"]): r["failing_users"] for r in found}
    assert got == {key: len(value) for key, value in users.items()}
    assert ("2025-06-06", "console-mfa") in got  # the report of 10 days ago
    assert [str(r["report_date"]) for r in found] == sorted(
        (str(r["report_date"]) for r in found), reverse=True
    )


def test_accounts_without_report_are_those_of_todays_manifests_with_none(
    duck: duckdb.DuckDBPyConnection,
) -> None:
    # Given today's manifests: the scheduled run lists MISSING, which has no
    # report; the manual run lists PRODUCTION, which has one

    # When the operator query runs
    found = query(duck, "credreports-accounts-without-report")

    # Then only MISSING is listed, for its run (runs/ also holds a summary, an
    # HTML report and a replayed failure record: none of them counts)
    assert [(r["run_id"], r["account_id"], r["status"]) for r in found] == [
        (SCHEDULED, MISSING, "ENQUEUED")
    ]
    assert LAPSED not in {r["account_id"] for r in found}
