"""The chaos run shared by the 300-account test and `make soak` (2,000 accounts):
throttled IAM/STS calls, worker invocations dying mid-batch, duplicate
deliveries, two accounts whose role is denied and one whose report is never
ready. Every fault is injected by tests/support/faults.py."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from credreports.local import resources
from credreports.local.emulator import Emulator
from credreports.local.pipeline import LocalPipeline
from credreports.local.seed import seed_organization
from tests.support.builders import start_scheduled
from tests.support.faults import Faults
from tests.support.ledger import RunOutcome, assert_every_account_accounted_for

SCHEDULED_TIME = "2026-11-23T02:00:00Z"
RUN_ID = "20261123T020000Z"


@dataclass
class ChaosResult:
    accounts: set[str]
    denied: set[str]
    stuck: set[str]
    outcome: RunOutcome
    fired: Counter[str]
    wall_seconds: float
    enqueued: int
    failures_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return len(self.accounts - set(self.outcome.reports) - set(self.outcome.failures))

    def lines(self) -> list[str]:
        return [
            f"accounts             {len(self.accounts)}",
            f"reports              {len(set(self.outcome.reports))}",
            "failures by reason   "
            + (", ".join(f"{k}={v}" for k, v in sorted(self.failures_by_reason.items())) or "-"),
            f"lost                 {self.lost}",
            f"duplicates resolved  {len(self.outcome.resolved)} accounts with a report and a"
            f" failure (report wins); {self.fired['duplicate_delivery']} duplicate deliveries",
            f"faults fired         {dict(sorted(self.fired.items()))}",
            f"wall time            {self.wall_seconds:.1f} s",
        ]


def run_chaos(
    emulator: Emulator,
    members: int,
    *,
    throttle_rate: float = 0.3,
    crash_rate: float = 0.1,
    duplicate_rate: float = 0.05,
    max_attempts: int = 15,
    timeout_seconds: float = 3600,
) -> ChaosResult:
    """Run one scheduled run over ``members`` + 1 accounts under faults
    injected into ``emulator`` and check the invariant; returns what happened."""
    with Faults(emulator) as faults:
        return _run(
            faults,
            members,
            throttle_rate=throttle_rate,
            crash_rate=crash_rate,
            duplicate_rate=duplicate_rate,
            max_attempts=max_attempts,
            timeout_seconds=timeout_seconds,
        )


def _run(
    faults: Faults,
    members: int,
    *,
    throttle_rate: float,
    crash_rate: float,
    duplicate_rate: float,
    max_attempts: int,
    timeout_seconds: float,
) -> ChaosResult:
    # Longer than a batch takes with throttled calls and five containers on two
    # cores: a message comes back when its invocation died, not while it runs.
    stack = resources.create("chaos", visibility_timeout=10, max_receive_count=5)
    org = seed_organization(members, direct=True)
    accounts = sorted(org.ids())
    denied, stuck = set(accounts[10:12]), {accounts[20]}
    faults.deny("sts.AssumeRole", denied)
    faults.never_ready(stuck)
    faults.throttle({"sts.AssumeRole", "iam.GetCredentialReport"}, rate=throttle_rate)
    faults.throttle({"iam.GenerateCredentialReport"}, rate=throttle_rate, code="LimitExceeded")
    faults.duplicate_deliveries(stack.work_queue_url, rate=duplicate_rate)
    pipeline = LocalPipeline(stack, {"MAX_ATTEMPTS": str(max_attempts), "LOG_LEVEL": "WARNING"})
    worker = pipeline.loop.subscriptions["worker"]
    worker.handler = faults.crash_mid_batch(worker.handler, rate=crash_rate)

    started = time.monotonic()
    summary = start_scheduled(pipeline, SCHEDULED_TIME)
    pipeline.drain(timeout_seconds=timeout_seconds)
    wall = time.monotonic() - started

    outcome = assert_every_account_accounted_for(
        stack.bucket, RUN_ID, set(accounts), duplicates=True
    )
    reasons = Counter(
        record["reason"]
        for account, record in outcome.failures.items()
        if account not in outcome.resolved
    )
    return ChaosResult(
        accounts=set(accounts),
        denied=denied,
        stuck=stuck,
        outcome=outcome,
        fired=faults.fired,
        wall_seconds=wall,
        enqueued=summary["enqueued"],
        failures_by_reason=dict(reasons),
    )
