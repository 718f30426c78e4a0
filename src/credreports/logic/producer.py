"""Starting a run (the producer's logic): choose the accounts, write the
manifest, enqueue one message per account."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from credreports import layout
from credreports.adapters.organization import Account
from credreports.adapters.queue import Outgoing
from credreports.adapters.storage import ReportStore
from credreports.errors import DeliveryError, OrganizationListingError
from credreports.models.codes import Trigger
from credreports.models.ids import invalid_account_ids, run_id_for, run_started, utc_now
from credreports.models.manifest import (
    ManifestStatus,
    RunManifest,
    SelectionSettings,
    SkippedAccount,
)
from credreports.models.messages import WorkMessage
from credreports.observability import MetricUnit, logger, metrics
from credreports.ports import AccountSource, MessageSender
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
class RunStarted:
    """What the producer answers: the run and how many accounts it enqueued."""

    run_id: str
    trigger: str
    enqueued: int
    skipped_by_state: dict[str, int] = field(default_factory=dict)
    excluded: int = 0
    # A retried invocation found the run ENQUEUED by an earlier one: nothing sent.
    already_enqueued: bool = False

    def as_dict(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "run_id": self.run_id,
            "trigger": self.trigger,
            "enqueued": self.enqueued,
            "skipped_by_state": self.skipped_by_state,
            "excluded": self.excluded,
        }
        if self.already_enqueued:
            answer["already_enqueued"] = True
        return answer


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


def select_accounts(settings: ProducerSettings, organization: AccountSource) -> Selection:
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
    started = run_started(request.run_id)
    run_id = request.run_id
    offset = 0
    while store.exists(layout.manifest_key(store.prefix, run_id)):
        offset += 1
        run_id = run_id_for(started + timedelta(seconds=offset))
    return replace(request, run_id=run_id)


def _selection_settings(settings: ProducerSettings) -> SelectionSettings:
    return SelectionSettings(
        include_ou_ids=settings.include_ou_ids,
        exclude_ou_ids=settings.exclude_ou_ids,
        exclude_account_ids=settings.exclude_account_ids,
    )


def start_run(
    request: RunRequest,
    settings: ProducerSettings,
    organization: AccountSource,
    queue: MessageSender,
    store: ReportStore,
) -> RunStarted:
    """Start the run the producer was asked for: the accounts of the event, or
    the organization's selected accounts.

    A scheduled event is delivered again when an invocation fails, so a run
    may find that an earlier invocation got part of the way (its progress
    markers, layout.progress_key): an ENQUEUED run is left as it is; a run
    that began sending is listed and sent again in full (a duplicate message
    writes the same report key once); a run that never sent anything starts
    over. If the organization cannot be listed completely, nothing is sent,
    and the manifest says LISTING_FAILED only when nothing was ever sent for
    the run: a partial list never passes for a complete run, and a run that
    was enqueued never reads as one that was not."""
    if request.account_ids is not None:
        return start_listed_run(request, queue, store)
    request = _unique_run(request, store)
    # Only a scheduled run can meet an earlier invocation's work: a manual run
    # has just been given a run id nobody used.
    progress = _progress(store, request.run_id) if request.trigger is Trigger.SCHEDULE else set()
    if ManifestStatus.ENQUEUED in progress:
        logger.info("run already enqueued by an earlier invocation; nothing sent again")
        return RunStarted(
            run_id=request.run_id, trigger=request.trigger.value, enqueued=0, already_enqueued=True
        )
    try:
        selection = select_accounts(settings, organization)
    except OrganizationListingError as exc:
        if ManifestStatus.ENQUEUING in progress:
            # An earlier invocation sent messages of this run: its manifest
            # (ENQUEUING, with the accounts) stays; Lambda's retry lists again.
            logger.error(
                "listing failed; the run's manifest keeps what an earlier invocation enqueued",
                run_id=request.run_id,
                error=str(exc),
            )
            raise
        failed = RunManifest(
            run_id=request.run_id,
            trigger=request.trigger,
            created_at=utc_now(),
            status=ManifestStatus.LISTING_FAILED,
            selection=_selection_settings(settings),
            error=str(exc),
        )
        _write_manifest(store, failed)
        logger.error("listing failed; nothing enqueued", run_id=request.run_id, error=str(exc))
        raise
    if ManifestStatus.ENQUEUING in progress:
        logger.warning(
            "an earlier invocation did not finish sending this run; sending it again in full",
            run_id=request.run_id,
        )
    return _enqueue(request, selection, _selection_settings(settings), queue, store)


def _progress(store: ReportStore, run_id: str) -> set[ManifestStatus]:
    """The statuses the run's producer reached, from its markers (listed, not read)."""
    found = set()
    for key in store.keys(layout.progress_prefix(store.prefix, run_id)):
        name = key.rpartition("/")[2]
        if name in ManifestStatus.__members__:
            found.add(ManifestStatus(name))
    return found


def _write_manifest(store: ReportStore, manifest: RunManifest, etag: str | None = None) -> str:
    """Write ``manifest``: created if there is none, else replaced only if it
    is still the object with ``etag`` (by default, the one listed now).
    Returns the new ETag; ConcurrentUpdateError if another writer got there
    in between (Lambda's retry of the producer then starts from what is there)."""
    key = layout.manifest_key(store.prefix, manifest.run_id)
    current = etag if etag is not None else store.etag(key)
    if current is None:
        return store.create_json(key, manifest.to_document())
    return store.replace_json(key, manifest.to_document(), current)


def start_listed_run(request: RunRequest, queue: MessageSender, store: ReportStore) -> RunStarted:
    """A run of the accounts named in ``request`` (a manual run, or
    ``credreports enqueue`` without ``--run``): the organization is not read."""
    accounts = request.account_ids
    if accounts is None:
        raise ProducerEventError("a listed run needs its account ids")
    request = _unique_run(request, store)
    selection = Selection(accounts=list(accounts), skipped={}, excluded=[])
    return _enqueue(request, selection, SelectionSettings(), queue, store)


def _enqueue(
    request: RunRequest,
    selection: Selection,
    selection_settings: SelectionSettings,
    queue: MessageSender,
    store: ReportStore,
) -> RunStarted:
    """Write the run manifest as ENQUEUING, send one message per account,
    then mark it ENQUEUED.

    The manifest is written first so that ``status`` can always compare what
    was meant to be collected with what was. If some messages cannot be sent,
    the manifest stays ENQUEUING and names them (``unsent``), and
    DeliveryError is raised so that Lambda invokes the producer again."""
    manifest = RunManifest(
        run_id=request.run_id,
        trigger=request.trigger,
        created_at=utc_now(),
        status=ManifestStatus.ENQUEUING,
        selection=selection_settings,
        accounts=tuple(selection.accounts),
        skipped=tuple(
            SkippedAccount(account_id=account_id, state=state)
            for account_id, state in selection.skipped.items()
        ),
        excluded=tuple(selection.excluded),
    )
    etag = _write_manifest(store, manifest)
    store.mark(layout.progress_key(store.prefix, request.run_id, ManifestStatus.ENQUEUING))
    enqueued_at = utc_now()
    failed = queue.deliver(
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
    if failed:
        names = ", ".join(f"{message.key} ({reason})" for message, reason in failed)
        problem = f"could not send {len(failed)} of {len(selection.accounts)} accounts: {names}"
        unsent = manifest.model_copy(
            update={"unsent": tuple(message.key for message, _ in failed), "error": problem}
        )
        _write_manifest(store, unsent, etag)
        metrics.add_metric(name="AccountsUnsent", unit=MetricUnit.Count, value=len(failed))
        logger.error("run partly enqueued", run_id=request.run_id, unsent=len(failed))
        raise DeliveryError(f"{problem} (queue {queue.url})")
    _write_manifest(store, manifest.model_copy(update={"status": ManifestStatus.ENQUEUED}), etag)
    store.mark(layout.progress_key(store.prefix, request.run_id, ManifestStatus.ENQUEUED))
    started = RunStarted(
        run_id=request.run_id,
        trigger=request.trigger.value,
        enqueued=len(selection.accounts),
        skipped_by_state=manifest.skipped_by_state(),
        excluded=len(selection.excluded),
    )
    metrics.add_metric(name="AccountsEnqueued", unit=MetricUnit.Count, value=started.enqueued)
    logger.info("run started", **started.as_dict())
    return started
