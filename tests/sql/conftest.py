"""A report bucket on disk for the Athena SQL tests, and DuckDB over it.

The bucket holds the two shared fixtures and generated cases, laid out as the
collector stores them (DESIGN.md): two runs of one account on one day, account
ids with leading zeros, a quoted user name with a comma, 22- and 23-column
reports, ``Z`` and ``+00:00`` times, a root whose credentials were removed,
each threshold's boundary, a report older than the latest-run window, run
manifests with and without account names, and the other files of ``runs/``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from credreports import layout
from credreports.adapters.storage import json_body
from credreports.findings.engine import Finding, evaluate_report
from credreports.models.codes import Trigger
from credreports.models.manifest import AccountDetail, ManifestStatus, RunManifest
from tests.support.reports import (
    AS_OF,
    COLUMNS,
    FIXTURES,
    days_ago,
    report_csv,
    root_row,
    user_row,
)
from tools import athena_local

PRODUCTION = "123456789012"  # edge-cases.csv, two runs today
REALISTIC = "000123456789"  # realistic.csv (its arns hold a 10-digit placeholder)
SANDBOX = "012345678901"  # generated, 23 columns, Z times
REMOVED = "210987654321"  # generated, root credentials removed
LAPSED = "555555555555"  # only a report 10 days old
MISSING = "666666666666"  # in today's manifest, no report

SCHEDULED = "20250616T020000Z"
MANUAL = "20250616T090000Z"  # the same day, later: the newest run of PRODUCTION
OLD = "20250606T020000Z"

# what the producer knew of each account (REALISTIC's name unknown, REMOVED under the root)
DETAILS = {
    PRODUCTION: AccountDetail(account_id=PRODUCTION, name="production", ou_path="Workloads/Prod"),
    SANDBOX: AccountDetail(account_id=SANDBOX, name="sandbox", ou_path="Sandbox"),
    REALISTIC: AccountDetail(account_id=REALISTIC, name="", ou_path="Workloads"),
    REMOVED: AccountDetail(account_id=REMOVED, name="removed", ou_path=""),
    LAPSED: AccountDetail(account_id=LAPSED, name="legacy", ou_path="Suspended"),
}


def manifest(run_id: str, trigger: Trigger, *accounts: str, details: bool = True) -> RunManifest:
    return RunManifest(
        run_id=run_id,
        trigger=trigger,
        created_at=run_time(run_id),
        status=ManifestStatus.ENQUEUED,
        accounts=accounts,
        details=tuple(DETAILS[a] for a in accounts if a in DETAILS) if details else (),
    )


def run_time(run_id: str) -> datetime:
    return datetime.strptime(run_id, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class StoredReport:
    run_id: str
    account_id: str
    content: bytes

    @property
    def day(self) -> str:
        return run_time(self.run_id).date().isoformat()

    @property
    def data_rows(self) -> int:
        """Rows of the report below its header."""
        return len(list(csv.reader(io.StringIO(self.content.decode())))) - 1

    def findings(self, as_of: datetime) -> list[Finding]:
        """What the Python engine finds in this report at ``as_of``."""
        return evaluate_report(self.content, self.account_id, as_of)


@dataclass
class Bucket:
    root: Path
    reports: list[StoredReport] = field(default_factory=list)

    def put(self, key: str, content: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)

    def put_report(self, run_id: str, account_id: str, content: str | bytes) -> None:
        data = content.encode() if isinstance(content, str) else content
        self.put(layout.report_key("", run_id, account_id), data)
        self.reports.append(StoredReport(run_id, account_id, data))

    def put_manifest(self, manifest: RunManifest) -> None:
        # written as the producer writes it
        self.put(layout.manifest_key("", manifest.run_id), json_body(manifest.to_document()))

    def latest(self, as_of: datetime) -> list[StoredReport]:
        """The newest report of each account among today's and the 7 days
        before (what credential_reports_latest should pick)."""
        since = as_of.date().toordinal() - 7
        newest: dict[str, StoredReport] = {}
        for report in self.reports:
            if datetime.fromisoformat(report.day).toordinal() < since:
                continue
            kept = newest.get(report.account_id)
            if kept is None or report.run_id > kept.run_id:
                newest[report.account_id] = report
        return list(newest.values())


def _later_the_same_day(content: str) -> str:
    """edge-cases.csv after alice turned MFA on and the (historical) root's MFA
    device was removed."""
    rows = list(csv.DictReader(io.StringIO(content)))
    for row in rows:
        if row["user"] == "alice":
            row["mfa_active"] = "true"
        if row["user"] == "<root_account>":
            row["mfa_active"] = "false"
    return report_csv(*rows)


def _sandbox_report() -> str:
    """23 columns, times written with Z, a user name with a comma."""
    rows = [
        root_row(
            SANDBOX,
            mfa_active=False,
            access_key_1_active=True,
            access_key_1_last_rotated=days_ago(400),
            access_key_1_last_used_date=days_ago(0.5),
        ),
        user_row(
            "ops,oncall@example.com",
            SANDBOX,
            password_enabled=True,
            password_last_used=days_ago(3),
            password_last_changed=days_ago(30),
            access_key_1_active=True,
            access_key_1_last_rotated=days_ago(10),
        ),
        # key 1: 91 whole days (fails), key 2: 90 days 23 hours (passes)
        user_row(
            "rotation-boundary",
            SANDBOX,
            access_key_1_active=True,
            access_key_1_last_rotated=days_ago(91),
            access_key_1_last_used_date=days_ago(1),
            access_key_2_active=True,
            access_key_2_last_rotated=days_ago(90 + 23 / 24),
            access_key_2_last_used_date=days_ago(1),
        ),
        # password unused 46 days (fails), key unused 45 days 22 hours (passes)
        user_row(
            "unused-boundary",
            SANDBOX,
            password_enabled=True,
            mfa_active=True,
            password_last_used=days_ago(46),
            password_last_changed=days_ago(200),
            access_key_1_active=True,
            access_key_1_last_rotated=days_ago(60),
            access_key_1_last_used_date=days_ago(45 + 22 / 24),
        ),
    ]
    for row in rows:
        row["additional_credentials_info"] = "N/A"
    rows[1]["additional_credentials_info"] = "passkey"  # a value, whatever AWS will write
    text = report_csv(*rows, columns=(*COLUMNS, "additional_credentials_info"))
    return text.replace("+00:00", "Z")


def _removed_report() -> str:
    """A member account whose root credentials were removed (no password, no
    key, no MFA), used exactly 2 days ago; a user with no date at all."""
    return report_csv(
        root_row(
            REMOVED,
            password_enabled=False,
            password_last_changed=None,
            password_next_rotation=None,
            password_last_used=days_ago(2),
            mfa_active=False,
        ),
        user_row(
            "no-dates",
            REMOVED,
            user_creation_time=None,
            password_enabled=True,
            mfa_active=True,
            access_key_1_active=True,
        ),
        user_row("signer", REMOVED, cert_1_active=True, cert_1_last_rotated=days_ago(900)),
    )


def _lapsed_report() -> str:
    return report_csv(
        root_row(LAPSED, password_last_used=days_ago(11)),
        user_row("console", LAPSED, password_enabled=True, password_last_used=days_ago(12)),
    )


def build_bucket(root: Path) -> Bucket:
    bucket = Bucket(root)
    edge = (FIXTURES / "edge-cases.csv").read_text(encoding="utf-8")
    bucket.put_report(SCHEDULED, PRODUCTION, edge)
    bucket.put_report(MANUAL, PRODUCTION, _later_the_same_day(edge))
    bucket.put_report(SCHEDULED, REALISTIC, (FIXTURES / "realistic.csv").read_bytes())
    bucket.put_report(SCHEDULED, SANDBOX, _sandbox_report())
    bucket.put_report(SCHEDULED, REMOVED, _removed_report())
    bucket.put_report(OLD, LAPSED, _lapsed_report())

    bucket.put_manifest(
        manifest(SCHEDULED, Trigger.SCHEDULE, PRODUCTION, REALISTIC, SANDBOX, REMOVED, MISSING)
    )
    # a manifest written before manifests carried details
    bucket.put_manifest(manifest(MANUAL, Trigger.MANUAL, PRODUCTION, details=False))
    bucket.put_manifest(manifest(OLD, Trigger.SCHEDULE, LAPSED))
    # the other files of runs/: a summary written with indentation, the HTML
    # report, a replayed failure record
    run = f"runs/date=2025-06-16/run={SCHEDULED}/"
    bucket.put(
        run + "summary.json", b'{\n  "run_id": "%s",\n  "complete": true\n}\n' % SCHEDULED.encode()
    )
    bucket.put(run + "report.html", b'<!doctype html>\n<html><body>{"run_id": 1}</body></html>\n')
    bucket.put(
        run + f"replayed/account={MISSING}/20250616T050000Z.json",
        json_body({"run_id": SCHEDULED, "account_id": MISSING, "reason": "THROTTLED"}),
    )
    return bucket


@pytest.fixture(scope="session")
def bucket(tmp_path_factory: pytest.TempPathFactory) -> Bucket:
    return build_bucket(tmp_path_factory.mktemp("bucket"))


@pytest.fixture(scope="session")
def duck(bucket: Bucket) -> Iterator[duckdb.DuckDBPyConnection]:
    """DuckDB over the bucket with the views of sql/, the clock pinned at AS_OF."""
    with athena_local.connect(bucket.root, as_of=AS_OF) as connection:
        yield connection
