"""Reading a run's reports: the as_of of a run, order, unreadable reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from credreports.errors import StorageDenied
from credreports.findings.sources import (
    ReportLocation,
    evaluate_all,
    newest_generated_time,
    run_reports,
)
from tests.support.reports import AS_OF, report_csv, user_row

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Stored:
    key: str
    last_modified: datetime


@dataclass
class FakeStore:
    """The report bucket's objects in memory; counts the HEADs it answers."""

    objects_: dict[str, tuple[datetime, dict[str, str], bytes]] = field(default_factory=dict)
    prefix: str = ""
    heads: list[str] = field(default_factory=list)

    def add(self, account: str, stored: datetime, generated: datetime | None) -> str:
        key = (
            f"reports/date=2026-11-23/run=20261123T020000Z/account={account}/credential-report.csv"
        )
        metadata = {} if generated is None else {"generated-time": generated.isoformat()}
        self.objects_[key] = (stored, metadata, report_csv(user_row(account_id=account)).encode())
        return key

    def objects(self, prefix: str) -> list[Stored]:
        return [Stored(k, v[0]) for k, v in self.objects_.items() if k.startswith(prefix)]

    def metadata(self, key: str) -> dict[str, str]:
        self.heads.append(key)
        return self.objects_[key][1]

    def read(self, key: str) -> bytes:
        if key.endswith("denied/credential-report.csv"):
            raise StorageDenied("AccessDenied: GetObject")
        return self.objects_[key][2]

    def get_json(self, key: str) -> Any | None:
        return None


def test_the_as_of_of_a_run_is_its_newest_generation_time_read_from_few_objects() -> None:
    # Given 200 reports stored over 20 minutes, each generated 3 s before being stored,
    # and one late report IAM had generated an hour earlier (a reused report)
    store = FakeStore()
    for index in range(200):
        stored = T0 + timedelta(seconds=6 * index)
        store.add(f"{index:012d}", stored, stored - timedelta(seconds=3))
    store.add("999999999999", T0 + timedelta(minutes=21), T0 - timedelta(hours=1))
    reports = run_reports(store, "20261123T020000Z")
    assert len(reports) == 201

    # When the run's as_of is computed
    as_of = newest_generated_time(store, reports, workers=4)

    # Then it is the newest generation time, found without reading every object
    assert as_of == T0 + timedelta(seconds=6 * 199 - 3)
    assert len(store.heads) < 201 // 2


def test_a_report_without_the_metadata_counts_as_generated_when_stored() -> None:
    store = FakeStore()
    store.add("111122223333", T0, None)
    store.add("444455556666", T0 - timedelta(minutes=1), T0 - timedelta(minutes=2))
    reports = run_reports(store, "20261123T020000Z")
    assert newest_generated_time(store, reports) == T0


def test_evaluate_all_keeps_order_and_names_what_it_could_not_read() -> None:
    # Given 50 readable reports and one S3 refuses to give
    store = FakeStore()
    keys = [store.add(f"{i:012d}", T0, T0) for i in range(50)]
    denied = "reports/date=2026-11-23/run=20261123T020000Z/account=denied/credential-report.csv"
    sources = [ReportLocation(key, key.split("account=")[1][:12]) for key in keys]
    sources.insert(7, ReportLocation(denied, None))

    # When they are evaluated 8 at a time
    evaluated = list(evaluate_all(sources, lambda s: store.read(s.location), AS_OF, workers=8))

    # Then every source comes back once, in order, the denied one with its problem
    assert [e.source for e in evaluated] == sources
    assert evaluated[7].problem is not None and "AccessDenied" in evaluated[7].problem
    assert all(e.findings for i, e in enumerate(evaluated) if i != 7)
    assert evaluated[8].findings[0].account_id == "000000000007"
