"""What ``runs/.../summary.json`` holds: how a run ended, what it found, and
what changed since the previous complete run of the same trigger; and what
``runs/.../outcomes/<id>.json`` holds: the claim on announcing one outcome.

The summary is complete in itself: the HTML report, the SNS message, the
EventBridge event and ``credreports summary`` are all rendered from it. Lists
that grow with the organization (the failing results of a check, new and
resolved findings, the accounts ranked by findings) are capped; their counts
are always exact, and the findings file holds every result.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from credreports.findings.catalogue import CHECKS
from credreports.models.codes import Reason, Trigger
from credreports.models.ids import AccountId, RunId, UtcTimestamp
from credreports.models.validation import Document

SUMMARY_VERSION = 1
# Caps of the lists a summary carries (their counts stay exact).
LISTED_PER_CHECK = 200
LISTED_CHANGES = 500
LISTED_ACCOUNTS = 100

Outcome = Literal["complete", "incomplete"]


class Counts(Document):
    accounts: int = Field(ge=0)
    reports: int = Field(ge=0)
    failures: int = Field(ge=0)
    outstanding: int = Field(ge=0)
    failures_by_reason: dict[str, int] = Field(default_factory=dict)


class AccountRef(Document):
    """An account as people read it: its id, name and OU path."""

    account_id: AccountId
    name: str = ""
    ou_path: str = ""


class FailedAccount(AccountRef):
    reason: Reason
    detail: str = ""


class CheckResult(Document):
    """One check over the whole run: how many users and accounts fail it."""

    title: str
    severity: str
    failed_users: int = Field(ge=0)
    accounts: int = Field(ge=0)
    failed_results: int = Field(ge=0)


class FailingResult(Document):
    """A failing result, as the report lists it under its check."""

    account_id: AccountId
    user: str
    credential: str
    detail: str


class AccountFindings(AccountRef):
    """Failing results of one account, by severity (the report's ranking)."""

    critical: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0

    @property
    def rank(self) -> tuple[int, int, int, int]:
        return (self.critical, self.high, self.medium, self.low)


class Change(Document):
    """A finding that is new since the previous run, or resolved since."""

    finding_id: str
    check: str
    severity: str
    account_id: AccountId
    user: str
    credential: str


class Unreadable(Document):
    account_id: str
    problem: str


class SummaryKeys(Document):
    """Where the run's documents are in the bucket."""

    manifest: str
    summary: str
    report: str
    findings: str


class RunSummary(Document):
    v: Literal[1] = 1
    run_id: RunId
    trigger: Trigger | None
    complete: bool
    # The ledger state this summary describes (see logic.summarizer.settle).
    outcome_id: str
    summarized_at: UtcTimestamp
    deadline: UtcTimestamp | None = None
    # When the findings' ages were measured from: the newest report's generation.
    as_of: UtcTimestamp | None = None
    manifest_status: str | None = None
    manifest_error: str | None = None
    counts: Counts
    failures: tuple[FailedAccount, ...] = ()
    outstanding: tuple[AccountRef, ...] = ()
    findings: dict[str, CheckResult] = Field(default_factory=dict)
    # check id -> its first LISTED_PER_CHECK failing results
    failing: dict[str, tuple[FailingResult, ...]] = Field(default_factory=dict)
    accounts_ranked: tuple[AccountFindings, ...] = ()  # first LISTED_ACCOUNTS
    accounts_with_findings: int = 0
    # account id -> name, for the accounts this summary lists
    names: dict[str, str] = Field(default_factory=dict)
    unreadable: tuple[Unreadable, ...] = ()
    previous_run_id: RunId | None = None
    new_count: int = 0
    resolved_count: int = 0
    new: tuple[Change, ...] = ()  # first LISTED_CHANGES
    resolved: tuple[Change, ...] = ()
    keys: SummaryKeys

    @property
    def outcome(self) -> Outcome:
        return "complete" if self.complete else "incomplete"

    def name(self, account_id: str) -> str:
        return self.names.get(account_id, "")

    def checks(self) -> list[tuple[str, CheckResult]]:
        """The checks in the catalogue's order (a stored summary's keys are sorted)."""
        order = {check.id: index for index, check in enumerate(CHECKS)}
        return sorted(self.findings.items(), key=lambda item: order.get(item[0], len(order)))

    def headline(self) -> str:
        """One line: the outcome and the counts (``status`` prints it)."""
        counts = self.counts
        state = "complete" if self.complete else "INCOMPLETE"
        failing = sum(result.failed_users for result in self.findings.values())
        return (
            f"run {self.run_id} {state}: {counts.accounts} accounts, {counts.reports} reports, "
            f"{counts.failures} failures, {counts.outstanding} outstanding; "
            f"{failing} failing user-checks, {self.new_count} new, {self.resolved_count} resolved"
        )

    def to_document(self) -> dict[str, object]:
        return {"outcome": self.outcome, **self.model_dump(mode="json")}


class Announcement(Document):
    """The claim on announcing one outcome of a run, at a key of its own.

    Created with ``If-None-Match: *``: whoever creates it announces. Each
    channel's id is recorded (``If-Match``) once sent, so a retry after a crash
    sends only what is missing. ``claimed_by`` is the check message's SQS id:
    a redelivery of that message is the owner coming back, any other message
    waits, unless the claim is older than its lease (the owner is gone)."""

    v: Literal[1] = 1
    run_id: RunId
    outcome_id: str
    outcome: Outcome
    claimed_by: str
    claimed_at: UtcTimestamp
    sns_message_id: str | None = None
    event_id: str | None = None

    @property
    def done(self) -> bool:
        return self.sns_message_id is not None and self.event_id is not None
