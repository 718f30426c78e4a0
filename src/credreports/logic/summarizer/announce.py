"""How a run's end is told: one SNS message for people, one EventBridge event
for machines, both rendered from the stored summary; and the claim that makes
each outcome told once.

SNS carries the message attribute ``kind`` = ``run-summary`` (the failure
digests carry ``failure-digest``), so a subscription can take either. The
event goes to the default bus with ``source`` ``credreports`` and
``detail-type`` ``Run Completed`` or ``Run Incomplete``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from credreports import layout
from credreports.adapters.storage import ReportStore
from credreports.errors import ConcurrentUpdateError
from credreports.models.ids import format_timestamp, run_date
from credreports.models.summary import Announcement, Change, RunSummary
from credreports.observability import logger
from credreports.text import printable

SOURCE = "credreports"
DETAIL_TYPES = {True: "Run Completed", False: "Run Incomplete"}
KIND = "run-summary"
# Accounts and findings named in the SNS message per list; the rest counted.
LISTED_IN_MESSAGE = 10
# Entries per list in the event's detail (EventBridge takes 256 KB an event).
LISTED_IN_EVENT = 50
# SNS subjects: at most 100 printable ASCII characters.
SUBJECT_LIMIT = 100


def _account(summary: RunSummary, account_id: str) -> str:
    name = summary.name(account_id)
    return f"{account_id} ({printable(name)})" if name else account_id


def _more(total: int, shown: int) -> list[str]:
    return [f"    ... and {total - shown} more"] if total > shown else []


def subject(summary: RunSummary) -> str:
    counts = summary.counts
    state = "complete" if summary.complete else "INCOMPLETE"
    text = (
        f"credreports: run {summary.run_id} {state}: {counts.reports}/{counts.accounts} "
        f"reports, {counts.failures} failed, {counts.outstanding} outstanding"
    )
    return text[:SUBJECT_LIMIT]


def _changes(summary: RunSummary, title: str, changes: Sequence[Change], total: int) -> list[str]:
    lines = [f"{title}: {total}"]
    for item in changes[:LISTED_IN_MESSAGE]:
        lines.append(
            f"  {item.check} ({item.severity}): {_account(summary, item.account_id)}, "
            f"user {printable(item.user)} ({item.credential})"
        )
    return lines + _more(total, min(total, LISTED_IN_MESSAGE))


def message(summary: RunSummary, bucket: str) -> str:
    """The readable text of the run's SNS message."""
    counts = summary.counts
    trigger = summary.trigger.value if summary.trigger else "unknown trigger"
    day = run_date(summary.run_id).isoformat()
    lines = [f"credreports run {summary.run_id} ({day}, {trigger})"]
    if summary.complete:
        lines.append("The run is complete: every account has a report or a failure record.")
    else:
        lines.append(
            f"The run is INCOMPLETE: {counts.outstanding} account(s) had neither a report nor "
            f"a failure record at its deadline ({format_timestamp(summary.deadline)})."
            if summary.deadline
            else f"The run is INCOMPLETE: {counts.outstanding} account(s) outstanding."
        )
    if summary.manifest_error:
        lines.append(f"The run could not start: {printable(summary.manifest_error)}")
    lines += [
        "",
        f"Accounts {counts.accounts}: {counts.reports} reports, {counts.failures} failures, "
        f"{counts.outstanding} outstanding.",
    ]
    if summary.as_of:
        lines.append(f"Findings measured as of {format_timestamp(summary.as_of)}.")
    if summary.outstanding:
        lines += ["", "Outstanding (no report, no failure record):"]
        lines += [f"  {_account(summary, a.account_id)}" for a in summary.outstanding[:10]]
        lines += _more(len(summary.outstanding), min(len(summary.outstanding), 10))
        lines.append(f"  Send them again: credreports replay --run {summary.run_id}")
    if summary.failures:
        lines += ["", "Failures by reason:"]
        for reason, total in counts.failures_by_reason.items():
            named = [f for f in summary.failures if f.reason.value == reason]
            lines.append(f"  {reason}: {total}")
            lines += [f"    {_account(summary, f.account_id)}" for f in named[:LISTED_IN_MESSAGE]]
            lines += _more(total, min(total, LISTED_IN_MESSAGE))
    lines += ["", "Failing users per check:"]
    width = max((len(check) for check in summary.findings), default=0)
    for check, result in summary.checks():
        lines.append(
            f"  {check.ljust(width)}  {result.severity:<8}  {result.failed_users} user(s) in "
            f"{result.accounts} account(s)"
        )
    lines.append("")
    if summary.previous_run_id is None:
        lines.append("New and resolved: no earlier complete run of this trigger to compare with.")
    else:
        since = f"since run {summary.previous_run_id}"
        lines += _changes(summary, f"New {since}", summary.new, summary.new_count)
        lines += _changes(summary, f"Resolved {since}", summary.resolved, summary.resolved_count)
    keys = summary.keys
    lines += [
        "",
        f"Summary:  s3://{bucket}/{keys.summary}",
        f"Report:   s3://{bucket}/{keys.report}",
        f"Findings: s3://{bucket}/{keys.findings}",
        f"Details:  credreports summary --run {summary.run_id}",
    ]
    return "\n".join(lines) + "\n"


def _change_entries(changes: Iterable[Change]) -> list[dict[str, str]]:
    return [
        item.model_dump(include={"finding_id", "check", "account_id", "user", "credential"})
        for item in list(changes)[:LISTED_IN_EVENT]
    ]


def event_detail(summary: RunSummary, bucket: str) -> dict[str, Any]:
    """The EventBridge event's ``detail`` (DESIGN.md, Announcements)."""
    by_reason: dict[str, list[str]] = {}
    for failure in summary.failures:
        by_reason.setdefault(failure.reason.value, []).append(failure.account_id)
    return {
        "run_id": summary.run_id,
        "trigger": summary.trigger.value if summary.trigger else None,
        "complete": summary.complete,
        "outcome_id": summary.outcome_id,
        "as_of": format_timestamp(summary.as_of) if summary.as_of else None,
        "counts": summary.counts.model_dump(),
        "failures": {reason: ids[:LISTED_IN_EVENT] for reason, ids in by_reason.items()},
        "outstanding": [a.account_id for a in summary.outstanding[:LISTED_IN_EVENT]],
        "findings": {
            check: result.model_dump(include={"failed_users", "accounts", "severity"})
            for check, result in summary.checks()
        },
        "previous_run_id": summary.previous_run_id,
        "new": {"count": summary.new_count, "findings": _change_entries(summary.new)},
        "resolved": {
            "count": summary.resolved_count,
            "findings": _change_entries(summary.resolved),
        },
        "bucket": bucket,
        "keys": summary.keys.model_dump(),
    }


# --- the claim ----------------------------------------------------------------------


class ClaimState(StrEnum):
    OWNED = "owned"  # this check announces (a new claim, its own, or one taken over)
    DONE = "done"  # already announced: nothing to do
    BUSY = "busy"  # another check is announcing it now: look again later


@dataclass(frozen=True)
class Claim:
    state: ClaimState
    announcement: Announcement | None = None
    etag: str | None = None


def claim(
    store: ReportStore,
    run_id: str,
    outcome_id: str,
    complete: bool,
    owner: str,
    now: datetime,
    lease_seconds: int,
) -> Claim:
    """Claim the announcement of one outcome (see models.summary.Announcement)."""
    key = layout.outcome_key(store.prefix, run_id, outcome_id)
    fresh = Announcement(
        run_id=run_id,
        outcome_id=outcome_id,
        outcome="complete" if complete else "incomplete",
        claimed_by=owner,
        claimed_at=now,
    )
    try:
        etag = store.create_json(key, fresh.model_dump(mode="json"))
        return Claim(ClaimState.OWNED, fresh, etag)
    except ConcurrentUpdateError:
        pass
    stored = store.get_versioned_json(key)
    if stored is None:  # deleted in between: someone is tidying up, look again later
        return Claim(ClaimState.BUSY)
    try:
        existing = Announcement.model_validate(stored.document)
    except ValidationError:
        logger.error("announcement claim unreadable; taking it over", key=key)
        existing = fresh.model_copy(update={"claimed_by": ""})
    if existing.done:
        return Claim(ClaimState.DONE, existing, stored.etag)
    if existing.claimed_by == owner:
        return Claim(ClaimState.OWNED, existing, stored.etag)
    if now - existing.claimed_at < timedelta(seconds=lease_seconds):
        return Claim(ClaimState.BUSY, existing, stored.etag)
    taken = existing.model_copy(update={"claimed_by": owner, "claimed_at": now})
    try:
        etag = store.replace_json(key, taken.model_dump(mode="json"), stored.etag)
    except ConcurrentUpdateError:
        return Claim(ClaimState.BUSY)
    logger.warning("announcement claim taken over", key=key, from_owner=existing.claimed_by)
    return Claim(ClaimState.OWNED, taken, etag)


def record(store: ReportStore, current: Claim, **sent: str) -> Claim:
    """The claim with a channel marked sent (``sns_message_id=...`` or
    ``event_id=...``), written with If-Match on the claim's ETag."""
    assert current.announcement is not None and current.etag is not None
    updated = current.announcement.model_copy(update=sent)
    key = layout.outcome_key(store.prefix, updated.run_id, updated.outcome_id)
    etag = store.replace_json(key, updated.model_dump(mode="json"), current.etag)
    return Claim(ClaimState.OWNED, updated, etag)
