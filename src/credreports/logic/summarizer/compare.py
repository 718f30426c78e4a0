"""What changed since the previous complete run of the same trigger.

The previous run is the newest earlier run whose stored summary is complete
and whose trigger is the same (a scheduled run is compared with the last
scheduled run, not with a manual run of three accounts). Its failing findings
are read from its findings file, streamed: the file is written in account
order, as reports are read, so the comparison walks both runs side by side,
one account at a time, and never holds more than one account's findings of
the previous run (a merge, not a set of every finding id of the organization).

Only accounts with a report in this run are compared: a finding of an account
that has no report now (it failed, or left the organization) is neither new
nor resolved.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from pydantic import ValidationError

from credreports import layout
from credreports.adapters.storage import ReportStore
from credreports.findings.engine import Finding
from credreports.models.codes import Trigger
from credreports.models.ids import run_date
from credreports.models.summary import Change, RunSummary
from credreports.observability import logger

# Summaries read, newest first, when looking for the previous complete run of
# the same trigger (manual runs in between are skipped, but not forever).
PREVIOUS_RUNS_LOOKED_AT = 60
_PASSED = '"status_code": "PASS"'


def read_summary(store: ReportStore, run_id: str) -> RunSummary | None:
    """The stored summary of ``run_id``, or None (none yet, or unreadable)."""
    document = store.get_json(layout.summary_key(store.prefix, run_id))
    if document is None:
        return None
    try:
        return RunSummary.model_validate(document)
    except ValidationError as exc:
        logger.warning("summary unreadable", run_id=run_id, problem=str(exc)[:300])
        return None


def _earlier_runs(store: ReportStore, run_id: str) -> Iterator[str]:
    """Run ids before ``run_id``, newest first, from the date partitions of
    ``runs/`` (one listing per day looked at, not one of every key)."""
    this_day = f"date={run_date(run_id).isoformat()}"
    days = [d for d in store.folders(f"{store.prefix}runs/") if d.split("/")[-2] <= this_day]
    for day in reversed(days):
        runs = [folder.rstrip("/").rsplit("run=", 1)[-1] for folder in store.folders(day)]
        yield from sorted((r for r in runs if r < run_id), reverse=True)


def previous_complete_run(
    store: ReportStore, run_id: str, trigger: Trigger | None
) -> RunSummary | None:
    """The summary of the newest earlier complete run of the same trigger."""
    for looked_at, earlier in enumerate(_earlier_runs(store, run_id)):
        if looked_at >= PREVIOUS_RUNS_LOOKED_AT:
            return None
        summary = read_summary(store, earlier)
        if summary is not None and summary.complete and summary.trigger == trigger:
            return summary
    return None


def change(finding: Finding) -> Change:
    return Change(
        finding_id=finding.finding_id,
        check=finding.check,
        severity=finding.severity.value,
        account_id=finding.account_id,
        user=finding.user,
        credential=finding.credential,
    )


def _change_from_ocsf(event: dict[str, Any]) -> Change:
    resource = event["resources"][0]
    return Change(
        finding_id=event["finding_info"]["uid"],
        check=event["unmapped"]["check"],
        severity=str(event["severity"]).lower(),
        account_id=event["cloud"]["account"]["uid"],
        user=resource["name"],
        credential=event["unmapped"]["credential"],
    )


class PreviousFindings:
    """The failing findings of the previous run, account by account, read from
    its OCSF findings file as the comparison asks for each account in turn."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._lines = io.TextIOWrapper(gzip.GzipFile(fileobj=stream), encoding="utf-8")
        self._pending: Change | None = None
        self._last_account = ""
        self.out_of_order = False

    def _next_failing(self) -> Change | None:
        for line in self._lines:
            # Most results pass. As findings.formats writes them, a passing one
            # holds this text, which no JSON string value can (its quotes would
            # be escaped): skip those without parsing. Anything else is parsed.
            if _PASSED in line:
                continue
            event = json.loads(line)
            if event.get("status_code") != "FAIL":
                continue
            found = _change_from_ocsf(event)
            if found.account_id < self._last_account:
                self.out_of_order = True
            self._last_account = found.account_id
            return found
        return None

    def failing(self, account_id: str) -> dict[str, Change]:
        """The previous run's failing findings of ``account_id``, by finding
        id. Accounts must be asked for in increasing order."""
        found: dict[str, Change] = {}
        while True:
            current = self._pending or self._next_failing()
            self._pending = None
            if current is None:
                return found
            if current.account_id > account_id:
                self._pending = current
                return found
            if current.account_id == account_id:
                found[current.finding_id] = current

    def close(self) -> None:
        self._lines.close()


@dataclass
class Comparison:
    """New and resolved findings, counted in full, listed up to ``limit``."""

    previous_run_id: str | None
    limit: int
    new_count: int = 0
    resolved_count: int = 0
    new: list[Change] = field(default_factory=list)
    resolved: list[Change] = field(default_factory=list)

    def add(self, failing_now: dict[str, Finding], failing_before: dict[str, Change]) -> None:
        """One account's failing findings now and in the previous run."""
        for finding_id, finding in failing_now.items():
            if finding_id not in failing_before:
                self.new_count += 1
                if len(self.new) < self.limit:
                    self.new.append(change(finding))
        for finding_id, before in failing_before.items():
            if finding_id not in failing_now:
                self.resolved_count += 1
                if len(self.resolved) < self.limit:
                    self.resolved.append(before)
