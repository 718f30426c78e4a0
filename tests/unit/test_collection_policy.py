"""The worker's per-account policy (credreports.logic.worker.policy), with a
scripted IAM, a bucket in memory and a clock that only moves when slept on."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from credreports.errors import (
    CollectionError,
    ReportNotReady,
    RetryableError,
    RoleAssumeDenied,
    StorageDenied,
    Throttled,
)
from credreports.logic.worker.policy import AccountCollector, Decision, Outcome, RetryPolicy
from credreports.models.codes import Reason
from tests.support.builders import work_body
from tests.support.fakes import MemoryStore, ScriptedReports

A = "111111111111"


@dataclass
class Clock:
    """time.monotonic and time.sleep for the policy: sleeping moves it."""

    now: float = 0.0

    def __post_init__(self) -> None:
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def collector(
    script: list[str | CollectionError],
    *,
    max_attempts: int = 45,
    inline_wait: float = 0,
    clock: Clock | None = None,
) -> tuple[AccountCollector, ScriptedReports, MemoryStore]:
    reports = ScriptedReports({A: script})
    store = MemoryStore()
    clock = clock or Clock()
    policy = RetryPolicy(
        max_attempts=max_attempts,
        retry_delay_seconds=60,
        inline_wait_seconds=inline_wait,
        inline_poll_seconds=2,
    )
    return AccountCollector(reports, store, policy, clock.sleep, clock.monotonic), reports, store


def dead_letter(decision: Decision) -> dict[str, object]:
    assert decision.outcome is Outcome.FAILED and decision.dead_letter is not None
    body: dict[str, object] = json.loads(decision.dead_letter.body)
    return body


def test_a_complete_report_is_stored_with_its_attempt_count() -> None:
    # Given IAM that has the report on the first poll of attempt 3
    account, _, store = collector(["COMPLETE"])

    # When the message is collected
    decision = account.collect_body(work_body(A, attempt=2))

    # Then the report is stored once, nothing is sent, and it says 3 polls
    assert decision == Decision(Outcome.STORED)
    (key,) = store.metadata
    assert store.metadata[key]["attempts"] == "3"
    assert store.objects[key].startswith(b"user,arn")


def test_not_ready_requeues_with_the_next_attempt_and_the_retry_delay() -> None:
    account, _, store = collector(["STARTED"])

    decision = account.collect_body(work_body(A, attempt=4))

    assert decision.outcome is Outcome.REQUEUED and decision.requeue is not None
    assert json.loads(decision.requeue.body)["attempt"] == 5
    assert decision.requeue.delay_seconds == 60 and decision.requeue.key == A
    assert not store.objects


@pytest.mark.parametrize(
    ("last_error", "reason"),
    [
        # A 5xx that outlived botocore's retries: the report was never got.
        (RetryableError("GetCredentialReport: InternalFailure"), Reason.REPORT_NOT_READY),
        # A retryable error never ends under a permanent reason.
        (RetryableError("PutObject: 503", reason=Reason.STORAGE_DENIED), Reason.REPORT_NOT_READY),
        (ReportNotReady("GenerateCredentialReport: STARTED"), Reason.REPORT_NOT_READY),
        (Throttled("GenerateCredentialReport: LimitExceeded"), Reason.THROTTLED),
    ],
)
def test_the_last_attempt_gives_up_with_the_reason_of_its_last_answer(
    last_error: CollectionError, reason: Reason
) -> None:
    # Given the 45th and last attempt, answered with a retryable error
    account, _, _ = collector([last_error], max_attempts=45)

    # When it is collected
    letter = dead_letter(account.collect_body(work_body(A, attempt=44)))

    # Then the account goes to the dead-letter queue, saying how many attempts it had
    assert letter["failure"]["reason"] == reason.value  # type: ignore[index]
    assert letter["attempt"] == 45
    assert "gave up after 45 attempts" in letter["failure"]["detail"]  # type: ignore[index]


@pytest.mark.parametrize(
    "error", [RoleAssumeDenied("AssumeRole: AccessDenied"), StorageDenied("PutObject: KMS")]
)
def test_a_permanent_error_fails_at_once(error: CollectionError) -> None:
    account, reports, _ = collector([error])

    letter = dead_letter(account.collect_body(work_body(A)))

    assert letter["failure"]["reason"] == error.reason.value  # type: ignore[index]
    assert letter["failure"]["detail"] == error.detail  # type: ignore[index]
    assert reports.polls[A] == 1


def test_storage_refused_after_the_report_was_fetched_is_a_failure() -> None:
    account, reports, store = collector(["COMPLETE"])
    reports.fetch_error = StorageDenied("PutObject: AccessDenied")

    letter = dead_letter(account.collect_body(work_body(A)))

    assert letter["failure"]["reason"] == "STORAGE_DENIED"  # type: ignore[index]
    assert not store.objects


def test_an_empty_report_is_retried_never_stored() -> None:
    account, reports, store = collector(["COMPLETE"])
    reports.fetch_error = ReportNotReady("GetCredentialReport returned an empty report")

    decision = account.collect_body(work_body(A))

    assert decision.outcome is Outcome.REQUEUED and not store.objects


def test_the_inline_wait_stores_a_report_finished_during_it() -> None:
    # Given IAM that finishes on the third poll, and a 10 s inline wait
    clock = Clock()
    account, reports, store = collector(
        ["STARTED", "INPROGRESS", "COMPLETE"], inline_wait=10, clock=clock
    )

    # When the message is collected
    decision = account.collect_body(work_body(A))

    # Then one invocation polled three times, 2 s apart, and stored the report
    assert decision.outcome is Outcome.STORED
    assert reports.polls[A] == 3 and clock.slept == [2, 2]
    assert next(iter(store.metadata.values()))["attempts"] == "3"


def test_the_inline_wait_ends_at_its_bound_then_requeues() -> None:
    # Given a report that is never ready and a 5 s inline wait polled every 2 s
    clock = Clock()
    account, reports, _ = collector(["STARTED"], inline_wait=5, clock=clock)

    decision = account.collect_body(work_body(A))

    # Then it waited exactly 5 s (2 + 2 + 1), polled 4 times, and re-enqueued attempt 4
    assert clock.slept == [2, 2, 1] and reports.polls[A] == 4
    assert decision.requeue is not None and json.loads(decision.requeue.body)["attempt"] == 4


def test_max_attempts_bounds_the_inline_polls() -> None:
    # Given 3 attempts in all and an inline wait far longer than 3 polls
    account, reports, _ = collector(["STARTED"], max_attempts=3, inline_wait=30)

    letter = dead_letter(account.collect_body(work_body(A)))

    assert reports.polls[A] == 3
    assert letter["attempt"] == 3
    assert letter["failure"]["reason"] == "REPORT_NOT_READY"  # type: ignore[index]


def test_a_body_that_is_not_a_message_goes_to_the_dead_letter_queue_as_it_came() -> None:
    account, reports, _ = collector(["COMPLETE"])
    body = work_body("12345")

    decision = account.collect_body(body)

    assert decision.outcome is Outcome.REJECTED and decision.dead_letter is not None
    assert decision.dead_letter.body == body and not reports.polls


def test_an_error_on_an_inline_poll_counts_that_poll() -> None:
    # Given IAM that throttles the second poll of an inline wait
    account, reports, _ = collector(
        ["STARTED", Throttled("GenerateCredentialReport: Throttling")], inline_wait=10
    )

    decision = account.collect_body(work_body(A))

    # Then both polls count: the re-enqueued message carries attempt 2
    assert reports.polls[A] == 2
    assert decision.requeue is not None and json.loads(decision.requeue.body)["attempt"] == 2
