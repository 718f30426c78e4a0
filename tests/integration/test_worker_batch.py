"""The worker collects the records of a batch concurrently: each record keeps
its own log keys, and the batch's re-enqueues leave in one SendMessageBatch."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from credreports.local.pipeline import LocalPipeline
from credreports.local.resources import Resources
from credreports.local.seed import seed_organization
from credreports.observability import logger
from tests.support.faults import Faults
from tests.support.ledger import assert_every_account_accounted_for


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """The functions' JSON log lines, as CloudWatch would receive them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger._logger.addHandler(handler)
    yield stream
    logger._logger.removeHandler(handler)


def log_lines(output: str, message: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("message") == message]


def test_concurrent_records_each_log_their_own_account(
    stack: Resources, faults: Faults, logs: io.StringIO
) -> None:
    # Given a batch of 8 accounts collected at the same time
    org = seed_organization(7, ous={})
    calls = faults.record("sqs.SendMessageBatch")
    pipeline = LocalPipeline(stack)

    # When the run completes
    summary = pipeline.start()
    calls.clear()
    pipeline.drain()
    output = logs.getvalue()

    # Then every account has its report...
    outcome = assert_every_account_accounted_for(stack.bucket, summary["run_id"], org.ids())
    assert set(outcome.reports) == org.ids()
    # ...each "report stored" line names the account whose key it logs
    stored = log_lines(output, "report stored")
    assert len(stored) == len(org.ids())
    for line in stored:
        assert f"account={line['account_id']}/" in line["key"], line
        assert line["run_id"] == summary["run_id"]
    assert {line["account_id"] for line in stored} == org.ids()
    # ...and so does each re-enqueue line, once per account
    requeued = log_lines(output, "not ready; re-enqueued")
    assert sorted(line["account_id"] for line in requeued) == sorted(org.ids())
    # ...and the 8 re-enqueues of the batch left in one SendMessageBatch
    assert len(calls) == 1
