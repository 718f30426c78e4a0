"""What operators do by hand: enqueue accounts, replay failures.

Both send the same WorkMessage the producer sends, through the same Queue
adapter, and keep the run ledger truthful: an account sent again shows as
outstanding until it ends as a report or a new failure record.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from credreports import layout
from credreports.adapters.queue import Outgoing
from credreports.adapters.storage import ReportStore
from credreports.errors import DeliveryError
from credreports.ledger import (
    RunLedger,
    StoredFailure,
    read_ledger,
    read_manifest,
    update_manifest,
)
from credreports.logic.producer import RunRequest, start_listed_run
from credreports.models.codes import Trigger
from credreports.models.echo import echo_all
from credreports.models.ids import (
    check_not_in_future,
    invalid_account_ids,
    run_id_for,
    utc_now,
    validate_run_id,
)
from credreports.models.messages import WorkMessage
from credreports.ports import MessageSender


class InvalidAccountIdsError(ValueError):
    """Some of the ids given are not account ids; nothing was sent."""

    def __init__(self, bad: Sequence[object]) -> None:
        self.bad = list(bad)
        super().__init__(f"not 12-digit account ids: {echo_all(self.bad)}; nothing was sent")


class InvalidRunIdError(ValueError):
    """The run id given is malformed or in the future; nothing was sent."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"{problem}; nothing was sent")


@dataclass(frozen=True)
class Enqueued:
    run_id: str
    account_ids: tuple[str, ...]
    new_run: bool


@dataclass(frozen=True)
class Replay:
    run_id: str
    sent: dict[str, StoredFailure]  # what was sent (on a dry run: what would be)
    already_replaying: tuple[str, ...]  # matched, but a replay is already on its way
    not_failed: tuple[str, ...]  # asked for by --account, but not a failure of the run
    dry_run: bool


def require_account_ids(values: Sequence[str]) -> tuple[str, ...]:
    """The ids, repeats dropped in order; InvalidAccountIdsError naming every bad one."""
    bad = invalid_account_ids(values)
    if bad:
        raise InvalidAccountIdsError(bad)
    return tuple(dict.fromkeys(values))


def _message(account_id: str, run_id: str, trigger: Trigger, now: datetime) -> Outgoing:
    body = WorkMessage(
        account_id=account_id, run_id=run_id, attempt=0, trigger=trigger, enqueued_at=now
    ).to_body()
    return Outgoing(key=account_id, body=body)


def _withdraw(store: ReportStore, failure: StoredFailure, now: datetime) -> None:
    """Mark a failure record replayed and move it from ``failures/`` into the
    run's replay history, so the account is outstanding again (and a second
    replay finds nothing to send) until its new outcome lands."""
    record = failure.record
    assert record.run_id is not None and record.account_id is not None  # from a run's folder
    marked = record.model_copy(update={"replayed_at": now})
    history = layout.replayed_failure_key(
        store.prefix, record.run_id, record.account_id, run_id_for(now)
    )
    store.put_json(history, marked.model_dump(mode="json"))
    store.delete(failure.key)


def _restore(store: ReportStore, failures: Collection[StoredFailure]) -> None:
    for failure in failures:
        store.put_json(failure.key, failure.record.model_dump(mode="json"))


def enqueue_accounts(
    account_ids: Sequence[str],
    queue: MessageSender,
    store: ReportStore,
    run_id: str | None = None,
    now: datetime | None = None,
) -> Enqueued:
    """Send one ``manual`` message per account, in a new run or in ``run_id``.

    Every id is checked before anything is sent. A new run gets a manifest,
    exactly as the producer writes it for ``{"account_ids": [...]}``. In an
    existing run, accounts missing from its manifest are added to it (so the
    ledger expects them) and their failure records, if any, are withdrawn as
    a replay's are (so the ledger waits for the new outcome)."""
    ids = require_account_ids(account_ids)
    now = now or utc_now()
    if run_id is not None:
        try:
            check_not_in_future(validate_run_id(run_id), now)
        except ValueError as exc:
            raise InvalidRunIdError(str(exc)) from None
    manifest = read_manifest(store, run_id) if run_id else None
    if run_id is None or manifest is None:
        # The producer's own logic: manifest first, then the messages.
        request = RunRequest(
            run_id=run_id or run_id_for(now), trigger=Trigger.MANUAL, account_ids=ids
        )
        started = start_listed_run(request, queue, store)
        return Enqueued(run_id=started.run_id, account_ids=ids, new_run=True)

    ledger = read_ledger(store, run_id)
    missing = tuple(a for a in ids if a not in manifest.accounts)
    if missing:
        # If-Match on the manifest read: a producer or another operator
        # changing it meanwhile loses nothing (credreports.ledger).
        update_manifest(store, run_id, lambda current: current.with_accounts(missing))
    _send_withdrawn(
        store,
        queue,
        [_message(a, run_id, Trigger.MANUAL, now) for a in ids],
        [ledger.failures[a] for a in ids if a in ledger.failures],
        now,
    )
    return Enqueued(run_id=run_id, account_ids=ids, new_run=False)


def _send_withdrawn(
    store: ReportStore,
    queue: MessageSender,
    messages: Sequence[Outgoing],
    failures: Sequence[StoredFailure],
    now: datetime,
) -> None:
    """Withdraw the failure records, then send. Withdrawing first matters: a
    replayed account that fails again within a second gets a new record from
    the dlq_handler, which a withdrawal made after the send could delete. If
    the send fails, the records go back (an account that was sent after all
    then has a report and a failure, and a report beats a failure)."""
    for failure in failures:
        _withdraw(store, failure, now)
    try:
        queue.send_all(messages)
    except DeliveryError:
        _restore(store, failures)
        raise


def select_for_replay(
    ledger: RunLedger, accounts: Collection[str] = (), reasons: Collection[str] = ()
) -> tuple[dict[str, StoredFailure], tuple[str, ...], tuple[str, ...]]:
    """(to send, already replaying, asked for but not failed) for the filters;
    an empty filter matches everything."""

    def wanted(account_id: str, failure: StoredFailure) -> bool:
        return (not accounts or account_id in accounts) and (
            not reasons or failure.record.reason.value in reasons
        )

    chosen = {a: f for a, f in sorted(ledger.failures.items()) if wanted(a, f)}
    replaying = tuple(sorted(a for a, f in ledger.replaying.items() if wanted(a, f)))
    not_failed = tuple(
        a for a in accounts if a not in ledger.failures and a not in ledger.replaying
    )
    return chosen, replaying, not_failed


def replay_failures(
    store: ReportStore,
    queue: MessageSender,
    run_id: str,
    accounts: Sequence[str] = (),
    reasons: Collection[str] = (),
    *,
    dry_run: bool = False,
    now: datetime | None = None,
) -> Replay:
    """Send the failed accounts of a run again, with a fresh attempt counter
    and ``trigger=replay``. Each failure record is marked replayed and moved
    into the run's history, so a second replay does not send it again and the
    run is open until the new outcomes land. A failure beaten by a report is
    not a failure and is never replayed."""
    ids = require_account_ids(accounts)
    now = now or utc_now()
    ledger = read_ledger(store, run_id)
    chosen, replaying, not_failed = select_for_replay(ledger, ids, reasons)
    if chosen and not dry_run:
        _send_withdrawn(
            store,
            queue,
            [_message(a, run_id, Trigger.REPLAY, now) for a in chosen],
            list(chosen.values()),
            now,
        )
    return Replay(
        run_id=run_id,
        sent=chosen,
        already_replaying=replaying,
        not_failed=not_failed,
        dry_run=dry_run,
    )
