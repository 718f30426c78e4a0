"""The worker collects the records of a batch concurrently: each record keeps
its own log keys, and the batch's re-enqueues leave in one SendMessageBatch."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from credreports.local.emulator import Emulator
from credreports.local.pipeline import LocalPipeline
from credreports.local.resources import Resources
from credreports.local.seed import seed_organization
from tests.support.ledger import assert_every_account_accounted_for


def log_lines(caplog: pytest.LogCaptureFixture, message: str) -> list[dict[str, Any]]:
    """The worker's log lines with ``message``, with their keys, as CloudWatch
    would receive them (relayed from its containers, credreports.local.containers)."""
    return [
        record.__dict__
        for record in caplog.records
        if record.name == "credreports.local.worker" and record.getMessage() == message
    ]


@pytest.fixture
def send_batches(emulator: Emulator) -> Iterator[list[str]]:
    """Every SendMessageBatch request the emulator receives (from any process)."""
    target = "AmazonSQS.SendMessageBatch"
    seen: list[str] = []

    def layer(
        environ: dict[str, Any], start_response: Callable[..., Any], following: Any
    ) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET") == target:
            seen.append(target)
        answer: Iterable[bytes] = following(environ, start_response)
        return answer

    remove = emulator.intercept(layer)
    yield seen
    remove()


def test_concurrent_records_each_log_their_own_account(
    stack: Resources, send_batches: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Given a batch of 8 accounts collected at the same time
    org = seed_organization(7, ous={})
    pipeline = LocalPipeline(stack)
    caplog.set_level(logging.INFO, logger="credreports.local.worker")

    # When the run completes
    summary = pipeline.start()
    send_batches.clear()
    pipeline.drain()

    # Then every account has its report...
    outcome = assert_every_account_accounted_for(stack.bucket, summary["run_id"], org.ids())
    assert set(outcome.reports) == org.ids()
    # ...each "report stored" line names the account whose key it logs
    stored = log_lines(caplog, "report stored")
    assert len(stored) == len(org.ids())
    for line in stored:
        assert f"account={line['account_id']}/" in line["key"], line
        assert line["run_id"] == summary["run_id"]
    assert {line["account_id"] for line in stored} == org.ids()
    # ...and so does each re-enqueue line, once per account
    requeued = log_lines(caplog, "not ready; re-enqueued")
    assert sorted(line["account_id"] for line in requeued) == sorted(org.ids())
    # ...and the 8 re-enqueues of the batch left in one SendMessageBatch
    assert len(send_batches) == 1
