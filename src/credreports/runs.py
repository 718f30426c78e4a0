"""Starting a run (the producer's logic): choose the accounts, write the
manifest, enqueue one message per account."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from credreports import layout
from credreports.adapters.organization import Account, Organization
from credreports.adapters.queue import Outgoing, Queue
from credreports.adapters.storage import ReportStore
from credreports.errors import OrganizationListingError
from credreports.messages import (
    Trigger,
    WorkMessage,
    invalid_account_ids,
    run_id_for,
    utc_now,
)
from credreports.observability import MetricUnit, logger, metrics
from credreports.settings import ProducerSettings


class ProducerEventError(ValueError):
    """The producer was invoked with an event it cannot act on."""


@dataclass(frozen=True)
class RunRequest:
    run_id: str
    trigger: Trigger
    # None: every selected account of the organization.
    account_ids: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Selection:
    accounts: list[str]
    skipped: dict[str, str]  # account id -> state (not ACTIVE)
    excluded: list[str]


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    trigger: str
    enqueued: int
    skipped_by_state: dict[str, int] = field(default_factory=dict)
    excluded: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "trigger": self.trigger,
            "enqueued": self.enqueued,
            "skipped_by_state": self.skipped_by_state,
            "excluded": self.excluded,
        }


def parse_event(event: Any, now: datetime) -> RunRequest:
    """Read a producer event: EventBridge's scheduled event (the run id comes
    from its ``time``, so a retried invocation reuses it), an empty event (a
    full run now), or ``{"account_ids": [...]}`` (a manual run of those)."""
    if event is None or event == {}:
        return RunRequest(run_id=run_id_for(now), trigger=Trigger.MANUAL)
    if not isinstance(event, dict):
        raise ProducerEventError(f"event must be a JSON object, got {type(event).__name__}")
    if "detail-type" in event:
        if event.get("detail-type") != "Scheduled Event":
            raise ProducerEventError(
                f"unsupported EventBridge event {event.get('detail-type')!r}; "
                "expected 'Scheduled Event'"
            )
        try:
            scheduled = datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            raise ProducerEventError(
                f"scheduled event has no valid 'time': {event.get('time')!r}"
            ) from None
        return RunRequest(run_id=run_id_for(scheduled), trigger=Trigger.SCHEDULE)
    unknown = sorted(set(event) - {"account_ids"})
    if unknown:
        raise ProducerEventError(
            f"unknown event fields {', '.join(unknown)}; expected a scheduled event, "
            'an empty event or {"account_ids": [...]}'
        )
    ids = event["account_ids"]
    if not isinstance(ids, list) or not ids:
        raise ProducerEventError("account_ids must be a non-empty list of 12-digit account ids")
    bad = invalid_account_ids(ids)
    if bad:
        raise ProducerEventError(
            f"malformed account ids (expected 12 digits): {', '.join(repr(item) for item in bad)}"
        )
    # dict.fromkeys: drop repeats, keep the operator's order.
    return RunRequest(
        run_id=run_id_for(now), trigger=Trigger.MANUAL, account_ids=tuple(dict.fromkeys(ids))
    )


def select_accounts(settings: ProducerSettings, organization: Organization) -> Selection:
    """The organization's accounts to collect: ACTIVE, in the included OUs (all
    of the organization when none are configured), not excluded."""
    if settings.include_ou_ids:
        candidates: dict[str, Account] = {}
        for ou_id in settings.include_ou_ids:
            for account in organization.accounts_under(ou_id):
                candidates[account.id] = account
    else:
        candidates = {account.id: account for account in organization.accounts()}
    excluded = set(settings.exclude_account_ids)
    for ou_id in settings.exclude_ou_ids:
        excluded.update(account.id for account in organization.accounts_under(ou_id))
    skipped = {a.id: a.state for a in candidates.values() if not a.active}
    return Selection(
        accounts=sorted(a.id for a in candidates.values() if a.active and a.id not in excluded),
        skipped=dict(sorted(skipped.items())),
        excluded=sorted(a for a in candidates if a in excluded and a not in skipped),
    )


def _unique_run(request: RunRequest, store: ReportStore) -> RunRequest:
    """Two manual runs started within one second would share a run id and each
    other's keys: move the later one to the next free second. A scheduled run
    keeps its id, so a retried invocation of the same event is the same run."""
    if request.trigger is Trigger.SCHEDULE:
        return request
    started = datetime.strptime(request.run_id, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    run_id = request.run_id
    offset = 0
    while store.exists(layout.manifest_key(store.prefix, run_id)):
        offset += 1
        run_id = run_id_for(started + timedelta(seconds=offset))
    return replace(request, run_id=run_id)


def start_run(
    request: RunRequest,
    settings: ProducerSettings,
    organization: Organization,
    queue: Queue,
    store: ReportStore,
) -> RunSummary:
    """Write the run manifest, then enqueue one message per account.

    The manifest is written first so that ``status`` can always compare what
    was meant to be collected with what was. If the organization cannot be
    listed completely, nothing is enqueued and the manifest says so (a partial
    list must never pass for a complete run)."""
    request = _unique_run(request, store)
    manifest_key = layout.manifest_key(settings.report_prefix, request.run_id)
    manifest: dict[str, Any] = {
        "v": 1,
        "run_id": request.run_id,
        "trigger": request.trigger.value,
        "created_at": utc_now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "selection": {
            "include_ou_ids": list(settings.include_ou_ids),
            "exclude_ou_ids": list(settings.exclude_ou_ids),
            "exclude_account_ids": list(settings.exclude_account_ids),
        },
    }
    if request.account_ids is not None:
        selection = Selection(accounts=list(request.account_ids), skipped={}, excluded=[])
    else:
        try:
            selection = select_accounts(settings, organization)
        except OrganizationListingError as exc:
            failed = {"status": "LISTING_FAILED", "error": str(exc), "accounts": []}
            store.put_json(manifest_key, {**manifest, **failed})
            logger.error("listing failed; nothing enqueued", run_id=request.run_id, error=str(exc))
            raise
    store.put_json(
        manifest_key,
        {
            **manifest,
            "status": "ENQUEUED",
            "accounts": selection.accounts,
            "skipped": [{"account_id": k, "state": v} for k, v in selection.skipped.items()],
            "excluded": selection.excluded,
        },
    )
    enqueued_at = utc_now()
    queue.send_all(
        [
            Outgoing(
                key=account_id,
                body=WorkMessage(
                    account_id=account_id,
                    run_id=request.run_id,
                    attempt=0,
                    trigger=request.trigger,
                    enqueued_at=enqueued_at,
                ).to_body(),
            )
            for account_id in selection.accounts
        ]
    )
    summary = RunSummary(
        run_id=request.run_id,
        trigger=request.trigger.value,
        enqueued=len(selection.accounts),
        skipped_by_state=dict(Counter(selection.skipped.values())),
        excluded=len(selection.excluded),
    )
    metrics.add_metric(name="AccountsEnqueued", unit=MetricUnit.Count, value=summary.enqueued)
    logger.info("run started", **summary.as_dict())
    return summary
