"""The local loop runs the worker as Lambda's SQS event source does: as many
invocations at once as the template's WorkerMaximumConcurrency, each in a
container (a process) of its own that is reused while warm."""

from __future__ import annotations

import pytest

from credreports.local.pipeline import LocalPipeline, deployed
from credreports.local.resources import Resources
from credreports.local.seed import seed_organization
from tests.support.ledger import assert_every_account_accounted_for


def test_the_worker_runs_as_many_containers_at_once_as_the_template_allows(
    stack: Resources, caplog: pytest.LogCaptureFixture
) -> None:
    # Given 80 accounts: 8 batches of 10 visible at once
    org = seed_organization(79, ous={}, direct=True)
    pipeline = LocalPipeline(stack)
    allowed = deployed()["worker"].concurrency

    # When the run completes
    summary = pipeline.start()
    stats = pipeline.drain(timeout_seconds=300)

    # Then every account has its report...
    outcome = assert_every_account_accounted_for(stack.bucket, summary["run_id"], org.ids())
    assert set(outcome.reports) == org.ids()
    # ...from invocations that ran as many at once as the template allows, never more
    assert stats.peak_concurrency["worker"] == allowed == 5
    workers = pipeline.containers["worker"]
    assert workers.cold_starts == allowed
    assert stats.invocations["worker"] > workers.cold_starts  # warm containers were reused
    # ...each a process whose memory is its own, reported by the pool
    assert 50 < workers.peak_rss_mb < 256
    # ...and whose logs came back to this process, one "report stored" per account
    stored = [
        record
        for record in caplog.records
        if record.name == "credreports.local.worker" and record.getMessage() == "report stored"
    ]
    assert {getattr(record, "account_id", None) for record in stored} == org.ids()
