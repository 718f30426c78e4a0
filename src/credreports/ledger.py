"""The run ledger: what a run was meant to collect, set against what it left in S3.

A run's manifest lists its accounts; every one of them must end as a report or
a failure record. The ledger reads the three folders of one run (``runs/``,
``reports/``, ``failures/``) and says, per account, which it is, or that it is
still outstanding. It is plain logic over the ReportStore adapter, shared by
the CLI's ``status``, ``replay`` and ``demo``.

Rules, in the order they apply to an account:

- a report beats a failure: when both exist (a late duplicate delivery
  succeeded after the dead-letter handler wrote its record), it counts as a
  report;
- a replay withdraws the failure record from ``failures/`` into the run's
  history (``runs/.../replayed/``, marked ``replayed_at``): until a new
  outcome lands, the account is outstanding and shown as "replaying";
- an account of the manifest with neither is outstanding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from credreports import layout
from credreports.adapters.storage import ReportStore
from credreports.errors import ConcurrentUpdateError
from credreports.models.failure_record import FailureRecord
from credreports.models.ids import (
    RUN_ID_FUTURE_TOLERANCE,
    check_not_in_future,
    format_timestamp,
    utc_now,
    validate_run_id,
)
from credreports.models.manifest import RunManifest

# A manifest changed by someone else between our read and our write is read
# again and the change applied again, this many times at most.
MANIFEST_UPDATE_ATTEMPTS = 5


class LedgerError(RuntimeError):
    """The run cannot be read (no such run, or an unreadable object)."""


@dataclass(frozen=True)
class StoredFailure:
    key: str
    record: FailureRecord


@dataclass(frozen=True)
class RunLedger:
    """One run, account by account."""

    run_id: str
    manifest_key: str
    manifest: RunManifest | None
    reports: dict[str, str]  # account -> report key
    failures: dict[str, StoredFailure]  # accounts whose outcome is a failure
    replaying: dict[str, StoredFailure]  # withdrawn by a replay, no new outcome yet
    outstanding: tuple[str, ...]  # in the manifest, no outcome yet (replaying included)
    unexpected: tuple[str, ...] = field(default=())  # outcomes of accounts not in the manifest

    @property
    def accounts(self) -> tuple[str, ...]:
        return self.manifest.accounts if self.manifest else ()

    @property
    def complete(self) -> bool:
        """Every account of the manifest is a report or a failure record.

        A run without a manifest, or whose listing failed, is never complete:
        nobody can say which accounts it should have had."""
        return self.manifest is not None and self.manifest.enqueued and not self.outstanding

    def failures_by_reason(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for account_id, failure in sorted(self.failures.items()):
            grouped.setdefault(failure.record.reason.value, []).append(account_id)
        return dict(sorted(grouped.items()))

    def as_dict(self) -> dict[str, Any]:
        """The machine-readable ledger (``status --json``)."""
        manifest = self.manifest
        return {
            "run_id": self.run_id,
            "complete": self.complete,
            "manifest": None
            if manifest is None
            else {
                "key": self.manifest_key,
                "status": manifest.status.value,
                "trigger": manifest.trigger.value,
                "created_at": format_timestamp(manifest.created_at),
                "error": manifest.error,
                "unsent": list(manifest.unsent),
                "skipped_by_state": manifest.skipped_by_state(),
                "skipped": manifest.skipped_states(),
                "excluded": list(manifest.excluded),
            },
            "counts": {
                "accounts": len(self.accounts),
                "reports": len(self.reports),
                "failures": len(self.failures),
                "outstanding": len(self.outstanding),
                "replaying": len(self.replaying),
                "failures_by_reason": {
                    reason: len(accounts) for reason, accounts in self.failures_by_reason().items()
                },
            },
            "accounts": list(self.accounts),
            "reports": dict(sorted(self.reports.items())),
            "failures": {
                account_id: {
                    "key": failure.key,
                    "reason": failure.record.reason.value,
                    "detail": failure.record.detail,
                    "attempts": failure.record.attempts,
                    "failed_at": failure.record.model_dump(mode="json")["failed_at"],
                }
                for account_id, failure in sorted(self.failures.items())
            },
            "outstanding": list(self.outstanding),
            "replaying": sorted(self.replaying),
            "unexpected": list(self.unexpected),
        }


def latest_run_id(store: ReportStore, now: datetime | None = None) -> str | None:
    """The run whose manifest was created last (its ``created_at``), not the
    largest run id: a run id is only a name, and one in the future (a typo,
    a forged event) would otherwise pass for the latest until it expires.
    Folders without a readable manifest of their own run, and run ids in the
    future, do not count.

    Manifests are read newest-written first and the search stops once the
    rest were written before the best one was created, so this reads one or
    two manifests, not every run's."""
    now = now or utc_now()
    written: list[tuple[datetime, str]] = []
    for stored in store.objects(f"{store.prefix}runs/"):
        run_id = _manifest_run(store.prefix, stored.key)
        if run_id is not None:
            try:
                check_not_in_future(run_id, now)
            except ValueError:
                continue
            written.append((stored.last_modified, run_id))
    best: tuple[datetime, str] | None = None
    for modified, run_id in sorted(written, reverse=True):
        if best is not None and modified < best[0] - RUN_ID_FUTURE_TOLERANCE:
            break
        try:
            manifest = read_manifest(store, run_id)
        except LedgerError:
            continue
        if manifest is None or manifest.run_id != run_id:
            continue
        if best is None or (manifest.created_at, run_id) > best:
            best = (manifest.created_at, run_id)
    return None if best is None else best[1]


def _manifest_run(prefix: str, key: str) -> str | None:
    """The run id of a manifest's key; None for any other key under runs/."""
    run_id = next(
        (part.removeprefix("run=") for part in key.split("/") if part.startswith("run=")), ""
    )
    try:
        validate_run_id(run_id)
    except ValueError:
        return None
    return run_id if key == layout.manifest_key(prefix, run_id) else None


def read_manifest(store: ReportStore, run_id: str) -> RunManifest | None:
    """The manifest of ``run_id``, or None if the run has none."""
    key = layout.manifest_key(store.prefix, run_id)
    document = store.get_json(key)
    if document is None:
        return None
    return _manifest(key, document)


def _manifest(key: str, document: Any) -> RunManifest:
    try:
        return RunManifest.model_validate(document)
    except ValidationError as exc:
        raise LedgerError(f"manifest {key} is not readable: {exc}") from None


def update_manifest(
    store: ReportStore, run_id: str, change: Callable[[RunManifest], RunManifest]
) -> RunManifest:
    """Apply ``change`` to the run's manifest by a conditional write: read it
    with its ETag, put the changed one with If-Match on that ETag. If someone
    else changed it in between, read it again and apply ``change`` again, so
    neither change is lost. Returns the manifest as stored."""
    key = layout.manifest_key(store.prefix, run_id)
    for _ in range(MANIFEST_UPDATE_ATTEMPTS):
        stored = store.get_versioned_json(key)
        if stored is None:
            raise LedgerError(f"run {run_id} has no manifest to update")
        manifest = _manifest(key, stored.document)
        changed = change(manifest)
        if changed == manifest:
            return manifest
        try:
            store.replace_json(key, changed.to_document(), stored.etag)
        except ConcurrentUpdateError:
            continue
        return changed
    raise LedgerError(
        f"manifest {key} changed {MANIFEST_UPDATE_ATTEMPTS} times while being updated; try again"
    )


def read_failure(store: ReportStore, key: str) -> FailureRecord:
    document = store.get_json(key)
    if document is None:
        raise LedgerError(f"failure record {key} disappeared while being read")
    try:
        return FailureRecord.model_validate(document)
    except ValidationError as exc:
        raise LedgerError(f"failure record {key} is not readable: {exc}") from None


def outcome_keys(store: ReportStore, run_id: str) -> tuple[dict[str, str], dict[str, str]]:
    """(reports, failures) of a run as account -> key, from listings only."""
    reports = _by_account(store.keys(layout.run_prefix(store.prefix, "reports", run_id)))
    failures = _by_account(store.keys(layout.run_prefix(store.prefix, "failures", run_id)))
    return reports, failures


def _by_account(keys: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for key in keys:
        account_id = layout.account_from_key(key)
        if account_id:
            found[account_id] = key
    return found


def read_ledger(store: ReportStore, run_id: str) -> RunLedger:
    """The ledger of ``run_id``, read from the bucket. Raises LedgerError when
    the run left nothing at all (a mistyped run id, most likely)."""
    validate_run_id(run_id)
    manifest_key = layout.manifest_key(store.prefix, run_id)
    manifest = read_manifest(store, run_id)
    report_keys, failure_keys = outcome_keys(store, run_id)
    if manifest is None and not report_keys and not failure_keys:
        raise LedgerError(f"run {run_id} has no manifest, reports or failure records")
    failures = {
        account_id: StoredFailure(key=key, record=read_failure(store, key))
        for account_id, key in failure_keys.items()
        if account_id not in report_keys  # a report beats a failure
    }
    settled = set(report_keys) | set(failures)
    # Several replays of one account leave several records; keys sort by time.
    latest_replays: dict[str, str] = {}
    for key in sorted(store.keys(layout.replayed_prefix(store.prefix, run_id))):
        account_id = layout.account_from_key(key)
        if account_id and account_id not in settled:
            latest_replays[account_id] = key
    replaying = {
        account_id: StoredFailure(key=key, record=read_failure(store, key))
        for account_id, key in latest_replays.items()
    }
    expected = set(manifest.accounts) if manifest else set()
    outstanding = tuple(a for a in (manifest.accounts if manifest else ()) if a not in settled)
    unexpected = tuple(sorted((settled | set(replaying)) - expected)) if manifest else ()
    return RunLedger(
        run_id=run_id,
        manifest_key=manifest_key,
        manifest=manifest,
        reports=report_keys,
        failures=failures,
        replaying=replaying,
        outstanding=outstanding,
        unexpected=unexpected,
    )
