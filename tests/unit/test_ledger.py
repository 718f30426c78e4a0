"""The run ledger's rules, on an in-memory bucket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from credreports import layout
from credreports.adapters.storage import ReportStore
from credreports.ledger import LedgerError, latest_run_id, read_ledger
from credreports.messages import FailureRecord, Reason, Trigger

RUN = "20261123T020000Z"
A, B, C, D = "111111111111", "222222222222", "333333333333", "444444444444"
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


class MemoryStore(ReportStore):
    """A bucket in a dict: the ledger's rules without S3."""

    def __init__(self, prefix: str = "") -> None:
        self.bucket = "memory"
        self.prefix = prefix
        self.objects: dict[str, bytes] = {}

    def put_json(self, key: str, document: Any, metadata: dict[str, str] | None = None) -> str:
        self.objects[key] = json.dumps(document, default=str).encode()
        return key

    def get_json(self, key: str) -> Any | None:
        return json.loads(self.objects[key]) if key in self.objects else None

    def keys(self, prefix: str) -> Iterator[str]:
        return iter(sorted(k for k in self.objects if k.startswith(prefix)))

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)


def manifest(store: MemoryStore, accounts: list[str], status: str = "ENQUEUED") -> None:
    store.put_json(
        layout.manifest_key(store.prefix, RUN),
        {
            "v": 1,
            "run_id": RUN,
            "trigger": "schedule",
            "created_at": "2026-11-23T02:00:01Z",
            "status": status,
            "accounts": accounts,
            "skipped": [{"account_id": D, "state": "SUSPENDED"}],
            "excluded": [],
        },
    )


def report(store: MemoryStore, account: str) -> None:
    store.objects[layout.report_key(store.prefix, RUN, account)] = b"user,arn\n"


def failure_record(account: str, reason: Reason = Reason.ROLE_ASSUME_DENIED) -> FailureRecord:
    return FailureRecord(
        account_id=account,
        run_id=RUN,
        reason=reason,
        detail="injected",
        attempts=1,
        trigger=Trigger.SCHEDULE,
        failed_at=NOW,
        recorded_at=NOW,
        message_id="m-1",
        receive_count=1,
    )


def failure(store: MemoryStore, account: str, reason: Reason = Reason.ROLE_ASSUME_DENIED) -> None:
    record = failure_record(account, reason)
    store.put_json(layout.failure_key(store.prefix, RUN, account), record.model_dump(mode="json"))


def test_each_account_is_a_report_a_failure_or_outstanding() -> None:
    # Given a run of three accounts: one reported, one failed, one with nothing yet
    store = MemoryStore(prefix="cr/")
    manifest(store, [A, B, C])
    report(store, A)
    failure(store, B, Reason.REPORT_NOT_READY)

    # When the ledger is read
    ledger = read_ledger(store, RUN)

    # Then C is outstanding and the run is not complete
    assert set(ledger.reports) == {A}
    assert ledger.failures_by_reason() == {"REPORT_NOT_READY": [B]}
    assert ledger.outstanding == (C,)
    assert not ledger.complete


def test_a_report_beats_a_failure() -> None:
    # Given an account with both a report and a failure record
    store = MemoryStore()
    manifest(store, [A])
    report(store, A)
    failure(store, A)

    # When the ledger is read
    ledger = read_ledger(store, RUN)

    # Then it counts once, as a report, and the run is complete
    assert set(ledger.reports) == {A} and not ledger.failures
    assert ledger.complete
    assert ledger.as_dict()["counts"]["failures"] == 0


def test_a_withdrawn_failure_is_outstanding_until_its_new_outcome() -> None:
    # Given a failure that a replay moved into the run's history
    store = MemoryStore()
    manifest(store, [A, B])
    report(store, A)
    marked = failure_record(B).model_copy(update={"replayed_at": NOW})
    store.put_json(
        layout.replayed_failure_key("", RUN, B, "20261123T030000Z"), marked.model_dump(mode="json")
    )

    # When the ledger is read
    ledger = read_ledger(store, RUN)

    # Then B is outstanding and shown as replaying
    assert ledger.outstanding == (B,) and set(ledger.replaying) == {B}
    assert not ledger.complete

    # When its replay fails again
    failure(store, B)

    # Then B is a failure again, no longer replaying, and the run is complete
    ledger = read_ledger(store, RUN)
    assert set(ledger.failures) == {B} and not ledger.replaying and ledger.complete


def test_a_run_whose_listing_failed_is_never_complete() -> None:
    # Given a manifest that says the organization could not be listed
    store = MemoryStore()
    manifest(store, [], status="LISTING_FAILED")

    # Then the ledger has nothing outstanding, but the run is not complete
    ledger = read_ledger(store, RUN)
    assert ledger.outstanding == () and not ledger.complete


def test_an_unknown_run_is_an_error_and_the_latest_run_is_the_newest() -> None:
    # Given two runs
    store = MemoryStore()
    manifest(store, [A])
    store.put_json(layout.manifest_key("", "20261124T020000Z"), {"run_id": "20261124T020000Z"})

    # Then the latest is the newer one, and a run that left nothing is an error
    assert latest_run_id(store) == "20261124T020000Z"
    assert latest_run_id(MemoryStore()) is None
    with pytest.raises(LedgerError, match="20200101T000000Z"):
        read_ledger(store, "20200101T000000Z")
