"""The findings of a whole run, in bounded memory.

Every report of the run is read and evaluated by the findings engine, several
at a time (credreports.findings.sources.evaluate_all: a bounded number in
flight), in account order. Each account's results are written to the OCSF
findings file as they come (gzip into a temporary file that spills to disk),
counted into the tally, compared with the previous run's results of the same
account, and dropped. What stays in memory grows with the number of checks
and accounts, never with the number of users or results: a run of 10,000
accounts holds one small line per account, not 10,000 reports.
"""

from __future__ import annotations

import gzip
import io
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO

from credreports.adapters.storage import ReportStore
from credreports.findings.catalogue import CHECKS, Severity, Thresholds
from credreports.findings.engine import Finding
from credreports.findings.formats import write_ocsf
from credreports.findings.sources import READERS, ReportLocation, evaluate_all, read_from
from credreports.logic.summarizer.compare import Comparison, PreviousFindings
from credreports.models.summary import (
    LISTED_PER_CHECK,
    AccountFindings,
    CheckResult,
    FailingResult,
    Unreadable,
)

# The findings file stays in memory up to this size, then spills to /tmp.
SPOOL_BYTES = 16 * 1024 * 1024
# gzip level: JSON Lines of OCSF compress ~20x at level 1 already; higher
# levels cost CPU time that a 10,000-account run does not have to spare.
GZIP_LEVEL = 1
_IDS: tuple[str, ...] = tuple(check.id for check in CHECKS)


@dataclass
class Tally:
    """What the run's results come to, per check and per account."""

    failed_users: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_IDS, 0))
    failed_accounts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_IDS, 0))
    failed_results: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_IDS, 0))
    failing: dict[str, list[FailingResult]] = field(default_factory=lambda: {i: [] for i in _IDS})
    accounts: list[AccountFindings] = field(default_factory=list)
    reports: int = 0
    results: int = 0
    unreadable: list[Unreadable] = field(default_factory=list)

    def add(self, account_id: str, failing: list[Finding]) -> None:
        users: dict[str, set[str]] = {}
        severities: dict[Severity, int] = {}
        for finding in failing:
            users.setdefault(finding.check, set()).add(finding.user)
            severities[finding.severity] = severities.get(finding.severity, 0) + 1
            self.failed_results[finding.check] += 1
            listed = self.failing[finding.check]
            if len(listed) < LISTED_PER_CHECK:
                listed.append(
                    FailingResult(
                        account_id=account_id,
                        user=finding.user,
                        credential=finding.credential,
                        detail=finding.detail,
                    )
                )
        for check, names in users.items():
            self.failed_users[check] += len(names)
            self.failed_accounts[check] += 1
        if failing:
            self.accounts.append(
                AccountFindings(
                    account_id=account_id,
                    critical=severities.get(Severity.CRITICAL, 0),
                    high=severities.get(Severity.HIGH, 0),
                    medium=severities.get(Severity.MEDIUM, 0),
                    low=severities.get(Severity.LOW, 0),
                )
            )

    def checks(self) -> dict[str, CheckResult]:
        return {
            check.id: CheckResult(
                title=check.title,
                severity=check.severity.value,
                failed_users=self.failed_users[check.id],
                accounts=self.failed_accounts[check.id],
                failed_results=self.failed_results[check.id],
            )
            for check in CHECKS
        }


@dataclass
class RunFindings:
    """A run's evaluation: the tally, the comparison, and the OCSF file."""

    tally: Tally
    comparison: Comparison
    ocsf: IO[bytes]  # gzip, positioned at its start, for the upload

    def close(self) -> None:
        self.ocsf.close()


def evaluate_run(
    store: ReportStore,
    reports: Mapping[str, str],
    as_of: datetime,
    thresholds: Thresholds,
    comparison: Comparison,
    previous: PreviousFindings | None,
    workers: int = READERS,
) -> RunFindings:
    """Evaluate ``reports`` (account -> key), ``workers`` at a time; write
    every result (PASS and FAIL) as OCSF; tally the failing ones; compare
    each account with ``previous`` (if any)."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - returned
    tally = Tally()
    packed = gzip.GzipFile(fileobj=spool, mode="wb", compresslevel=GZIP_LEVEL, mtime=0)
    text = io.TextIOWrapper(packed, encoding="utf-8")
    try:
        sources = [ReportLocation(reports[a], a) for a in sorted(reports)]
        for evaluated in evaluate_all(sources, read_from(store), as_of, thresholds, workers):
            account_id = evaluated.source.account_id or ""
            if evaluated.problem is not None:
                tally.unreadable.append(
                    Unreadable(account_id=account_id, problem=evaluated.problem)
                )
                continue
            tally.reports += 1
            tally.results += write_ocsf(evaluated.findings, as_of, text)
            failing = [f for f in evaluated.findings if f.failed]
            tally.add(account_id, failing)
            if previous is not None:
                comparison.add({f.finding_id: f for f in failing}, previous.failing(account_id))
    except BaseException:
        spool.close()
        raise
    finally:
        # Flush and end the gzip stream; the spool stays open for the upload.
        if not spool.closed:
            text.flush()
            text.detach()
            packed.close()
    spool.seek(0)
    return RunFindings(tally=tally, comparison=comparison, ocsf=spool)
