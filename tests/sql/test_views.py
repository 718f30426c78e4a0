"""The views over the bucket: what the parsed view reads from reports in every
shape AWS writes them, the latest-run view's one run per account, and the
clock that the tests pin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb

from tests.sql.conftest import (
    LAPSED,
    MANUAL,
    MISSING,
    OLD,
    PRODUCTION,
    REALISTIC,
    REMOVED,
    SANDBOX,
    SCHEDULED,
    Bucket,
)
from tests.support.reports import AS_OF
from tools import athena_local
from tools.athena_sql import clocks, statements, to_duckdb


def test_the_latest_view_holds_one_run_per_account_the_newest_of_the_week(
    bucket: Bucket, duck: duckdb.DuckDBPyConnection
) -> None:
    # When the latest-run view is read at AS_OF
    runs = duck.execute(
        "SELECT account_id, count(DISTINCT run_id), min(run_id) "
        "FROM credential_reports_latest GROUP BY account_id"
    ).fetchall()

    # Then each account that reported in the last 7 days has one run, its newest
    # (the later of two runs on one day); an account silent for 10 days has none
    assert {account: (count, run) for account, count, run in runs} == {
        report.account_id: (1, report.run_id) for report in bucket.latest(AS_OF)
    }
    assert dict((a, r) for a, _, r in runs)[PRODUCTION] == MANUAL
    assert LAPSED not in {account for account, *_ in runs}
    # ...with every row of that report
    latest = {r.account_id: r for r in bucket.latest(AS_OF)}
    counted = duck.execute(
        "SELECT account_id, count(*) FROM credential_reports_latest GROUP BY account_id"
    ).fetchall()
    for account, count in counted:
        assert count == latest[account].data_rows


def test_the_parsed_view_reads_every_report_as_stored(
    bucket: Bucket, duck: duckdb.DuckDBPyConnection
) -> None:
    # When the parsed view is read
    rows = duck.execute(
        'SELECT run_id, account_id, arn_account_id, "user", is_root, report_date, run_time '
        "FROM credential_reports_parsed"
    ).fetchall()

    # Then every data row of every report is there once (headers skipped), with
    # its run and account from the key: leading zeros kept
    per_report = {(r.run_id, r.account_id): r for r in bucket.reports}
    assert len(rows) == sum(r.data_rows for r in bucket.reports)
    assert {(run, account) for run, account, *_ in rows} == set(per_report)
    assert {account for _, account, *_ in rows} >= {REALISTIC, SANDBOX}
    # ...the account of the realistic report's arns is its 10-digit placeholder
    assert {arn for _, account, arn, *_ in rows if account == REALISTIC} == {"0123456789"}
    # ...a quoted user name with a comma stays whole
    assert "ops,oncall@example.com" in {user for *_, user, _, _, _ in rows}
    # ...the run's time and date come from its id
    for run_id, _, _, _, _, day, started in rows:
        assert started == datetime.strptime(run_id, "%Y%m%dT%H%M%SZ")
        assert day == started.date()


def test_z_and_offset_times_23_columns_and_no_value_words_read_alike(
    duck: duckdb.DuckDBPyConnection,
) -> None:
    # Given the sandbox report (23 columns, times written with Z) and the
    # edge-case fixture (22 columns, +00:00)
    def row(account: str, user: str) -> tuple[object, ...]:
        found = duck.execute(
            "SELECT user_creation_time, access_key_1_last_rotated, password_last_used, "
            "additional_credentials_info, access_key_1_last_used_region, password_enabled, "
            "password_not_supported, mfa_active "
            'FROM credential_reports_latest WHERE account_id = ? AND "user" = ?',
            [account, user],
        ).fetchall()
        assert len(found) == 1, (account, user)
        return found[0]

    sandbox_root = row(SANDBOX, "<root_account>")
    sandbox_user = row(SANDBOX, "ops,oncall@example.com")
    historical_root = row(PRODUCTION, "<root_account>")
    removed_root = row(REMOVED, "<root_account>")
    bob = row(PRODUCTION, "bob")

    # Then Z times are the instants they name, as +00:00 ones are
    assert sandbox_root[1] == (AS_OF - timedelta(days=400)).replace(tzinfo=None)
    assert bob[1] == datetime(2024, 1, 15, 10, 0)
    # ...the 23rd column reads its value where present, NULL in a 22-column report;
    # N/A and not_supported read as NULL, a key used on S3 has no region
    assert sandbox_user[3] == "passkey"
    assert sandbox_root[3] is None and historical_root[3] is None
    assert bob[4] is None
    assert historical_root[2] == datetime(2025, 6, 1, 8, 15)
    # ...and the historical root is told apart from one whose credentials were removed
    assert historical_root[5:] == (False, True, False)  # its MFA device removed later
    assert removed_root[5:] == (False, False, False)
    assert sandbox_root[0] == datetime(2020, 1, 1, 0, 0)


def test_the_clock_of_every_view_and_query_is_pinned_to_the_tests_as_of(
    bucket: Bucket,
) -> None:
    # Given every view and query of sql/
    found = statements()

    # Then only current_timestamp and current_date read the clock; the findings
    # view reads it once (its as_of), and pinning leaves no clock behind
    by_name = {s.name: s for s in found}
    assert clocks(by_name["credential_findings"].tree) == 1
    assert "CURRENT_TIMESTAMP" in to_duckdb(by_name["credential_findings"])
    for statement in found:
        pinned = to_duckdb(statement, AS_OF)
        assert "CURRENT_" not in pinned.upper(), statement.name
        if clocks(statement.tree):
            assert "2025-06-16" in pinned, statement.name

    # When the same bucket is read one day later
    later = AS_OF + timedelta(days=1)
    rotation = by_name["credreports-key-rotation"]
    with athena_local.connect(bucket.root, as_of=later) as duck:
        failing = {(r["user"], r["credential"]) for r in athena_local.rows(duck, rotation, later)}

    # Then the key that was 90 days and 23 hours old now fails too: the
    # evaluation follows the pinned as_of, not the machine's clock
    assert ("rotation-boundary", "access-key-2") in failing
    assert datetime.now(UTC) - AS_OF > timedelta(days=30)


def test_the_latest_view_has_the_parsed_views_columns_in_its_order(
    duck: duckdb.DuckDBPyConnection,
) -> None:
    # credential_findings sets the two side by side (UNION ALL matches by position)
    def columns(view: str) -> list[tuple[str, str]]:
        described = duck.execute(f"DESCRIBE SELECT * FROM {view}").fetchall()  # noqa: S608
        return [(name, kind) for name, kind, *_ in described]

    assert columns("credential_reports_latest") == columns("credential_reports_parsed")


def test_run_accounts_lists_every_manifests_accounts_with_their_details(
    duck: duckdb.DuckDBPyConnection,
) -> None:
    # When the manifests are read (beside them in runs/: a summary written with
    # indentation, an HTML report, a replayed failure record)
    rows = duck.execute(
        'SELECT run_id, "trigger", status, account_id, account_name, ou_path FROM run_accounts'
    ).fetchall()

    # Then each manifest's accounts are there once, named and placed where its
    # details say (a name left empty reads NULL), and nothing else is
    by_run: dict[str, dict[str, tuple[str | None, str | None]]] = {}
    for run_id, trigger, status, account, name, ou_path in rows:
        assert status == "ENQUEUED"
        assert trigger == ("manual" if run_id == MANUAL else "schedule")
        assert account not in by_run.setdefault(run_id, {})
        by_run[run_id][account] = (name, ou_path)
    assert by_run == {
        SCHEDULED: {
            PRODUCTION: ("production", "Workloads/Prod"),
            REALISTIC: (None, "Workloads"),
            SANDBOX: ("sandbox", "Sandbox"),
            REMOVED: ("removed", ""),
            MISSING: (None, None),
        },
        MANUAL: {PRODUCTION: (None, None)},
        OLD: {LAPSED: ("legacy", "Suspended")},
    }
