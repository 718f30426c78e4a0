"""The producer's logic (credreports.logic.producer) on fakes: which accounts
a run takes, what its manifest says, and what it sends."""

from __future__ import annotations

import json

import pytest

from credreports import layout
from credreports.adapters.organization import Account
from credreports.errors import DeliveryError, OrganizationListingError
from credreports.logic.producer import RunRequest, select_accounts, start_listed_run, start_run
from credreports.models.codes import Trigger
from credreports.models.manifest import ManifestStatus, RunManifest
from credreports.settings import ProducerSettings
from tests.support.builders import RUN_ID
from tests.support.fakes import MemoryOrganization, MemoryQueue, MemoryStore, memory_checks

ROOT, PROD, SANDBOX = "r-abcd", "ou-abcd-11111111", "ou-abcd-22222222"
ORG = {
    ROOT: [Account("000000000001", "management", "ACTIVE")],
    PROD: [
        Account("000000000002", "payments", "ACTIVE"),
        Account("000000000003", "old-payments", "SUSPENDED"),
    ],
    SANDBOX: [
        Account("000000000004", "sandbox-1", "ACTIVE"),
        Account("000000000005", "sandbox-2", "PENDING_CLOSURE"),
    ],
}


def settings(**environment: str) -> ProducerSettings:
    return ProducerSettings.model_validate(
        {
            "REPORT_BUCKET": "reports",
            "WORK_QUEUE_URL": "https://sqs/work",
            "CONTROL_QUEUE_URL": "https://sqs/control",
            **environment,
        }
    )


def organization(*, fail: bool = False) -> MemoryOrganization:
    return MemoryOrganization(
        by_ou=ORG,
        children={ROOT: [PROD, SANDBOX]},
        names={PROD: "Prod", SANDBOX: "Sandbox"},
        fail=fail,
    )


def test_only_active_accounts_not_excluded_are_selected() -> None:
    chosen = select_accounts(settings(EXCLUDE_OU_IDS=SANDBOX), organization())

    assert chosen.accounts == ["000000000001", "000000000002"]
    assert chosen.skipped == {"000000000003": "SUSPENDED", "000000000005": "PENDING_CLOSURE"}
    assert chosen.excluded == ["000000000004"]


def test_included_ous_limit_the_run_to_their_accounts() -> None:
    chosen = select_accounts(settings(INCLUDE_OU_IDS=PROD), organization())
    assert chosen.accounts == ["000000000002"]
    assert chosen.skipped == {"000000000003": "SUSPENDED"}


def test_excluded_account_ids_are_dropped_and_said() -> None:
    chosen = select_accounts(settings(EXCLUDE_ACCOUNT_IDS="000000000002"), organization())
    assert "000000000002" not in chosen.accounts and chosen.excluded == ["000000000002"]


def test_a_run_writes_its_manifest_then_one_message_per_account() -> None:
    store, queue = MemoryStore(), MemoryQueue()
    request = RunRequest(run_id=RUN_ID, trigger=Trigger.SCHEDULE)

    control = memory_checks()

    started = start_run(request, settings(), organization(), queue, store, control)

    manifest = RunManifest.model_validate(store.get_json(layout.manifest_key("", RUN_ID)))
    assert manifest.status is ManifestStatus.ENQUEUED
    assert manifest.accounts == ("000000000001", "000000000002", "000000000004")
    # ...with each account's name and OU path, for people to read
    assert [(d.account_id, d.name, d.ou_path) for d in manifest.details] == [
        ("000000000001", "management", ""),
        ("000000000002", "payments", "Prod"),
        ("000000000004", "sandbox-1", "Sandbox"),
    ]
    # ...and one run check, delayed, for the summarizer
    (check,) = control.queue.sent  # type: ignore[attr-defined]
    assert check.delay_seconds == 300
    assert json.loads(check.body) | {"issued_at": "-"} == {
        "v": 1,
        "run_id": RUN_ID,
        "issued_at": "-",
        "origin": "run",
    }
    assert manifest.skipped_by_state() == {"PENDING_CLOSURE": 1, "SUSPENDED": 1}
    assert [body["account_id"] for body in queue.bodies()] == list(manifest.accounts)
    assert {(body["attempt"], body["trigger"]) for body in queue.bodies()} == {(0, "schedule")}
    assert started.as_dict() == {
        "run_id": RUN_ID,
        "trigger": "schedule",
        "enqueued": 3,
        "skipped_by_state": {"PENDING_CLOSURE": 1, "SUSPENDED": 1},
        "excluded": 0,
    }


def test_a_listing_that_fails_enqueues_nothing_and_the_manifest_says_why() -> None:
    store, queue = MemoryStore(), MemoryQueue()
    request = RunRequest(run_id=RUN_ID, trigger=Trigger.SCHEDULE)

    control = memory_checks()

    with pytest.raises(OrganizationListingError):
        start_run(request, settings(), organization(fail=True), queue, store, control)

    manifest = RunManifest.model_validate(store.get_json(layout.manifest_key("", RUN_ID)))
    assert manifest.status is ManifestStatus.LISTING_FAILED and manifest.accounts == ()
    assert "TooManyRequestsException" in (manifest.error or "")
    assert not queue.sent
    # ...but the run is checked, so it ends announced (incomplete, saying why)
    assert [m.key for m in control.queue.sent] == [RUN_ID]  # type: ignore[attr-defined]


def test_a_listed_run_never_reads_the_organization() -> None:
    store, queue = MemoryStore(), MemoryQueue()
    request = RunRequest(run_id=RUN_ID, trigger=Trigger.MANUAL, account_ids=("000000000009",))

    # A failing organization would raise if it were read.
    started = start_run(request, settings(), organization(fail=True), queue, store, memory_checks())

    assert started.enqueued == 1 and [m.key for m in queue.sent] == ["000000000009"]


def test_manual_runs_in_the_same_second_get_distinct_run_ids() -> None:
    store, queue = MemoryStore(), MemoryQueue()
    request = RunRequest(run_id=RUN_ID, trigger=Trigger.MANUAL, account_ids=("000000000009",))

    first = start_listed_run(request, queue, store, memory_checks())
    second = start_listed_run(request, queue, store, memory_checks())

    assert (first.run_id, second.run_id) == (RUN_ID, "20261123T020001Z")


def test_a_send_that_fails_names_the_accounts_not_sent() -> None:
    store, queue = MemoryStore(), MemoryQueue(refuse={"000000000002"})
    request = RunRequest(run_id=RUN_ID, trigger=Trigger.SCHEDULE)

    with pytest.raises(DeliveryError, match="000000000002"):
        start_run(request, settings(), organization(), queue, store, memory_checks())
    assert [m.key for m in queue.sent] == ["000000000001", "000000000004"]
