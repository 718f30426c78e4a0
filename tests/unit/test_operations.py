"""The operator's actions (credreports.operations) on fakes: ``enqueue`` into
a new or an existing run, ``replay`` of failures, and what the ledger says after."""

from __future__ import annotations

import pytest

from credreports import layout
from credreports.errors import DeliveryError
from credreports.ledger import read_ledger, read_manifest
from credreports.models.codes import Reason
from credreports.operations import InvalidAccountIdsError, enqueue_accounts, replay_failures
from tests.support import builders
from tests.support.builders import NOW, RUN_ID, failure_record
from tests.support.fakes import MemoryQueue, MemoryStore, memory_checks

A, B, C = "111111111111", "222222222222", "333333333333"
# The control queue: a test that looks at the checks sent builds its own.
CHECKS = memory_checks()


def run_with(store: MemoryStore, accounts: list[str], failed: dict[str, Reason]) -> None:
    """A run of ``accounts`` whose ``failed`` accounts have failure records,
    the others reports."""
    store.put_json(layout.manifest_key("", RUN_ID), builders.manifest(accounts).to_document())
    for account in accounts:
        if account in failed:
            record = failure_record(account, failed[account])
            store.put_json(layout.failure_key("", RUN_ID, account), record.model_dump(mode="json"))
        else:
            store.objects[layout.report_key("", RUN_ID, account)] = b"user,arn\n"


def test_enqueue_without_a_run_starts_a_new_one_with_its_manifest() -> None:
    store, queue = MemoryStore(), MemoryQueue()

    done = enqueue_accounts([A, B, A], queue, store, CHECKS, now=NOW)

    assert done.new_run and done.run_id == "20261123T030000Z" and done.account_ids == (A, B)
    manifest = read_manifest(store, done.run_id)
    assert manifest is not None and manifest.accounts == (A, B)
    assert [(b["account_id"], b["trigger"]) for b in queue.bodies()] == [
        (A, "manual"),
        (B, "manual"),
    ]


def test_enqueue_with_a_bad_id_names_it_and_sends_nothing() -> None:
    store, queue = MemoryStore(), MemoryQueue()
    with pytest.raises(InvalidAccountIdsError, match="'12345'"):
        enqueue_accounts([A, "12345"], queue, store, CHECKS, now=NOW)
    assert not queue.sent and not store.objects


def test_enqueue_into_a_run_adds_new_accounts_and_withdraws_failures() -> None:
    # Given a run where B failed
    store, queue = MemoryStore(), MemoryQueue()
    run_with(store, [A, B], {B: Reason.ROLE_ASSUME_DENIED})

    # When B and a new account C are enqueued into it
    done = enqueue_accounts([B, C], queue, store, CHECKS, run_id=RUN_ID, now=NOW)

    # Then the manifest expects C, and both are outstanding until they land
    assert not done.new_run
    ledger = read_ledger(store, RUN_ID)
    assert ledger.accounts == (A, B, C)
    assert set(ledger.outstanding) == {B, C} and set(ledger.replaying) == {B}
    assert [m.key for m in queue.sent] == [B, C]


def test_replay_sends_the_chosen_failures_once() -> None:
    # Given a run with two failures of different reasons
    store, queue = MemoryStore(), MemoryQueue()
    run_with(store, [A, B, C], {B: Reason.ROLE_ASSUME_DENIED, C: Reason.THROTTLED})

    # When the role failures are replayed, twice
    first = replay_failures(
        store, queue, RUN_ID, reasons={"ROLE_ASSUME_DENIED"}, checks=CHECKS, now=NOW
    )
    second = replay_failures(
        store, queue, RUN_ID, reasons={"ROLE_ASSUME_DENIED"}, checks=CHECKS, now=NOW
    )

    # Then B was sent once, with a fresh attempt counter and trigger replay
    assert set(first.sent) == {B} and not second.sent and second.already_replaying == (B,)
    assert [(b["account_id"], b["attempt"], b["trigger"]) for b in queue.bodies()] == [
        (B, 0, "replay")
    ]
    ledger = read_ledger(store, RUN_ID)
    assert ledger.outstanding == (B,) and set(ledger.failures) == {C}


def test_a_dry_run_replay_sends_and_withdraws_nothing() -> None:
    store, queue = MemoryStore(), MemoryQueue()
    run_with(store, [A, B], {B: Reason.THROTTLED})

    replay = replay_failures(store, queue, RUN_ID, dry_run=True, checks=CHECKS, now=NOW)

    assert set(replay.sent) == {B} and not queue.sent
    assert set(read_ledger(store, RUN_ID).failures) == {B}


def test_a_replay_whose_send_fails_puts_the_failure_records_back() -> None:
    store, queue = MemoryStore(), MemoryQueue(refuse={B})
    run_with(store, [A, B], {B: Reason.THROTTLED})

    with pytest.raises(DeliveryError):
        replay_failures(store, queue, RUN_ID, checks=CHECKS, now=NOW)

    ledger = read_ledger(store, RUN_ID)
    assert set(ledger.failures) == {B} and ledger.complete


def test_replay_of_an_account_that_did_not_fail_says_so() -> None:
    store, queue = MemoryStore(), MemoryQueue()
    run_with(store, [A, B], {B: Reason.THROTTLED})

    replay = replay_failures(store, queue, RUN_ID, accounts=[A], checks=CHECKS, now=NOW)

    assert not replay.sent and replay.not_failed == (A,) and not queue.sent
