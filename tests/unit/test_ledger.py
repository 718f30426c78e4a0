"""The run ledger's rules, on an in-memory bucket."""

from __future__ import annotations

import pytest

from credreports import layout
from credreports.ledger import LedgerError, latest_run_id, read_ledger
from credreports.models.codes import Reason
from credreports.models.manifest import ManifestStatus
from tests.support import builders
from tests.support.builders import NOW, RUN_ID, failure_record
from tests.support.fakes import MemoryStore

RUN = RUN_ID

A, B, C, D = "111111111111", "222222222222", "333333333333", "444444444444"


def manifest(
    store: MemoryStore,
    accounts: list[str],
    status: ManifestStatus = ManifestStatus.ENQUEUED,
) -> None:
    document = builders.manifest(accounts, status=status, skipped={D: "SUSPENDED"})
    store.put_json(layout.manifest_key(store.prefix, RUN), document.to_document())


def report(store: MemoryStore, account: str) -> None:
    store.objects[layout.report_key(store.prefix, RUN, account)] = b"user,arn\n"


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
    manifest(store, [], status=ManifestStatus.LISTING_FAILED)

    # Then the ledger has nothing outstanding, but the run is not complete
    ledger = read_ledger(store, RUN)
    assert ledger.outstanding == () and not ledger.complete


def test_an_unknown_run_is_an_error_and_the_latest_run_is_the_newest() -> None:
    # Given two runs
    store = MemoryStore()
    manifest(store, [A])
    newer = builders.manifest([A], run_id="20261124T020000Z")
    store.put_json(layout.manifest_key("", newer.run_id), newer.to_document())

    # Then the latest is the newer one, and a run that left nothing is an error
    assert latest_run_id(store) == "20261124T020000Z"
    assert latest_run_id(MemoryStore()) is None
    with pytest.raises(LedgerError, match="20200101T000000Z"):
        read_ledger(store, "20200101T000000Z")
