"""When a run is settled, when it is late, and which outcome it is in.

A run is settled when its ledger is complete: the manifest says every
account's message was sent, and every account is a report or a failure
record. Until then the summarizer waits, re-checking, up to the run's
deadline: the longest an account can legitimately take (``MAX_ATTEMPTS`` x
``RETRY_DELAY_SECONDS``) plus a margin, counted from the later of the run's
start and the check's ``issued_at`` (an ``enqueue`` or ``replay`` reopens the
run and starts a new wait). Past the deadline with accounts outstanding, the
run ends incomplete.

Each outcome has an id: a digest of the ledger state it describes (which
accounts have a report, which a failure record and which record, which are
outstanding). Duplicated checks and concurrent summarizers see the same state
and so the same id, and announce it once; a replay that changes the state
(a failure became a report, or a new failure record was written) makes a new
outcome, announced again.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from credreports.ledger import RunLedger
from credreports.models.ids import format_timestamp
from credreports.models.run_check import RunCheck


class Verdict(StrEnum):
    WAIT = "wait"  # accounts outstanding, deadline not reached: check again later
    COMPLETE = "complete"  # settled: every account is a report or a failure record
    INCOMPLETE = "incomplete"  # deadline passed with accounts outstanding


@dataclass(frozen=True)
class Settlement:
    verdict: Verdict
    deadline: datetime | None
    outcome_id: str
    # WAIT: seconds until the next look (never past the deadline).
    delay_seconds: int = 0


def deadline(ledger: RunLedger, check: RunCheck, budget_seconds: int) -> datetime:
    """The moment the run stops waiting for its outstanding accounts."""
    started = check.issued_at
    if ledger.manifest is not None:
        started = max(started, ledger.manifest.created_at)
    return started + timedelta(seconds=budget_seconds)


def outcome_id(ledger: RunLedger) -> str:
    """The id of the ledger's state (see the module docstring)."""
    manifest = ledger.manifest
    state = {
        "run": ledger.run_id,
        "manifest": None if manifest is None else manifest.status.value,
        "accounts": sorted(ledger.accounts),
        "reports": sorted(ledger.reports),
        "failures": sorted(
            (account, f.record.reason.value, format_timestamp(f.record.recorded_at))
            for account, f in ledger.failures.items()
        ),
        "outstanding": sorted(ledger.outstanding),
    }
    digest = hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()
    return digest[:24]


def settle(
    ledger: RunLedger,
    check: RunCheck,
    now: datetime,
    *,
    budget_seconds: int,
    check_seconds: int,
) -> Settlement:
    """Whether the run is settled, late, or to be looked at again (and when)."""
    due = deadline(ledger, check, budget_seconds)
    identity = outcome_id(ledger)
    if ledger.complete:
        return Settlement(Verdict.COMPLETE, due, identity)
    if now >= due:
        return Settlement(Verdict.INCOMPLETE, due, identity)
    remaining = math.ceil((due - now).total_seconds())
    return Settlement(Verdict.WAIT, due, identity, delay_seconds=min(check_seconds, remaining))
