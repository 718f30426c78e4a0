"""The summarizer's logic on fakes: when a run is settled or late, how an
outcome is claimed and announced once, what changed since the previous run,
and what the message and the report say."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from credreports import layout
from credreports.errors import DeliveryError
from credreports.findings.catalogue import Thresholds
from credreports.ledger import read_ledger
from credreports.logic.summarizer import announce
from credreports.logic.summarizer.check import Handled, Summarizer, SummarizerConfig
from credreports.logic.summarizer.compare import read_summary
from credreports.logic.summarizer.html_report import render
from credreports.logic.summarizer.settle import Verdict, outcome_id, settle
from credreports.models.codes import Reason, Trigger
from credreports.models.messages import InvalidMessageError
from credreports.models.run_check import CheckOrigin, RunCheck, parse_run_check
from tests.support import builders
from tests.support.builders import RUN_ID, failure_record
from tests.support.fakes import MemoryBucket, MemoryQueue
from tests.support.reports import report_csv, user_row

A, B, C = "111111111111", "222222222222", "333333333333"
STARTED = datetime(2026, 11, 23, 2, 0, 1, tzinfo=UTC)
BUDGET = 600  # seconds a run may stay unsettled in these tests


def check(issued_at: datetime = STARTED, run_id: str = RUN_ID) -> RunCheck:
    return RunCheck(run_id=run_id, issued_at=issued_at, origin=CheckOrigin.RUN)


def console_user(name: str, mfa: bool) -> dict[str, Any]:
    """A console user who signed in yesterday: only console-mfa can fail."""
    return {
        "user": name,
        "password_enabled": True,
        "mfa_active": mfa,
        "password_last_used": STARTED - timedelta(days=1),
    }


def store_run(
    bucket: MemoryBucket,
    reports: dict[str, list[dict[str, Any]]],
    *,
    run_id: str = RUN_ID,
    failed: dict[str, Reason] | None = None,
    outstanding: tuple[str, ...] = (),
) -> None:
    """A run whose ``reports`` accounts have a report of those rows, whose
    ``failed`` have failure records, and whose ``outstanding`` have neither."""
    failed = failed or {}
    accounts = sorted({*reports, *failed, *outstanding})
    manifest = builders.manifest(accounts, run_id=run_id, trigger=Trigger.SCHEDULE)
    bucket.put_json(layout.manifest_key("", run_id), manifest.to_document())
    for account_id, rows in reports.items():
        content = report_csv(*(user_row(account_id=account_id, **f) for f in rows)).encode()
        bucket.put_report(run_id, account_id, content, {"generated-time": STARTED.isoformat()})
    for account_id, reason in failed.items():
        record = failure_record(account_id, reason, run_id=run_id)
        bucket.put_json(layout.failure_key("", run_id, account_id), record.model_dump(mode="json"))


@dataclass
class Recorder:
    """SNS and EventBridge, keeping what was sent; ``refuse`` fails the next N."""

    sent: list[tuple[str, Any, Any]] = field(default_factory=list)
    refuse: int = 0

    def _take(self, *message: Any) -> str:
        if self.refuse:
            self.refuse -= 1
            raise DeliveryError("refused (injected)")
        self.sent.append(message)
        return f"id-{len(self.sent)}"

    def publish(self, subject: str, message: str, attributes: dict[str, list[str] | str]) -> str:
        return self._take(subject, message, attributes)

    def put_event(self, source: str, detail_type: str, detail: dict[str, Any]) -> str:
        return self._take(source, detail_type, detail)


def summarizer(bucket: MemoryBucket, sns: Recorder, events: Recorder) -> Summarizer:
    return Summarizer(
        store=bucket,
        checks=MemoryQueue(url="https://sqs/control"),
        notifier=sns,
        events=events,
        config=SummarizerConfig(budget_seconds=BUDGET, check_seconds=30, thresholds=Thresholds()),
    )


# --- settling ---------------------------------------------------------------------


def test_a_run_with_outstanding_accounts_waits_never_past_its_deadline() -> None:
    bucket = MemoryBucket()
    store_run(bucket, {A: []}, outstanding=(B,))
    ledger = read_ledger(bucket, RUN_ID)

    early = settle(ledger, check(), STARTED + timedelta(seconds=10), budget_seconds=BUDGET,
                   check_seconds=300)  # fmt: skip
    near = settle(ledger, check(), STARTED + timedelta(seconds=590), budget_seconds=BUDGET,
                  check_seconds=300)  # fmt: skip
    late = settle(ledger, check(), STARTED + timedelta(seconds=600), budget_seconds=BUDGET,
                  check_seconds=300)  # fmt: skip

    assert (early.verdict, early.delay_seconds) == (Verdict.WAIT, 300)
    assert (near.verdict, near.delay_seconds) == (Verdict.WAIT, 10)
    assert late.verdict is Verdict.INCOMPLETE
    assert late.deadline == STARTED + timedelta(seconds=BUDGET)


def test_a_replays_check_starts_a_new_wait() -> None:
    bucket = MemoryBucket()
    store_run(bucket, {A: []}, outstanding=(B,))
    ledger = read_ledger(bucket, RUN_ID)
    reopened = STARTED + timedelta(hours=2)

    settled = settle(ledger, check(reopened), reopened + timedelta(seconds=60),
                     budget_seconds=BUDGET, check_seconds=30)  # fmt: skip

    assert settled.verdict is Verdict.WAIT
    assert settled.deadline == reopened + timedelta(seconds=BUDGET)


def test_the_outcome_id_changes_only_with_the_ledgers_state() -> None:
    bucket = MemoryBucket()
    store_run(bucket, {A: []}, failed={B: Reason.ROLE_ASSUME_DENIED})
    first = outcome_id(read_ledger(bucket, RUN_ID))
    assert outcome_id(read_ledger(bucket, RUN_ID)) == first

    # A replayed failure that ends as a report is a new outcome
    bucket.put_report(RUN_ID, B, report_csv(user_row(account_id=B)).encode(), {})
    assert outcome_id(read_ledger(bucket, RUN_ID)) != first


# --- claiming and announcing --------------------------------------------------------


def test_a_settled_run_is_summarized_and_announced_once_whatever_the_duplicates() -> None:
    bucket, sns, events = MemoryBucket(), Recorder(), Recorder()
    store_run(bucket, {A: [console_user("bob", mfa=False)], B: []}, failed={C: Reason.THROTTLED})
    later = STARTED + timedelta(minutes=5)

    handled = [summarizer(bucket, sns, events).handle(check(), m, later) for m in ("m1", "m2")]

    assert handled == [Handled.ANNOUNCED, Handled.ALREADY_ANNOUNCED]
    ((subject, text, attributes),) = sns.sent
    ((source, detail_type, detail),) = events.sent
    assert attributes["kind"] == "run-summary" and source == "credreports"
    assert detail_type == "Run Completed" and detail["counts"]["failures"] == 1
    assert detail["findings"]["console-mfa"]["failed_users"] == 1
    assert "THROTTLED: 1" in text and len(subject) <= 100
    stored = bucket.get_json(layout.summary_key("", RUN_ID))
    assert stored["complete"] is True and stored["failing"]["console-mfa"][0]["user"] == "bob"


def test_a_crash_between_writing_and_announcing_announces_once_on_the_retry() -> None:
    bucket, sns, events = MemoryBucket(), Recorder(), Recorder(refuse=1)
    store_run(bucket, {A: []})
    later = STARTED + timedelta(minutes=5)

    # SNS took the message, then EventBridge refused: the check fails
    with pytest.raises(DeliveryError):
        summarizer(bucket, sns, events).handle(check(), "m1", later)
    written = bucket.puts.count(layout.summary_key("", RUN_ID))
    # Another check meanwhile finds the outcome claimed and looks again later
    assert summarizer(bucket, sns, events).handle(check(), "m2", later) is Handled.BUSY
    # SQS delivers the failed check again: only the event is sent now
    assert summarizer(bucket, sns, events).handle(check(), "m1", later) is Handled.ANNOUNCED

    assert len(sns.sent) == 1 and len(events.sent) == 1
    assert bucket.puts.count(layout.summary_key("", RUN_ID)) == written == 1


def test_a_claim_whose_owner_is_gone_is_taken_over_after_its_lease() -> None:
    bucket, sns, events = MemoryBucket(), Recorder(refuse=1), Recorder()
    store_run(bucket, {A: []})
    with pytest.raises(DeliveryError):
        summarizer(bucket, sns, events).handle(check(), "m1", STARTED)

    after_the_lease = STARTED + timedelta(hours=1)
    handled = summarizer(bucket, sns, events).handle(check(), "m2", after_the_lease)

    assert handled is Handled.ANNOUNCED and len(sns.sent) == len(events.sent) == 1


def test_an_unsettled_run_goes_back_on_the_control_queue_with_the_same_check() -> None:
    bucket, sns, events = MemoryBucket(), Recorder(), Recorder()
    store_run(bucket, {A: []}, outstanding=(B,))
    worker = summarizer(bucket, sns, events)

    assert worker.handle(check(), "m1", STARTED + timedelta(seconds=5)) is Handled.WAITING

    queue = worker.checks
    assert isinstance(queue, MemoryQueue)
    ((sent,),) = [queue.sent]
    assert json.loads(sent.body) == json.loads(check().to_body()) and sent.delay_seconds == 30
    assert not sns.sent and not events.sent


def test_at_the_deadline_the_run_ends_incomplete_naming_the_outstanding() -> None:
    bucket, sns, events = MemoryBucket(), Recorder(), Recorder()
    store_run(bucket, {A: []}, outstanding=(B,))

    handled = summarizer(bucket, sns, events).handle(
        check(), "m1", STARTED + timedelta(seconds=BUDGET)
    )

    assert handled is Handled.ANNOUNCED
    ((_, detail_type, detail),) = events.sent
    assert detail_type == "Run Incomplete" and detail["outstanding"] == [B]
    ((subject, text, _),) = sns.sent
    assert "INCOMPLETE" in subject and B in text and "credreports replay" in text


# --- comparing ----------------------------------------------------------------------


def test_new_and_resolved_findings_compare_each_account_with_the_previous_run() -> None:
    bucket, sns, events = MemoryBucket(), Recorder(), Recorder()
    previous, current = "20261122T020000Z", RUN_ID
    store_run(
        bucket,
        {A: [console_user("ann", False)], B: [console_user("ben", True)], C: []},
        run_id=previous,
    )
    summarizer(bucket, sns, events).handle(check(STARTED, previous), "m1", STARTED)
    # A's ann gained MFA, B's ben lost it, C has a new user without
    store_run(
        bucket,
        {
            A: [console_user("ann", True)],
            B: [console_user("ben", False)],
            C: [console_user("cy", False)],
        },
        run_id=current,
    )

    summarizer(bucket, sns, events).handle(check(STARTED, current), "m2", STARTED)

    stored = bucket.get_json(layout.summary_key("", current))
    assert stored["previous_run_id"] == previous
    assert (stored["new_count"], stored["resolved_count"]) == (2, 1)
    assert {(c["account_id"], c["user"]) for c in stored["new"]} == {(B, "ben"), (C, "cy")}
    assert [(c["account_id"], c["user"]) for c in stored["resolved"]] == [(A, "ann")]
    (_, _, detail) = events.sent[-1]
    assert detail["new"]["count"] == 2 and detail["resolved"]["count"] == 1


# --- what is shown ------------------------------------------------------------------


def test_the_message_escapes_control_characters_of_names_and_the_report_escapes_html() -> None:
    bucket, sns, events = MemoryBucket(), Recorder(), Recorder()
    hostile = "evil\x1b[31m<script>alert(1)</script>"
    store_run(bucket, {A: [console_user(hostile, False)]})
    summarizer(bucket, sns, events).handle(check(), "m1", STARTED)

    summary = read_summary(bucket, RUN_ID)
    assert summary is not None
    page = render(summary, "bucket")
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    message = announce.message(summary, "bucket")
    assert "\x1b" not in message


def test_a_run_check_is_strict_and_names_what_is_wrong() -> None:
    assert parse_run_check(check().to_body()) == check()
    with pytest.raises(InvalidMessageError, match="run_id"):
        parse_run_check(
            json.dumps({"v": 1, "run_id": "yesterday", "issued_at": "x", "origin": "run"})
        )
    with pytest.raises(InvalidMessageError, match="unknown message version"):
        parse_run_check(json.dumps({"v": 2}))


def test_a_summary_that_changed_while_written_is_looked_at_again_not_overwritten() -> None:
    bucket, sns, events = MemoryBucket(), Recorder(), Recorder()
    store_run(bucket, {A: []})
    # Another outcome's summary lands between our read and our write
    real_replace = bucket.replace_json
    bucket.put_json(layout.summary_key("", RUN_ID), {"someone": "else"})

    def racing(key: str, document: Any, etag: str) -> str:
        bucket.put_json(key, {"someone": "newer"})
        return real_replace(key, document, etag)

    bucket.replace_json = racing  # type: ignore[method-assign]
    worker = summarizer(bucket, sns, events)

    assert worker.handle(check(), "m1", STARTED) is Handled.BUSY

    assert bucket.get_json(layout.summary_key("", RUN_ID)) == {"someone": "newer"}
    assert not sns.sent and not events.sent
    assert isinstance(worker.checks, MemoryQueue) and len(worker.checks.sent) == 1
