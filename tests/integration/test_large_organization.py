"""A producer that survives a throttled organization (issue 11, item 2, must
show 2): 10,000 accounts in the emulator's backend, 30% of the pages of
accounts (ListAccountsForParent, the OU walk) throttled, one complete listing
and one ENQUEUED manifest; a retried
invocation after a full send changes nothing; a send that fails partway
records the accounts it could not send, and the retry sends just those.

The 10,000-account run skips the waits it asks for (tests/support/virtual_time.py:
botocore's backoff and the listing's pace pass at once, on the producer's
clock too) and two of moto's costs (tests/support/emulator_shortcuts.py)."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest

from credreports.adapters.storage import ReportStore
from credreports.cli.render import ledger_rows
from credreports.ledger import read_ledger
from credreports.local.pipeline import LocalPipeline
from credreports.local.resources import Resources
from credreports.local.seed import no_users, seed_organization
from credreports.models.manifest import ManifestStatus
from tests.support.builders import start_scheduled
from tests.support.emulator_shortcuts import (
    QueueEmptier,
    cached_account_listing,
    indexed_access_keys,
)
from tests.support.faults import Faults
from tests.support.ledger import assert_every_account_accounted_for, read_run
from tests.support.virtual_time import instant_waits

RUN_ID = "20261123T020000Z"


@pytest.mark.slow
def test_ten_thousand_accounts_are_listed_once_under_throttling_and_all_enqueued(
    stack: Resources, faults: Faults
) -> None:
    # Given 10,000 accounts, and Organizations throttling 30% of the account pages
    org = seed_organization(9_999, ous={}, users=no_users, direct=True)
    faults.throttle(
        {"organizations.ListAccountsForParent"}, rate=0.3, code="TooManyRequestsException"
    )
    tokens: list[str | None] = []

    def note_page(params: dict[str, Any], **_: Any) -> None:
        tokens.append(params.get("NextToken"))

    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register(
        "provide-client-params.organizations.ListAccountsForParent", note_page
    )
    pipeline = LocalPipeline(stack)
    emptier = QueueEmptier(stack.work_queue_url.rsplit("/", 1)[1])

    # When the schedule fires
    started = time.monotonic()
    with cached_account_listing(), indexed_access_keys(), instant_waits() as waits:
        try:
            summary = start_scheduled(pipeline)
        finally:
            emptier.stop()
    took = time.monotonic() - started

    # Then the organization was listed once, from page 1 to page 500, through the throttling
    assert faults.fired["throttle:organizations.ListAccountsForParent"] > 100
    assert tokens.count(None) == 1, "the listing restarted from page 1"
    assert len(set(tokens)) == 500
    # ...every account was sent exactly once, and the manifest says so
    assert summary["enqueued"] == 10_000
    assert emptier.accounts == dict.fromkeys(org.ids(), 1)
    manifest = read_run(stack.bucket, RUN_ID).manifest
    assert manifest is not None and manifest.status is ManifestStatus.ENQUEUED
    assert set(manifest.accounts) == org.ids() and manifest.unsent == ()
    print(
        f"\n10,000 accounts listed and enqueued under 30% throttling in {took:.0f} s, "
        f"and {waits.seconds:.0f} s of {waits.count} waits skipped"
    )

    # When Lambda invokes the producer again for the same event
    again = start_scheduled(pipeline)

    # Then nothing is listed or sent again, and the manifest stays ENQUEUED
    assert again["already_enqueued"] is True and len(set(tokens)) == 500
    assert sum(emptier.accounts.values()) == 10_000
    manifest = read_run(stack.bucket, RUN_ID).manifest
    assert manifest is not None and manifest.status is ManifestStatus.ENQUEUED


def test_a_send_that_fails_partway_records_the_unsent_accounts_and_a_retry_sends_them(
    stack: Resources, faults: Faults
) -> None:
    # Given 30 accounts (3 SendMessageBatch calls, after the run's check) and
    # SQS failing the second batch on every resend
    org = seed_organization(29, ous={}, users=no_users, direct=True)
    faults.fail("sqs.SendMessageBatch", "InternalError", 500, calls={3, 5, 6, 7, 8})
    pipeline = LocalPipeline(stack)

    # When the schedule fires, the producer fails after sending what it could
    with pytest.raises(Exception, match="could not send 10 of 30 accounts"):
        start_scheduled(pipeline)

    # Then the manifest is ENQUEUING and names the 10 accounts not sent...
    manifest = read_run(stack.bucket, RUN_ID).manifest
    assert manifest is not None and manifest.status is ManifestStatus.ENQUEUING
    assert len(manifest.unsent) == 10 and set(manifest.unsent) < org.ids()
    # ...and status shows them
    ledger = read_ledger(ReportStore(stack.bucket, stack.prefix), RUN_ID)
    rows = dict(ledger_rows(ledger))
    assert rows["  not sent"] == f"10: {' '.join(manifest.unsent)}"
    assert not ledger.complete

    # When Lambda retries the scheduled event, it sends those 10, and the run completes
    summary = start_scheduled(pipeline)
    pipeline.drain()
    assert summary["enqueued"] == 10
    outcome = assert_every_account_accounted_for(stack.bucket, RUN_ID, org.ids())
    assert set(outcome.reports) == org.ids()
    assert outcome.manifest is not None and outcome.manifest.status is ManifestStatus.ENQUEUED
