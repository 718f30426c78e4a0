"""A manifest that never lies (issue 11, item 3): ENQUEUING before the first
message, ENQUEUED after the last, LISTING_FAILED only for a run of which
nothing was sent, and a retried scheduled invocation never downgrades what an
earlier one did. The producer's logic on fakes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from credreports import layout
from credreports.adapters.organization import Account
from credreports.adapters.queue import Outgoing
from credreports.cli.render import ledger_rows
from credreports.errors import DeliveryError, OrganizationListingError
from credreports.ledger import read_ledger
from credreports.logic.producer import RunRequest, start_run
from credreports.models.codes import Trigger
from credreports.models.manifest import ManifestStatus, RunManifest
from credreports.settings import ProducerSettings
from tests.support.builders import RUN_ID
from tests.support.fakes import MemoryOrganization, MemoryQueue, MemoryStore, memory_checks

ROOT = "r-abcd"
ACCOUNTS = ["000000000001", "000000000002", "000000000003"]
SETTINGS = ProducerSettings.model_validate(
    {
        "REPORT_BUCKET": "reports",
        "WORK_QUEUE_URL": "https://sqs/work",
        "CONTROL_QUEUE_URL": "https://sqs/control",
    }
)
SCHEDULED = RunRequest(run_id=RUN_ID, trigger=Trigger.SCHEDULE)


def organization(*, fail: bool = False) -> MemoryOrganization:
    accounts = [Account(account_id, f"name-{account_id}", "ACTIVE") for account_id in ACCOUNTS]
    return MemoryOrganization(by_ou={ROOT: accounts}, fail=fail)


def read_manifest(store: MemoryStore) -> RunManifest:
    return RunManifest.model_validate(store.get_json(layout.manifest_key("", RUN_ID)))


@dataclass
class WatchingQueue(MemoryQueue):
    """A queue that notes the manifest's status whenever it is sent to."""

    store: MemoryStore = field(default_factory=MemoryStore)
    seen: list[ManifestStatus] = field(default_factory=list)

    def deliver(self, messages: Sequence[Outgoing]) -> list[tuple[Outgoing, str]]:
        self.seen.append(read_manifest(self.store).status)
        return super().deliver(messages)


def test_the_manifest_says_enqueuing_while_sending_and_enqueued_after() -> None:
    store = MemoryStore()
    queue = WatchingQueue(store=store)

    start_run(SCHEDULED, SETTINGS, organization(), queue, store, memory_checks())

    assert queue.seen == [ManifestStatus.ENQUEUING]
    manifest = read_manifest(store)
    assert manifest.status is ManifestStatus.ENQUEUED and manifest.accounts == tuple(ACCOUNTS)
    assert manifest.unsent == ()


def test_a_retry_after_a_full_send_sends_nothing_and_leaves_the_run_enqueued() -> None:
    # Given a run fully enqueued by a first invocation
    store, queue = MemoryStore(), MemoryQueue()
    start_run(SCHEDULED, SETTINGS, organization(), queue, store, memory_checks())
    sent = len(queue.sent)

    # When Lambda invokes the producer again for the same event, and this
    # time the organization cannot even be listed
    again = start_run(SCHEDULED, SETTINGS, organization(fail=True), queue, store, memory_checks())

    # Then nothing is sent again and the manifest still says ENQUEUED, with its accounts
    assert again.as_dict()["already_enqueued"] is True
    assert len(queue.sent) == sent == len(ACCOUNTS)
    manifest = read_manifest(store)
    assert manifest.status is ManifestStatus.ENQUEUED and manifest.accounts == tuple(ACCOUNTS)


def test_a_send_that_fails_partway_names_the_accounts_not_sent_and_a_retry_completes() -> None:
    # Given a queue that refuses one account's message
    store, queue = MemoryStore(), MemoryQueue(refuse={ACCOUNTS[1]})

    # When the producer sends the run
    with pytest.raises(DeliveryError, match=ACCOUNTS[1]):
        start_run(SCHEDULED, SETTINGS, organization(), queue, store, memory_checks())

    # Then the manifest stays ENQUEUING and names the account not sent...
    manifest = read_manifest(store)
    assert manifest.status is ManifestStatus.ENQUEUING
    assert manifest.unsent == (ACCOUNTS[1],) and manifest.accounts == tuple(ACCOUNTS)
    # ...and status shows it, and that the run is not complete
    ledger = read_ledger(store, RUN_ID)
    assert not ledger.complete
    assert ledger.as_dict()["manifest"]["unsent"] == [ACCOUNTS[1]]
    rows = dict(ledger_rows(ledger))
    assert rows["  not sent"] == f"1: {ACCOUNTS[1]}"
    assert f"credreports enqueue --run {RUN_ID}" in rows["manifest"]

    # When Lambda retries with the queue working again, every account is sent
    queue.refuse.clear()
    start_run(SCHEDULED, SETTINGS, organization(), queue, store, memory_checks())
    manifest = read_manifest(store)
    assert manifest.status is ManifestStatus.ENQUEUED and manifest.unsent == ()
    assert {m.key for m in queue.sent} == set(ACCOUNTS)


def test_a_retry_after_a_partial_send_sends_what_was_not_sent_without_listing_again() -> None:
    # Given a run whose send failed partway (some messages are on the queue)
    store, queue = MemoryStore(), MemoryQueue(refuse={ACCOUNTS[2]})
    with pytest.raises(DeliveryError):
        start_run(SCHEDULED, SETTINGS, organization(), queue, store, memory_checks())
    sent = [m.key for m in queue.sent]

    # When Lambda retries while the organization cannot even be listed
    queue.refuse.clear()
    again = start_run(SCHEDULED, SETTINGS, organization(fail=True), queue, store, memory_checks())

    # Then only the account not sent is sent, and the run is ENQUEUED, never LISTING_FAILED
    assert [m.key for m in queue.sent] == [*sent, ACCOUNTS[2]]
    assert again.enqueued == 1
    manifest = read_manifest(store)
    assert manifest.status is ManifestStatus.ENQUEUED
    assert manifest.accounts == tuple(ACCOUNTS) and manifest.unsent == ()


def test_a_run_that_failed_to_list_is_replaced_once_a_retry_lists_it() -> None:
    store, queue = MemoryStore(), MemoryQueue()
    with pytest.raises(OrganizationListingError):
        start_run(SCHEDULED, SETTINGS, organization(fail=True), queue, store, memory_checks())
    assert read_manifest(store).status is ManifestStatus.LISTING_FAILED
    rows = dict(ledger_rows(read_ledger(store, RUN_ID)))
    assert "nothing was enqueued" in rows["manifest"]

    start_run(SCHEDULED, SETTINGS, organization(), queue, store, memory_checks())

    manifest = read_manifest(store)
    assert manifest.status is ManifestStatus.ENQUEUED and manifest.error is None
    assert manifest.accounts == tuple(ACCOUNTS)
