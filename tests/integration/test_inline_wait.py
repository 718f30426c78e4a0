"""INLINE_WAIT_SECONDS: the worker polls GenerateCredentialReport again within
the invocation, so a report that IAM finishes during the wait is stored
without a re-enqueue; every poll still counts as an attempt."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import boto3
import pytest

from credreports import layout
from credreports.local.pipeline import LocalPipeline
from credreports.local.resources import Resources
from credreports.local.seed import seed_organization
from tests.support import faults as fault_injection
from tests.support.faults import Call, Faults
from tests.support.ledger import assert_every_account_accounted_for

# The inline polls of these tests come this often, not every 2 s.
POLL_SECONDS = "0.05"


@pytest.fixture
def iam_builds_reports() -> Iterator[Callable[[int | None], Counter[str]]]:
    """IAM answers STARTED until an account's ``n``-th poll (never COMPLETE
    with None); returns the polls of each account as IAM saw them."""
    with ExitStack() as stack:

        def complete_on(n: int | None) -> Counter[str]:
            return stack.enter_context(fault_injection.iam_builds_reports(polls=n)).polls

        yield complete_on


def work_queue_sends(stack: Resources, calls: list[Call]) -> list[str]:
    """The SendMessageBatch ``calls`` to the work queue (the worker's
    re-enqueues and the producer's send)."""
    return ["send" for call in calls if call.document["QueueUrl"] == stack.work_queue_url]


def attempts_in_metadata(stack: Resources, run_id: str, account_id: str) -> int:
    head = boto3.client("s3").head_object(
        Bucket=stack.bucket, Key=layout.report_key("", run_id, account_id)
    )
    return int(head["Metadata"]["attempts"])


def test_report_finished_during_the_wait_is_stored_in_one_invocation(
    stack: Resources,
    faults: Faults,
    iam_builds_reports: Callable[[int | None], Counter[str]],
) -> None:
    # Given IAM that finishes each report on the third poll, and a 10 s inline wait
    org = seed_organization(4, ous={})
    polls = iam_builds_reports(3)
    send_message_batch = faults.record("sqs.SendMessageBatch")
    pipeline = LocalPipeline(
        stack, {"INLINE_WAIT_SECONDS": "10", "INLINE_POLL_SECONDS": POLL_SECONDS}
    )

    # When the run completes
    summary = pipeline.start()
    stats = pipeline.drain()

    # Then every account has its report, from one worker invocation and no re-enqueue
    outcome = assert_every_account_accounted_for(stack.bucket, summary["run_id"], org.ids())
    assert set(outcome.reports) == org.ids()
    assert stats.invocations["worker"] == 1
    assert work_queue_sends(stack, send_message_batch) == ["send"]  # the producer's only
    # ...and each report's attempt count is the 3 polls IAM answered
    for account_id in org.ids():
        assert polls[account_id] == 3
        assert attempts_in_metadata(stack, summary["run_id"], account_id) == 3


def test_polls_of_every_invocation_add_up_in_the_attempt_counter(
    stack: Resources, iam_builds_reports: Callable[[int | None], Counter[str]]
) -> None:
    # Given IAM that finishes each report on the 6th poll, and a wait too short for it
    org = seed_organization(2, ous={})
    polls = iam_builds_reports(6)
    # about 3 polls a wait
    pipeline = LocalPipeline(stack, {"INLINE_WAIT_SECONDS": "1", "INLINE_POLL_SECONDS": "0.4"})

    # When the run completes
    summary = pipeline.start()
    stats = pipeline.drain()

    # Then the reports took more than one invocation...
    outcome = assert_every_account_accounted_for(stack.bucket, summary["run_id"], org.ids())
    assert set(outcome.reports) == org.ids()
    assert stats.invocations["worker"] >= 2
    # ...and the attempt count carried across re-enqueues is every poll made
    for account_id in org.ids():
        assert polls[account_id] == 6
        assert attempts_in_metadata(stack, summary["run_id"], account_id) == 6


def test_max_attempts_bounds_the_inline_polls(
    stack: Resources, iam_builds_reports: Callable[[int | None], Counter[str]]
) -> None:
    # Given a report that never completes, MAX_ATTEMPTS=4 and a 30 s inline wait
    org = seed_organization(2, ous={})
    polls = iam_builds_reports(None)
    pipeline = LocalPipeline(
        stack,
        {"MAX_ATTEMPTS": "4", "INLINE_WAIT_SECONDS": "30", "INLINE_POLL_SECONDS": POLL_SECONDS},
    )

    # When the run completes
    summary = pipeline.start()
    stats = pipeline.drain()

    # Then each account failed with REPORT_NOT_READY after exactly 4 polls,
    # within one invocation: the wait ended when the attempts did
    outcome = assert_every_account_accounted_for(stack.bucket, summary["run_id"], org.ids())
    assert set(outcome.failures) == org.ids()
    for account_id, record in outcome.failures.items():
        assert record["reason"] == "REPORT_NOT_READY"
        assert record["attempts"] == 4
        assert polls[account_id] == 4
    assert stats.invocations["worker"] == 1
