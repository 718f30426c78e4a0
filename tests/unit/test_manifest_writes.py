"""Issue 10, item 3: a run's manifest is created once (If-None-Match) and
changed only by conditional writes (If-Match on the ETag read); the latest run
is the one whose manifest was created last, not the largest run id."""

from __future__ import annotations

from typing import Any

import pytest

from credreports import layout
from credreports.errors import ConcurrentUpdateError
from credreports.ledger import LedgerError, latest_run_id, update_manifest
from credreports.logic.producer import RunRequest, start_run
from credreports.models.codes import Trigger
from credreports.models.manifest import ManifestStatus, RunManifest
from credreports.operations import enqueue_accounts
from tests.support import builders
from tests.support.builders import NOW, RUN_ID
from tests.support.fakes import MemoryQueue, MemoryStore
from tests.unit.test_producer_runs import organization, settings

A, B, C = "111111111111", "222222222222", "333333333333"


def stored(store: MemoryStore, run_id: str = RUN_ID) -> RunManifest:
    return RunManifest.model_validate(store.get_json(layout.manifest_key("", run_id)))


def put_manifest(store: MemoryStore, manifest: RunManifest) -> None:
    store.put_json(layout.manifest_key("", manifest.run_id), manifest.to_document())


class RacingStore(MemoryStore):
    """A bucket where someone else changes the manifest between our read and
    our write, ``times`` times: the conditional write must notice."""

    def __init__(self, change: Any, times: int = 1) -> None:
        super().__init__()
        self.change, self.times = change, times

    def replace_json(self, key: str, document: Any, etag: str) -> str:
        if self.times > 0:
            self.times -= 1
            current = RunManifest.model_validate(self.get_json(key))
            self.put_json(key, self.change(current).to_document())
        return super().replace_json(key, document, etag)


def test_a_concurrent_change_to_the_manifest_is_kept_not_overwritten() -> None:
    # Given a manifest that an operator extends while we mark it enqueued
    store = RacingStore(lambda m: m.with_accounts((C,)))
    put_manifest(store, builders.manifest([A, B], status=ManifestStatus.ENQUEUING))

    # When the status changes by a conditional write
    update_manifest(
        store, RUN_ID, lambda m: m.model_copy(update={"status": ManifestStatus.ENQUEUED})
    )

    # Then both changes are in it
    assert stored(store).accounts == (A, B, C)
    assert stored(store).status is ManifestStatus.ENQUEUED


def test_a_manifest_that_keeps_changing_is_an_error_not_a_blind_write() -> None:
    # (each time a new account: the manifest really is different each time)
    store = RacingStore(lambda m: m.with_accounts((f"{len(m.accounts):012d}",)), times=99)
    put_manifest(store, builders.manifest([A]))

    with pytest.raises(LedgerError, match="changed 5 times"):
        update_manifest(store, RUN_ID, lambda m: m.with_accounts((B,)))


def test_the_store_refuses_a_write_on_a_stale_etag_or_over_an_existing_key() -> None:
    store = MemoryStore()
    key = layout.manifest_key("", RUN_ID)
    etag = store.create_json(key, {"v": 1})

    with pytest.raises(ConcurrentUpdateError):
        store.create_json(key, {"v": 2})
    store.replace_json(key, {"v": 3}, etag)
    with pytest.raises(ConcurrentUpdateError):
        store.replace_json(key, {"v": 4}, etag)
    assert store.get_json(key) == {"v": 3}


def test_a_scheduled_event_delivered_again_after_its_run_started_sends_nothing() -> None:
    store, queue = MemoryStore(), MemoryQueue()
    request = RunRequest(run_id=RUN_ID, trigger=Trigger.SCHEDULE)
    start_run(request, settings(), organization(), queue, store)
    sent = len(queue.sent)

    again = start_run(request, settings(), organization(), queue, store)

    assert (again.run_id, again.enqueued, len(queue.sent)) == (RUN_ID, 0, sent)
    assert stored(store).status is ManifestStatus.ENQUEUED


def test_a_run_whose_producer_died_while_sending_is_sent_again_from_its_manifest() -> None:
    # Given a manifest left ENQUEUING (the accounts are known, not all sent)
    store, queue = MemoryStore(), MemoryQueue()
    put_manifest(store, builders.manifest([A, B], status=ManifestStatus.ENQUEUING))

    # When Lambda retries the scheduled event
    again = start_run(
        RunRequest(run_id=RUN_ID, trigger=Trigger.SCHEDULE),
        settings(),
        organization(),
        queue,
        store,
    )

    # Then the manifest's accounts (not a new listing) are sent, and it is ENQUEUED
    assert [m.key for m in queue.sent] == [A, B] and again.enqueued == 2
    assert stored(store).status is ManifestStatus.ENQUEUED and stored(store).accounts == (A, B)


def test_a_manual_run_never_overwrites_another_runs_manifest() -> None:
    store, queue = MemoryStore(), MemoryQueue()
    put_manifest(store, builders.manifest([C], trigger=Trigger.MANUAL))

    started = start_run(
        RunRequest(run_id=RUN_ID, trigger=Trigger.MANUAL, account_ids=(A,)),
        settings(),
        organization(),
        queue,
        store,
    )

    assert started.run_id == "20261123T020001Z"
    assert stored(store).accounts == (C,)
    assert stored(store, started.run_id).accounts == (A,)


def test_enqueue_into_a_run_adds_its_accounts_by_a_conditional_write() -> None:
    store = RacingStore(lambda m: m.with_accounts((C,)))
    put_manifest(store, builders.manifest([A]))

    enqueue_accounts([B], MemoryQueue(), store, run_id=RUN_ID, now=NOW)

    assert stored(store).accounts == (A, C, B)


def test_the_latest_run_is_the_last_manifest_created_not_the_largest_id() -> None:
    # Given, in the order written: an old run, the real latest run, a forged
    # run id years ahead, a folder with no manifest, and the old run's
    # manifest rewritten (enqueue --run added an account to it)
    store = MemoryStore()
    old = builders.manifest([A], run_id="20261120T020000Z")
    put_manifest(store, old.model_copy(update={"created_at": NOW.replace(day=20)}))
    put_manifest(store, builders.manifest([A], run_id=RUN_ID))
    forged = builders.manifest([A], run_id="20991231T235959Z")
    put_manifest(store, forged.model_copy(update={"created_at": NOW.replace(hour=9)}))
    store.put_json("runs/date=2026-11-23/run=20261123T235959Z/replayed/x.json", {})
    store.put_json("runs/date=2026-11-23/run=2026123T20000Z/manifest.json", old.to_document())
    put_manifest(
        store, old.with_accounts((B,)).model_copy(update={"created_at": NOW.replace(day=20)})
    )

    # Then the latest is the run created last, among real ones
    assert latest_run_id(store, now=NOW) == RUN_ID
