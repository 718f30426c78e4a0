"""The worker keeps time (issue 11, item 1): the batch starts no record and
waits for none once the invocation's time left falls below its margin; what
is unfinished goes back to SQS with nothing sent for it, and one record, every
call of it timing out, cannot outlast the function's timeout."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import yaml

from credreports import aws
from credreports.adapters.queue import Outgoing
from credreports.errors import CollectionError
from credreports.logic.worker.batch import SEND_MARGIN_SECONDS, Record, WorkerBatch
from credreports.logic.worker.policy import (
    AccountCollector,
    Decision,
    Outcome,
    OutOfTime,
    RetryPolicy,
)
from tests.support.builders import work_body
from tests.support.fakes import MemoryQueue, MemoryStore, ScriptedReports

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
A = "111111111111"
# AssumeRole, GenerateCredentialReport, GetCredentialReport, PutObject.
CALLS_PER_RECORD = 4


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Requeues:
    """Decides a re-enqueue for every body; "hang" blocks until released,
    "slow" moves the fake clock 100 s on (a record that took long)."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock
        self.release = threading.Event()
        self.finished = threading.Event()
        self.collected: list[str] = []

    def collect_body(self, body: str, deadline: float | None = None) -> Decision:
        self.collected.append(body)
        try:
            if body == "hang":
                self.release.wait(10)
            if body == "slow" and self.clock is not None:
                self.clock.now += 100
            return Decision(Outcome.REQUEUED, requeue=Outgoing(key=body, body=body))
        finally:
            if body == "hang":
                self.finished.set()


def test_a_record_still_running_when_time_runs_short_is_left_and_nothing_is_sent_for_it() -> None:
    # Given a batch whose second record hangs in an AWS call
    work, dead = MemoryQueue(), MemoryQueue()
    collector = Requeues()
    batch = WorkerBatch(collector=collector, work_queue=work, dead_letters=dead)
    records = [Record("m1", "fast-1"), Record("m2", "hang"), Record("m3", "fast-2")]

    # When the invocation has the margin and 0.3 s left
    started = time.monotonic()
    retry = batch.handle(records, time_left=SEND_MARGIN_SECONDS + 0.3)
    took = time.monotonic() - started

    # Then the handler returns at the budget, not when the call ends
    assert took < 2
    # ...the hanging record goes back to SQS, the others' re-enqueues were sent
    assert retry == ["m2"]
    assert [m.key for m in work.sent] == ["fast-1", "fast-2"]
    # ...and when the call finally ends, nothing is sent for it
    collector.release.set()
    assert collector.finished.wait(5)
    time.sleep(0.05)
    assert [m.key for m in work.sent] == ["fast-1", "fast-2"]


def test_no_record_starts_once_the_budget_has_ended() -> None:
    # Given records collected one at a time, the first of which takes long
    clock = FakeClock()
    work, dead = MemoryQueue(), MemoryQueue()
    collector = Requeues(clock)
    batch = WorkerBatch(
        collector=collector, work_queue=work, dead_letters=dead, concurrency=1, clock=clock
    )
    records = [Record("m1", "slow"), Record("m2", "next"), Record("m3", "last")]

    # When the budget (60 s after the margin) ends during the first record
    retry = batch.handle(records, time_left=SEND_MARGIN_SECONDS + 60)

    # Then the first record's decision is sent, the others never start
    assert collector.collected == ["slow"]
    assert [m.key for m in work.sent] == ["slow"]
    assert retry == ["m2", "m3"]


def test_without_a_time_left_every_record_is_waited_for() -> None:
    work, dead = MemoryQueue(), MemoryQueue()
    batch = WorkerBatch(collector=Requeues(), work_queue=work, dead_letters=dead)
    assert batch.handle([Record("m1", "a"), Record("m2", "b")]) == []
    assert sorted(m.key for m in work.sent) == ["a", "b"]


class Clock:
    """The policy's monotonic clock and sleep: sleeping moves it."""

    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def policy_collector(
    script: list[str | CollectionError], clock: Clock, inline_wait: float = 0
) -> tuple[AccountCollector, ScriptedReports, MemoryStore]:
    reports = ScriptedReports({A: script})
    store = MemoryStore()
    policy = RetryPolicy(max_attempts=45, retry_delay_seconds=60, inline_wait_seconds=inline_wait)
    return AccountCollector(reports, store, policy, clock.sleep, clock.monotonic), reports, store


def test_the_inline_wait_ends_at_the_deadline_and_the_account_is_requeued() -> None:
    # Given an inline wait of 30 s, and 5 s left before the deadline
    clock = Clock()
    collector, reports, _ = policy_collector(["STARTED"], clock, inline_wait=30)

    decision = collector.collect_body(work_body(A), deadline=5)

    # Then the wait stops at the deadline and the account is re-enqueued, not lost
    assert decision.outcome is Outcome.REQUEUED
    assert clock.now <= 5
    assert reports.polls[A] == 3  # at 0, 2 and 4 s


def test_no_call_starts_after_the_deadline() -> None:
    # Given a report that is ready, and a deadline already past
    clock = Clock()
    clock.now = 10
    collector, reports, store = policy_collector(["COMPLETE"], clock)

    # Then the record is abandoned before its first call, and nothing is stored
    try:
        collector.collect_body(work_body(A), deadline=5)
    except OutOfTime:
        pass
    else:
        raise AssertionError("a record past its deadline must not be collected")
    assert reports.polls == {} and store.objects == {}


def test_one_record_with_every_call_timing_out_fits_the_worker_timeout() -> None:
    # The worker's timeout, as deployed
    template = yaml.load(TEMPLATE.read_text(), Loader=_CloudFormationLoader)  # noqa: S506 - a SafeLoader
    timeout = template["Resources"]["WorkerFunction"]["Properties"]["Timeout"]

    # Every call of a record on every attempt waits its connect and read timeouts
    worst = CALLS_PER_RECORD * aws.worst_call_seconds(aws.WORKER_CALL_CONFIG)

    assert worst <= timeout - SEND_MARGIN_SECONDS, (worst, timeout)


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads !Ref, !Sub, ... as plain values (only literals are read here)."""


_CloudFormationLoader.add_multi_constructor("!", lambda loader, suffix, node: None)
