"""One run check, start to end (the summarizer's logic).

1. Read the run's ledger and settle it (settle.py): wait, complete, or
   incomplete. While waiting, the check goes back on the control queue with a
   delay, as the worker re-enqueues a report that is not ready.
2. Claim the outcome's announcement (announce.claim): only the owner goes on;
   an outcome already announced is done; one another check is announcing is
   looked at again later.
3. The summary: the stored one if it describes this outcome (a retry after a
   crash), else evaluated (evaluate.py), compared (compare.py) and written:
   the findings file and the HTML report first, ``summary.json`` last, each
   by a conditional write, so a summary is only ever there with its documents.
4. Announce what the claim says is not sent yet: SNS, then EventBridge, each
   recorded in the claim as soon as it is sent.

The one window this cannot close: a crash after SNS or EventBridge accepted a
message and before the claim recorded it sends that message again on the
retry (neither service deduplicates a standard topic or bus).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import IO

from credreports import layout
from credreports.adapters.queue import Outgoing
from credreports.adapters.storage import ReportStore
from credreports.errors import ConcurrentUpdateError
from credreports.findings.catalogue import Thresholds
from credreports.findings.sources import newest_generated_time, run_reports
from credreports.ledger import RunLedger, read_ledger
from credreports.logic.summarizer import announce
from credreports.logic.summarizer.compare import (
    Comparison,
    PreviousFindings,
    previous_complete_run,
    read_summary,
)
from credreports.logic.summarizer.evaluate import RunFindings, evaluate_run
from credreports.logic.summarizer.html_report import render
from credreports.logic.summarizer.settle import Settlement, Verdict, settle
from credreports.models.run_check import RunCheck
from credreports.models.summary import (
    LISTED_ACCOUNTS,
    LISTED_CHANGES,
    AccountRef,
    Counts,
    FailedAccount,
    RunSummary,
    SummaryKeys,
)
from credreports.observability import MetricUnit, logger, metrics
from credreports.ports import EventPublisher, MessageSender, Publisher

# How long a claim on announcing an outcome holds before another check may take
# it over: longer than the function's timeout (900 s), so a claim is only ever
# taken from an owner that is gone.
LEASE_SECONDS = 1800


class Handled(StrEnum):
    WAITING = "waiting"  # not settled; the check is back on the queue
    ANNOUNCED = "announced"
    ALREADY_ANNOUNCED = "already-announced"
    BUSY = "busy"  # another check is announcing this outcome; the check is back on the queue


@dataclass(frozen=True)
class SummarizerConfig:
    budget_seconds: int  # how long a run may stay unsettled (settings.deadline_seconds)
    check_seconds: int  # the delay of a re-check
    thresholds: Thresholds
    lease_seconds: int = LEASE_SECONDS


@dataclass
class Summarizer:
    store: ReportStore
    checks: MessageSender
    notifier: Publisher
    events: EventPublisher
    config: SummarizerConfig

    def handle(self, check: RunCheck, message_id: str, now: datetime) -> Handled:
        """Act on one run check (see the module docstring)."""
        ledger = read_ledger(self.store, check.run_id)
        settlement = settle(
            ledger,
            check,
            now,
            budget_seconds=self.config.budget_seconds,
            check_seconds=self.config.check_seconds,
        )
        if settlement.verdict is Verdict.WAIT:
            self._check_again(check, settlement.delay_seconds)
            logger.info(
                "run not settled; checking again",
                run_id=check.run_id,
                outstanding=len(ledger.outstanding),
                delay_seconds=settlement.delay_seconds,
            )
            return Handled.WAITING
        complete = settlement.verdict is Verdict.COMPLETE
        claim = announce.claim(
            self.store,
            check.run_id,
            settlement.outcome_id,
            complete,
            message_id,
            now,
            self.config.lease_seconds,
        )
        if claim.state is announce.ClaimState.DONE:
            logger.info("outcome already announced", run_id=check.run_id)
            return Handled.ALREADY_ANNOUNCED
        if claim.state is announce.ClaimState.BUSY:
            self._check_again(check, self.config.check_seconds)
            logger.info("outcome being announced by another check", run_id=check.run_id)
            return Handled.BUSY
        try:
            summary = self._summary(ledger, settlement, now)
        except ConcurrentUpdateError:
            # Another writer changed the run's documents meanwhile (a newer
            # outcome): look again later, at the ledger as it is then.
            self._check_again(check, self.config.check_seconds)
            logger.warning("summary changed while written; checking again", run_id=check.run_id)
            return Handled.BUSY
        self._announce(summary, claim)
        return Handled.ANNOUNCED

    def _check_again(self, check: RunCheck, delay_seconds: int) -> None:
        self.checks.send_all(
            [Outgoing(key=check.run_id, body=check.to_body(), delay_seconds=delay_seconds)]
        )

    def _summary(self, ledger: RunLedger, settlement: Settlement, now: datetime) -> RunSummary:
        stored = read_summary(self.store, ledger.run_id)
        if stored is not None and stored.outcome_id == settlement.outcome_id:
            logger.info("summary of this outcome already written", run_id=ledger.run_id)
            return stored
        return summarize(self.store, ledger, settlement, now, self.config.thresholds)

    def _announce(self, summary: RunSummary, claim: announce.Claim) -> None:
        assert claim.announcement is not None
        bucket = self.store.bucket
        if claim.announcement.sns_message_id is None:
            sent = self.notifier.publish(
                announce.subject(summary),
                announce.message(summary, bucket),
                {"kind": announce.KIND, "run_id": summary.run_id, "outcome": summary.outcome},
            )
            claim = announce.record(self.store, claim, sns_message_id=sent)
        if claim.announcement is not None and claim.announcement.event_id is None:
            event_id = self.events.put_event(
                announce.SOURCE,
                announce.DETAIL_TYPES[summary.complete],
                announce.event_detail(summary, bucket),
            )
            announce.record(self.store, claim, event_id=event_id)
        metrics.add_metric(name="RunsAnnounced", unit=MetricUnit.Count, value=1)
        logger.info(
            "run announced",
            run_id=summary.run_id,
            outcome=summary.outcome,
            outcome_id=summary.outcome_id,
        )


def summarize(
    store: ReportStore,
    ledger: RunLedger,
    settlement: Settlement,
    now: datetime,
    thresholds: Thresholds,
) -> RunSummary:
    """Evaluate the run, compare it, and write its findings file, HTML report
    and summary (in that order). Returns the summary written."""
    findings, summary = evaluate_summary(store, ledger, settlement, now, thresholds)
    try:
        keys = summary.keys
        _put_over(store, keys.findings, findings.ocsf, "application/gzip")
        _put_over(store, keys.report, render(summary, store.bucket).encode(), "text/html")
    finally:
        findings.close()
    stored = store.get_versioned_json(keys.summary)
    if stored is None:
        store.create_json(keys.summary, summary.to_document())
    else:
        store.replace_json(keys.summary, summary.to_document(), stored.etag)
    return summary


def _put_over(store: ReportStore, key: str, body: bytes | IO[bytes], content_type: str) -> None:
    """Write ``key`` conditionally: create it, or replace the version just seen."""
    etag = store.etag(key)
    if etag is None:
        store.create_object(key, body, content_type)
    else:
        store.replace_object(key, body, content_type, etag)


def evaluate_summary(
    store: ReportStore,
    ledger: RunLedger,
    settlement: Settlement,
    now: datetime,
    thresholds: Thresholds,
) -> tuple[RunFindings, RunSummary]:
    """The run's findings (the OCSF file, still to be written) and its summary,
    computed from the bucket, nothing written. ``credreports summary`` uses
    this when no summary is stored yet."""
    run_id = ledger.run_id
    manifest = ledger.manifest
    trigger = manifest.trigger if manifest else None
    report_keys = set(ledger.reports.values())
    stored_reports = [o for o in run_reports(store, run_id) if o.key in report_keys]
    as_of = newest_generated_time(store, stored_reports) if stored_reports else None
    previous = previous_complete_run(store, run_id, trigger) if stored_reports else None
    previous_stream = store.open(previous.keys.findings) if previous is not None else None
    comparison = Comparison(
        previous_run_id=previous.run_id if previous_stream is not None and previous else None,
        limit=LISTED_CHANGES,
    )
    reader = PreviousFindings(previous_stream) if previous_stream is not None else None
    try:
        findings = evaluate_run(store, ledger.reports, as_of or now, thresholds, comparison, reader)
    finally:
        if reader is not None:
            reader.close()
    if reader is not None and reader.out_of_order:
        logger.warning("previous findings not in account order; comparison may miss some")
    return findings, _summary_document(store, ledger, settlement, now, as_of, findings)


def _summary_document(
    store: ReportStore,
    ledger: RunLedger,
    settlement: Settlement,
    now: datetime,
    as_of: datetime | None,
    findings: RunFindings,
) -> RunSummary:
    run_id = ledger.run_id
    manifest = ledger.manifest
    names = manifest.names() if manifest else {}
    paths = manifest.ou_paths() if manifest else {}
    tally, comparison = findings.tally, findings.comparison
    most_first = sorted(tally.accounts, key=lambda a: (tuple(-n for n in a.rank), a.account_id))
    ranked = [
        a.model_copy(update={"ou_path": paths.get(a.account_id, "")})
        for a in most_first[:LISTED_ACCOUNTS]
    ]
    failures = [
        FailedAccount(
            account_id=account_id,
            ou_path=paths.get(account_id, ""),
            reason=failure.record.reason,
            detail=failure.record.detail,
        )
        for account_id, failure in sorted(ledger.failures.items())
    ]
    outstanding = [AccountRef(account_id=a, ou_path=paths.get(a, "")) for a in ledger.outstanding]
    listed: set[str] = {a.account_id for a in (*ranked, *failures, *outstanding)}
    listed.update(item.account_id for items in tally.failing.values() for item in items)
    listed.update(c.account_id for c in (*comparison.new, *comparison.resolved))
    listed.update(u.account_id for u in tally.unreadable)
    return RunSummary(
        run_id=run_id,
        trigger=manifest.trigger if manifest else None,
        complete=settlement.verdict is Verdict.COMPLETE,
        outcome_id=settlement.outcome_id,
        summarized_at=now,
        deadline=settlement.deadline,
        as_of=as_of,
        manifest_status=manifest.status.value if manifest else None,
        manifest_error=manifest.error if manifest else None,
        counts=Counts(
            accounts=len(ledger.accounts),
            reports=len(ledger.reports),
            failures=len(ledger.failures),
            outstanding=len(ledger.outstanding),
            failures_by_reason={r: len(a) for r, a in ledger.failures_by_reason().items()},
        ),
        failures=tuple(failures),
        outstanding=tuple(outstanding),
        findings=tally.checks(),
        failing={check: tuple(items) for check, items in tally.failing.items() if items},
        accounts_ranked=tuple(ranked),
        accounts_with_findings=len(tally.accounts),
        names={a: names[a] for a in sorted(listed) if a in names},
        unreadable=tuple(tally.unreadable),
        previous_run_id=comparison.previous_run_id,
        new_count=comparison.new_count,
        resolved_count=comparison.resolved_count,
        new=tuple(comparison.new),
        resolved=tuple(comparison.resolved),
        keys=SummaryKeys(
            manifest=layout.manifest_key(store.prefix, run_id),
            summary=layout.summary_key(store.prefix, run_id),
            report=layout.summary_report_key(store.prefix, run_id),
            findings=layout.findings_key(store.prefix, run_id),
        ),
    )
