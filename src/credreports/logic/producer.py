"""Starting a run (the producer's logic): choose the accounts, write the
manifest, enqueue one message per account.

Only the schedule rule's own events start a scheduled run (source
``aws.events``, the rule's ARN in ``resources``, a ``time`` no older than the
event may live and not in the future): the run id comes from that time, so a
forged event could otherwise plant a run that passes for the latest. The
manifest is created with ``If-None-Match`` and changed only with ``If-Match``
(credreports.ledger.update_manifest): two producers never overwrite each
other's run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from credreports import layout
from credreports.adapters.queue import Outgoing
from credreports.adapters.storage import ReportStore
from credreports.errors import ConcurrentUpdateError, DeliveryError, OrganizationListingError
from credreports.ledger import read_manifest, update_manifest
from credreports.logic.checks import CheckSender
from credreports.models.codes import Trigger
from credreports.models.echo import echo, echo_all
from credreports.models.ids import (
    RUN_ID_FUTURE_TOLERANCE,
    invalid_account_ids,
    run_id_for,
    run_started,
    utc_now,
)
from credreports.models.manifest import (
    AccountDetail,
    ManifestStatus,
    RunManifest,
    SelectionSettings,
    SkippedAccount,
)
from credreports.models.messages import WorkMessage
from credreports.models.run_check import CheckOrigin
from credreports.observability import MetricUnit, logger, metrics
from credreports.ports import AccountSource, MessageSender
from credreports.settings import ProducerSettings

# How late a scheduled event may arrive: EventBridge retries it for up to
# an hour (the schedule's RetryPolicy), then Lambda keeps an asynchronous
# invocation for up to an hour (EventInvokeConfig). Older is a replay.
SCHEDULED_EVENT_MAX_AGE = timedelta(seconds=3600 + 3600)
# A manual run whose second is taken tries the following ones, this many.
FREE_RUN_ID_ATTEMPTS = 60
# A send that failed partway names this many accounts in its error; the
# manifest's ``unsent`` has them all.
NAMED_UNSENT = 10


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
    # account id -> name and OU path, where the listing told them
    details: dict[str, AccountDetail] = field(default_factory=dict)


@dataclass(frozen=True)
class RunStarted:
    """What the producer answers: the run and how many accounts it enqueued."""

    run_id: str
    trigger: str
    enqueued: int
    skipped_by_state: dict[str, int] = field(default_factory=dict)
    excluded: int = 0
    # A scheduled event delivered again found its run ENQUEUED: nothing sent.
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


def parse_event(event: Any, now: datetime, schedule_rule_arn: str = "") -> RunRequest:
    """Read a producer event: the schedule rule's scheduled event (the run id
    comes from its ``time``, so a retried invocation reuses it), an empty
    event (a full run now), or ``{"account_ids": [...]}`` (a manual run of
    those). ProducerEventError says why any other event starts no run."""
    if event is None or event == {}:
        return RunRequest(run_id=run_id_for(now), trigger=Trigger.MANUAL)
    if not isinstance(event, dict):
        raise ProducerEventError(f"event must be a JSON object, got {type(event).__name__}")
    if "detail-type" in event:
        return _scheduled(event, now, schedule_rule_arn)
    unknown = sorted(str(key) for key in set(event) - {"account_ids"})
    if unknown:
        raise ProducerEventError(
            f"unknown event fields {echo_all(unknown)}; expected a scheduled event, "
            'an empty event or {"account_ids": [...]}'
        )
    ids = event["account_ids"]
    if not isinstance(ids, list) or not ids:
        raise ProducerEventError("account_ids must be a non-empty list of 12-digit account ids")
    bad = invalid_account_ids(ids)
    if bad:
        raise ProducerEventError(f"malformed account ids (expected 12 digits): {echo_all(bad)}")
    # dict.fromkeys: drop repeats, keep the operator's order.
    return RunRequest(
        run_id=run_id_for(now), trigger=Trigger.MANUAL, account_ids=tuple(dict.fromkeys(ids))
    )


def _scheduled(event: dict[str, Any], now: datetime, schedule_rule_arn: str) -> RunRequest:
    """The run of a scheduled event, if the schedule rule sent it just now."""
    refused = "scheduled event refused, no run started: "
    if event.get("detail-type") != "Scheduled Event":
        raise ProducerEventError(
            f"unsupported EventBridge event {echo(event.get('detail-type'))}; "
            "expected 'Scheduled Event'"
        )
    if event.get("source") != "aws.events":
        raise ProducerEventError(f"{refused}source {echo(event.get('source'))} is not aws.events")
    if not schedule_rule_arn:
        raise ProducerEventError(f"{refused}SCHEDULE_RULE_ARN is not set")
    resources = event.get("resources")
    if not isinstance(resources, list) or schedule_rule_arn not in resources:
        raise ProducerEventError(
            f"{refused}resources {echo(resources)} do not name the schedule rule "
            f"{schedule_rule_arn}"
        )
    try:
        scheduled = datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00"))
        if scheduled.tzinfo is None:
            raise ValueError
    except (KeyError, ValueError):
        raise ProducerEventError(
            f"scheduled event has no valid 'time': {echo(event.get('time'))}"
        ) from None
    if scheduled > now + RUN_ID_FUTURE_TOLERANCE:
        raise ProducerEventError(f"{refused}its time {event['time']} is in the future")
    if scheduled < now - SCHEDULED_EVENT_MAX_AGE:
        raise ProducerEventError(
            f"{refused}its time {event['time']} is more than "
            f"{int(SCHEDULED_EVENT_MAX_AGE.total_seconds() // 3600)} hours old"
        )
    return RunRequest(run_id=run_id_for(scheduled), trigger=Trigger.SCHEDULE)


def select_accounts(settings: ProducerSettings, organization: AccountSource) -> Selection:
    """The organization's accounts to collect: ACTIVE, in the included OUs (all
    of the organization when none are configured), not excluded, each with its
    name and OU path (one walk of the OU tree gives all three)."""
    include = set(settings.include_ou_ids)
    exclude = set(settings.exclude_ou_ids)
    candidates = {
        account.id: account
        for account in organization.organization_tree(include or None)
        if not include or include.intersection(account.parents)
    }
    excluded = set(settings.exclude_account_ids)
    excluded.update(a.id for a in candidates.values() if exclude.intersection(a.parents))
    skipped = {a.id: a.state for a in candidates.values() if not a.active}
    accounts = sorted(a.id for a in candidates.values() if a.active and a.id not in excluded)
    return Selection(
        accounts=accounts,
        skipped=dict(sorted(skipped.items())),
        excluded=sorted(a for a in candidates if a in excluded and a not in skipped),
        details={
            a: AccountDetail(account_id=a, name=candidates[a].name, ou_path=candidates[a].ou_path)
            for a in accounts
        },
    )


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
    checks: CheckSender,
) -> RunStarted:
    """Start the run the producer was asked for: the accounts of the event, or
    the organization's selected accounts.

    If the organization cannot be listed completely, nothing is enqueued and
    the manifest says so (a partial list must never pass for a complete run).
    LISTING_FAILED is written only where nothing was sent before: a scheduled
    event delivered again after a send resumes its run (``_resume``) and
    never lists, so an ENQUEUED run never reads as "nothing enqueued". The
    run's check is sent whatever happens, so the run ends announced
    (incomplete, when the listing failed)."""
    if request.account_ids is not None:
        return start_listed_run(request, queue, store, checks)
    if request.trigger is Trigger.SCHEDULE:
        resumed = _resume(request, queue, store, checks)
        if resumed is not None:
            return resumed
    try:
        selection = select_accounts(settings, organization)
    except OrganizationListingError as exc:
        error = str(exc)

        def failed(run_id: str) -> RunManifest:
            return _new_manifest(
                request,
                run_id,
                ManifestStatus.LISTING_FAILED,
                _selection_settings(settings),
                error=error,
            )

        written, _ = _create_manifest(request, store, failed)
        checks.send(written.run_id, CheckOrigin.RUN)
        logger.error("listing failed; nothing enqueued", run_id=written.run_id, error=error)
        raise
    return _enqueue(request, selection, _selection_settings(settings), queue, store, checks)


def _new_manifest(
    request: RunRequest,
    run_id: str,
    status: ManifestStatus,
    selection: SelectionSettings,
    **fields: Any,
) -> RunManifest:
    """A manifest of ``request``'s run under ``run_id``, created now."""
    return RunManifest(
        run_id=run_id,
        trigger=request.trigger,
        created_at=utc_now(),
        status=status,
        selection=selection,
        **fields,
    )


def _create_manifest(
    request: RunRequest, store: ReportStore, manifest: Callable[[str], RunManifest]
) -> tuple[RunManifest, str]:
    """Create the run's manifest with If-None-Match; returns the manifest as
    written (its run id may have moved on) and its ETag.

    A manual run whose second is taken moves to the next free second. A
    scheduled run keeps its id (a retried invocation is the same run): it
    may replace only a manifest that says the listing failed, read with its
    ETag and replaced with If-Match; any other manifest is a concurrent
    invocation's, and ConcurrentUpdateError says so."""
    started = run_started(request.run_id)
    attempts = 1 if request.trigger is Trigger.SCHEDULE else FREE_RUN_ID_ATTEMPTS
    for offset in range(attempts):
        run_id = run_id_for(started + timedelta(seconds=offset))
        key = layout.manifest_key(store.prefix, run_id)
        written = manifest(run_id)
        try:
            return written, store.create_json(key, written.to_document())
        except ConcurrentUpdateError:
            if request.trigger is not Trigger.SCHEDULE:
                continue
        existing = store.get_versioned_json(key)
        if existing is not None and existing.document.get("status") == "LISTING_FAILED":
            return written, store.replace_json(key, written.to_document(), existing.etag)
        raise ConcurrentUpdateError(f"run {run_id} is being started by another invocation")
    raise ConcurrentUpdateError(
        f"no free run id in the {attempts} seconds from {request.run_id}: try again"
    )


def _resume(
    request: RunRequest, queue: MessageSender, store: ReportStore, checks: CheckSender
) -> RunStarted | None:
    """A scheduled event delivered again (EventBridge delivers at least once,
    Lambda retries a failed invocation): the run its manifest describes is
    finished (ENQUEUED: nothing to do) or sent again (ENQUEUING: an invocation
    died while sending; a message sent twice only finds its report stored).
    None when there is no run yet, or only a failed listing to retry."""
    # Listed first: reading a key that does not exist needs ListBucket on the
    # whole bucket to answer 404 rather than 403; listing needs it on runs/ only.
    if not store.exists(layout.manifest_key(store.prefix, request.run_id)):
        return None
    manifest = read_manifest(store, request.run_id)
    if manifest is None or manifest.status is ManifestStatus.LISTING_FAILED:
        return None
    sent: tuple[str, ...] = ()
    if manifest.status is ManifestStatus.ENQUEUING:
        # The accounts a failed send recorded, or all of them when the
        # invocation died before it could say.
        sent = manifest.unsent or manifest.accounts
        # The invocation that died may have died before the run's check too.
        checks.send(request.run_id, CheckOrigin.RUN)
        _send_and_mark(request, manifest, sent, queue, store)
    logger.info("scheduled event delivered again; run already started", run_id=request.run_id)
    return RunStarted(
        run_id=request.run_id,
        trigger=request.trigger.value,
        enqueued=len(sent),
        skipped_by_state=manifest.skipped_by_state(),
        excluded=len(manifest.excluded),
        already_enqueued=manifest.status is ManifestStatus.ENQUEUED,
    )


def _change_manifest(
    store: ReportStore,
    manifest: RunManifest,
    change: Callable[[RunManifest], RunManifest],
    etag: str = "",
) -> None:
    """Apply ``change`` with If-Match on the ETag the producer wrote (no
    read); if the manifest changed since (``enqueue --run`` added accounts),
    read it again and apply ``change`` to what is there."""
    if etag:
        key = layout.manifest_key(store.prefix, manifest.run_id)
        try:
            store.replace_json(key, change(manifest).to_document(), etag)
            return
        except ConcurrentUpdateError:
            pass
    update_manifest(store, manifest.run_id, change)


def _send_and_mark(
    request: RunRequest,
    manifest: RunManifest,
    accounts: tuple[str, ...] | list[str],
    queue: MessageSender,
    store: ReportStore,
    etag: str = "",
) -> None:
    """Send ``accounts`` and mark the manifest ENQUEUED. If some cannot be
    sent, the manifest stays ENQUEUING and names them (``unsent``, which
    ``status`` shows), and DeliveryError is raised: Lambda invokes the
    producer again, and the retry sends just those."""
    failed = _send(request, accounts, queue)
    if not failed:

        def enqueued(current: RunManifest) -> RunManifest:
            return current.model_copy(
                update={"status": ManifestStatus.ENQUEUED, "unsent": (), "error": None}
            )

        _change_manifest(store, manifest, enqueued, etag)
        return
    unsent = tuple(message.key for message, _ in failed)
    named = ", ".join(f"{message.key} ({reason})" for message, reason in failed[:NAMED_UNSENT])
    more = f" and {len(failed) - NAMED_UNSENT} more" if len(failed) > NAMED_UNSENT else ""
    problem = f"could not send {len(failed)} of {len(accounts)} accounts: {named}{more}"

    def not_sent(current: RunManifest) -> RunManifest:
        return current.model_copy(update={"unsent": unsent, "error": problem})

    _change_manifest(store, manifest, not_sent, etag)
    metrics.add_metric(name="AccountsUnsent", unit=MetricUnit.Count, value=len(failed))
    logger.error("run partly enqueued", run_id=request.run_id, unsent=len(failed))
    raise DeliveryError(f"{problem} (queue {queue.url})")


def _send(
    request: RunRequest, accounts: tuple[str, ...] | list[str], queue: MessageSender
) -> list[tuple[Outgoing, str]]:
    """Send one message per account; returns those that could not be sent."""
    enqueued_at = utc_now()
    return queue.deliver(
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
            for account_id in accounts
        ]
    )


def start_listed_run(
    request: RunRequest, queue: MessageSender, store: ReportStore, checks: CheckSender
) -> RunStarted:
    """A run of the accounts named in ``request`` (a manual run, or
    ``credreports enqueue`` without ``--run``): the organization is not read."""
    accounts = request.account_ids
    if accounts is None:
        raise ProducerEventError("a listed run needs its account ids")
    selection = Selection(accounts=list(accounts), skipped={}, excluded=[])
    return _enqueue(request, selection, SelectionSettings(), queue, store, checks)


def _enqueue(
    request: RunRequest,
    selection: Selection,
    selection_settings: SelectionSettings,
    queue: MessageSender,
    store: ReportStore,
    checks: CheckSender,
) -> RunStarted:
    """Create the run manifest (ENQUEUING), send the run's delayed check and
    one message per account, then mark the manifest ENQUEUED (or name the
    accounts not sent).

    The manifest is written first so that ``status`` can always compare what
    was meant to be collected with what was; the check before the messages, so
    that a run the producer could not finish enqueuing still ends announced."""

    def manifest_for(run_id: str) -> RunManifest:
        return _new_manifest(
            request,
            run_id,
            ManifestStatus.ENQUEUING,
            selection_settings,
            accounts=tuple(selection.accounts),
            skipped=tuple(
                SkippedAccount(account_id=account_id, state=state)
                for account_id, state in selection.skipped.items()
            ),
            excluded=tuple(selection.excluded),
            details=tuple(
                selection.details[a] for a in selection.accounts if a in selection.details
            ),
        )

    manifest, etag = _create_manifest(request, store, manifest_for)
    request = replace(request, run_id=manifest.run_id)
    checks.send(request.run_id, CheckOrigin.RUN)
    _send_and_mark(request, manifest, selection.accounts, queue, store, etag)
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
