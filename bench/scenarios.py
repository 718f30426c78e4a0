"""Each benchmark: set up on the emulator, run the real handlers, return figures."""

from __future__ import annotations

import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
from tests.support import emulator_shortcuts
from tests.support.faults import iam_builds_reports

from bench import fixtures
from bench.emulator_process import call
from bench.instruments import (
    EVENT_SOURCE_OPERATIONS,
    Latency,
    RequestCounter,
    TimedHandler,
    default_session,
)
from credreports import aws, dependencies, layout
from credreports.local import checkout, resources
from credreports.local.emulator import Emulator
from credreports.local.event_source import LocalContext
from credreports.local.pipeline import LocalPipeline
from credreports.local.seed import no_users, seed_organization

RUN_ID = "20261123T020000Z"
REPO = Path(__file__).resolve().parent.parent


def fresh(emulator: Emulator) -> None:
    """An empty emulator and a cold container: clients are rebuilt (with the
    bench's hooks) on first use."""
    emulator.reset()
    dependencies.reset()


def floor_requests(accounts: int, deliveries: int = 2, batch: int = 10) -> dict[str, float]:
    """The fewest requests per account the design allows, for the happy path
    where the report completes on the second poll: one AssumeRole, two
    Generate, one Get, one Put, one read of the report by the summarizer, and
    each account's share of the batched and per-run calls (the OU walk with
    pages of 20 accounts, the manifest, SendMessageBatch of 10, per delivery
    one ReceiveMessage and one DeleteMessageBatch per 10; the run check sent,
    received and deleted once, the summarizer's listings of the run, its
    three documents and its claim, one SNS message and one event)."""
    batches = math.ceil(accounts / batch)
    per_run = 1 / accounts
    share = {
        "sts.AssumeRole": 1.0,
        "iam.GenerateCredentialReport": 2.0,
        "iam.GetCredentialReport": 1.0,
        # The report; the run's manifest (ENQUEUING, then ENQUEUED); the
        # summarizer's findings, report and summary, and its claim (created,
        # then each channel recorded).
        "s3.PutObject": 1.0 + 8 * per_run,
        # The summarizer reads every report, and the manifest.
        "s3.GetObject": 1.0 + per_run,
        # The run's reports, failures and replays, listed by the summarizer.
        "s3.ListObjectsV2": (math.ceil(accounts / 1000) + 2) * per_run,
        "organizations.ListRoots": per_run,
        "organizations.ListOrganizationalUnitsForParent": per_run,
        "organizations.ListAccountsForParent": math.ceil(accounts / 20) / accounts,
        # The producer's send, each re-enqueue of a batch, and the run check.
        "sqs.SendMessageBatch": batches * deliveries / accounts + per_run,
        "sqs.ReceiveMessage": batches * deliveries / accounts + per_run,
        "sqs.DeleteMessageBatch": batches * deliveries / accounts + per_run,
        "sns.Publish": per_run,
        "eventbridge.PutEvents": per_run,
    }
    return share


def _per_account(calls: Counter[str], accounts: int) -> dict[str, float]:
    return {name: calls[name] / accounts for name in sorted(calls)}


def happy_path(
    emulator: Emulator,
    counter: RequestCounter,
    accounts: int,
    environment: dict[str, str] | None = None,
    latency: float = 0.0,
    timeout: float = 600,
    concurrency: int | None = None,
    report_seconds: float | None = None,
) -> dict[str, Any]:
    """A whole run: producer, worker batches of 10 through the local loop, until
    the queues are empty. Every account must end with a report. With
    ``report_seconds``, IAM takes that long to build each report, and the
    latency of each account (first Generate to report stored) is measured."""
    fresh(emulator)
    ids = sorted(seed_organization(accounts - 1, ous={}, direct=True).ids())  # + management
    emulator_shortcuts.aws_like_account_listing()
    stack = resources.create("bench", visibility_timeout=30, max_receive_count=3)
    delay = Latency(latency) if latency else None
    stored_at: dict[str, float] = {}

    def note_stored(params: dict[str, Any], **_: Any) -> None:
        if params["Key"].startswith("reports/"):
            stored_at[params["Key"].split("account=")[1].split("/")[0]] = time.perf_counter()

    session = default_session()
    session.events.register(
        "before-parameter-build.s3.PutObject", note_stored, unique_id="bench-stored"
    )
    cleanup = ExitStack()
    first_generate: dict[str, float] = {}
    if report_seconds is not None:
        first_generate = cleanup.enter_context(
            iam_builds_reports(seconds=report_seconds)
        ).first_poll
    try:
        pipeline = LocalPipeline(stack, {"RETRY_DELAY_SECONDS": "0", **(environment or {})})
        if concurrency:
            dependencies.worker().concurrency = concurrency
        worker = TimedHandler(pipeline.loop.subscriptions["worker"].handler)
        pipeline.loop.subscriptions["worker"].handler = worker
        mark = counter.snapshot()
        started = time.perf_counter()
        summary = pipeline.start()
        producer_calls, _ = counter.since(mark)
        stats = pipeline.drain(timeout_seconds=timeout)
        elapsed = time.perf_counter() - started
        calls, empty_receives = counter.since(mark)
    finally:
        if delay:
            delay.close()
        session.events.unregister("before-parameter-build.s3.PutObject", unique_id="bench-stored")
        cleanup.close()
    latencies = [stored_at[a] - first_generate[a] for a in first_generate if a in stored_at]
    # Every account ended as a report, and none as a failure.
    s3 = aws.client("s3")
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket)
        for item in page.get("Contents", [])
    ]
    reports = [key for key in keys if key.startswith("reports/")]
    failures = [key for key in keys if key.startswith("failures/")]
    assert summary["enqueued"] == len(ids) == accounts, summary
    assert len(reports) == accounts and not failures, (len(reports), failures)
    # The loop's idle polls (empty receives, queue-depth checks) are Lambda's
    # continuous polling, a fixed cost per queue and day, not per account.
    idle = Counter(
        {
            "sqs.ReceiveMessage": empty_receives,
            "sqs.GetQueueAttributes": calls["sqs.GetQueueAttributes"],
        }
    )
    per_run = calls - idle
    invocations = stats.invocations.get("worker", 0) + stats.invocations.get("dlq_handler", 0)
    return {
        "accounts": accounts,
        "concurrency": dependencies.worker().concurrency,
        "environment": environment or {},
        "latency_per_call_seconds": latency,
        "wall_seconds": elapsed,
        "accounts_per_second": accounts / elapsed,
        "requests_by_api": dict(sorted(per_run.items())),
        "requests_per_account_by_api": _per_account(per_run, accounts),
        "requests_per_account": sum(per_run.values()) / accounts,
        "producer_requests": dict(sorted(producer_calls.items())),
        "event_source_requests": sum(per_run[name] for name in EVENT_SOURCE_OPERATIONS),
        "idle_poll_requests": sum(idle.values()),
        "worker_invocations": stats.invocations.get("worker", 0),
        # The producer's one invocation is counted too.
        "invocations_per_account": (invocations + 1) / accounts,
        "worker_durations_seconds": worker.durations,
        "worker_billed_ms_total": sum(math.ceil(d * 1000) for d in worker.durations),
        "billed_seconds_per_account": sum(math.ceil(d * 1000) for d in worker.durations)
        / 1000
        / accounts,
        "report_seconds": report_seconds,
        "latency_seconds": (
            {
                "median": statistics.median(latencies),
                "max": max(latencies),
                "note": "an account's first GenerateCredentialReport to its report stored",
            }
            if latencies
            else None
        ),
    }


def worker_batch(
    emulator: Emulator,
    size: int,
    latency: float,
    repeats: int,
    environment: dict[str, str],
    concurrency: int | None = None,
) -> dict[str, Any]:
    """The worker handler on one batch of ``size`` first-attempt messages and
    then on their second delivery, with ``latency`` added to every AWS call.
    Each repeat starts cold (new clients, no cached sessions) on fresh accounts."""
    fresh(emulator)
    stack = resources.create("bench", visibility_timeout=30)
    os.environ.update(stack.environment(**{"RETRY_DELAY_SECONDS": "0", **environment}))
    lambda_handler = checkout.lambda_handler("worker.app.lambda_handler")

    queue_arn = aws.client("sqs").get_queue_attributes(
        QueueUrl=stack.work_queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    rng = random.Random(size)  # noqa: S311 - test data, not secrets
    first: list[float] = []
    second: list[float] = []
    delay = Latency(latency)
    try:
        for _ in range(repeats):
            dependencies.reset()
            collector = dependencies.worker()  # the cold start is not the batch's time
            if concurrency:
                collector.concurrency = concurrency
            ids = fixtures.random_account_ids(size, rng)
            event = fixtures.worker_event(ids, RUN_ID, queue_arn)
            for durations in (first, second):
                started = time.perf_counter()
                response = lambda_handler(event, LocalContext(function_name="worker"))
                durations.append(time.perf_counter() - started)
                assert not response["batchItemFailures"], response
                # The second delivery is the re-enqueued message, attempt 1.
                event = fixtures.worker_event(ids, RUN_ID, queue_arn)
                for record in event["Records"]:
                    body = json.loads(record["body"])
                    record["body"] = json.dumps({**body, "attempt": 1})
    finally:
        delay.close()
    return {
        "size": size,
        "concurrency": dependencies.worker().concurrency,
        "latency_per_call_seconds": latency,
        "first_delivery_seconds": first,
        "second_delivery_seconds": second,
        "median_seconds": statistics.median(a + b for a, b in zip(first, second, strict=True)),
    }


def worker_memory(
    emulator: Emulator,
    accounts: int,
    users: int,
    environment: dict[str, str],
    follow_up_batches: int = 0,
    dynamic_mmap_threshold: bool = False,
    cached_clients: int | None = None,
) -> dict[str, Any]:
    """Peak RSS of a worker process handling one batch whose reports hold
    ``users`` users each, then ``follow_up_batches`` batches of 10 new accounts
    with small reports (a warm container moving through an organization). The
    worker runs in its own process (bench.memory_probe), with the same
    environment as on Lambda, over HTTP or HTTPS as ``emulator`` serves.
    ``dynamic_mmap_threshold``: the ablation of credreports.memory;
    ``cached_clients``: another size of the IAM client cache."""
    fresh(emulator)
    stack = resources.create("bench", visibility_timeout=30)
    rng = random.Random(5000)  # noqa: S311 - test data, not secrets
    ids = fixtures.random_account_ids(accounts, rng)
    later = [fixtures.random_account_ids(10, rng) for _ in range(follow_up_batches)]
    sizes = call(
        emulator,
        fixtures.serve_generated_reports,
        specs=[(a, users, i) for i, a in enumerate(ids)]
        + [(a, 20, 0) for batch in later for a in batch],
    )
    queue_arn = aws.client("sqs").get_queue_attributes(
        QueueUrl=stack.work_queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    events = [fixtures.worker_event(batch, RUN_ID, queue_arn) for batch in [ids, *later]]
    result = _probe(
        {
            "mode": "batches",
            "events": events,
            "dynamic_mmap_threshold": dynamic_mmap_threshold,
            "cached_clients": cached_clients,
        },
        stack.environment(**environment),
    )
    assert result["failed"] == 0, result
    s3 = aws.client("s3")
    stored = [
        s3.head_object(Bucket=stack.bucket, Key=layout.report_key("", RUN_ID, account))[
            "ContentLength"
        ]
        for account in ids
    ]
    assert stored == [sizes[a] for a in ids], "a stored report differs"
    result.update(
        accounts=accounts,
        users_per_report=users,
        report_bytes=statistics.median(stored),
        follow_up_accounts=10 * follow_up_batches,
        dynamic_mmap_threshold=dynamic_mmap_threshold,
        endpoint_scheme=_scheme(emulator),
    )
    return result


def worker_client_cost(emulator: Emulator, clients: int, step: int) -> dict[str, Any]:
    """RSS of a worker process as its IAM adapter makes and uses one client per
    account for ``clients`` accounts (each holds its own connection pool and,
    over HTTPS, its own TLS context with the CA bundle loaded): the cost of
    one more cached client, from the first client to the adapter's cache size."""
    fresh(emulator)
    stack = resources.create("bench", visibility_timeout=30)
    rng = random.Random(32)  # noqa: S311 - test data, not secrets
    ids = fixtures.random_account_ids(clients, rng)
    result = _probe(
        {"mode": "clients", "accounts": ids, "run_id": RUN_ID, "step": step, "connections": 32},
        stack.environment(),
    )
    rss = result["rss_after_clients_mb"]
    cached = min(result["cached_clients_limit"], clients)
    result.update(
        clients=clients,
        endpoint_scheme=_scheme(emulator),
        # From the first client (the IAM model loaded once) to a full cache.
        mb_per_cached_client=(rss[str(cached)] - rss["1"]) / (cached - 1),
    )
    return result


def producer_memory(emulator: Emulator, accounts: int) -> dict[str, Any]:
    """Peak RSS of a producer process over an organization of ``accounts``
    (pages of 20, as AWS) with its function's memory and timeout; the emulator
    must be this process's (the seeding and the queue emptier reach into it)."""
    fresh(emulator)
    seed_organization(accounts - 1, ous={}, users=no_users, direct=True)
    emulator_shortcuts.aws_like_account_listing()
    stack = resources.create("bench")
    emptier = emulator_shortcuts.QueueEmptier(stack.work_queue_url.rsplit("/", 1)[1])
    try:
        result = _probe(
            {
                "mode": "invocation",
                "handler": "producer.app.lambda_handler",
                "event": {},
                "memory_limit_in_mb": 512,
                "timeout_seconds": 900,
            },
            stack.environment(),
        )
    finally:
        received = emptier.stop()
    assert result["response"]["enqueued"] == received == accounts, (result, received)
    return {**result, "accounts": accounts, "endpoint_scheme": _scheme(emulator)}


def dlq_handler_memory(emulator: Emulator, runs: int) -> dict[str, Any]:
    """Peak RSS of a dlq_handler process (a new one each of ``runs`` times) over
    a batch of 10 dead letters: failure records written, one digest published."""
    fresh(emulator)
    stack = resources.create("bench")
    queue_arn = aws.client("sqs").get_queue_attributes(
        QueueUrl=stack.dead_letter_queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    rng = random.Random(10)  # noqa: S311 - test data, not secrets
    peaks: list[float] = []
    for _ in range(runs):
        event = fixtures.worker_event(fixtures.random_account_ids(10, rng), RUN_ID, queue_arn)
        result = _probe(
            {
                "mode": "invocation",
                "handler": "dlq_handler.app.lambda_handler",
                "event": event,
                "memory_limit_in_mb": 256,
                "timeout_seconds": 60,
            },
            stack.environment(),
        )
        assert not result["response"]["batchItemFailures"], result
        peaks.append(result["peak_rss_mb"])
    failures = [key for key in _keys(stack.bucket) if key.startswith("failures/")]
    assert len(failures) == 10 * runs, len(failures)
    return {
        **result,
        "peak_rss_mb": statistics.median(peaks),
        "peak_rss_mb_runs": peaks,
        "endpoint_scheme": _scheme(emulator),
    }


def _scheme(emulator: Emulator) -> str:
    return emulator.endpoint_url.split(":", 1)[0]


def _probe(request: dict[str, Any], environment: dict[str, str]) -> dict[str, Any]:
    """bench.memory_probe in a process of its own, with the function's environment."""
    env = {**os.environ, **environment, "PYTHONPATH": str(REPO)}
    probe = subprocess.run(
        [sys.executable, "-m", "bench.memory_probe"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
        check=False,
    )
    if probe.returncode != 0:
        raise RuntimeError(f"memory probe failed: {probe.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(probe.stdout.strip().splitlines()[-1])
    return result


def producer_10000(emulator: Emulator, counter: RequestCounter, accounts: int) -> dict[str, Any]:
    """The producer over an organization of ``accounts`` seeded in-process,
    listing 20 accounts a page as AWS does."""
    fresh(emulator)
    seeding = time.perf_counter()
    seed_organization(accounts - 1, ous={}, users=no_users, direct=True)
    seeded_seconds = time.perf_counter() - seeding
    emulator_shortcuts.aws_like_account_listing()
    stack = resources.create("bench")
    os.environ.update(stack.environment())
    dependencies.reset()
    lambda_handler = checkout.lambda_handler("producer.app.lambda_handler")

    emptier = emulator_shortcuts.QueueEmptier(stack.work_queue_url.rsplit("/", 1)[1])
    mark = counter.snapshot()
    started = time.perf_counter()
    try:
        summary = lambda_handler({}, LocalContext(function_name="producer", timeout_seconds=900))
    finally:
        received = emptier.stop()
    elapsed = time.perf_counter() - started
    calls, _ = counter.since(mark)
    assert summary["enqueued"] == accounts, summary
    assert received == accounts, received
    return {
        "accounts": accounts,
        "seconds": elapsed,
        "seed_seconds": seeded_seconds,
        "requests": dict(sorted(calls.items())),
    }


def request_floor_latency(emulator: Emulator, samples: int) -> dict[str, Any]:
    """How fast this emulator serves the minimal sequence for one account, made
    one call after another by one client: AssumeRole, Generate twice, Get, Put,
    and a tenth of a SendMessageBatch, ReceiveMessage and DeleteMessageBatch
    for each of the two deliveries (and the producer's send)."""
    fresh(emulator)
    stack = resources.create("bench", visibility_timeout=30)
    sts, s3, sqs = (boto3.client(name) for name in ("sts", "s3", "sqs"))
    rng = random.Random(7)  # noqa: S311 - test data, not secrets
    per_account: list[float] = []
    for account_id in fixtures.random_account_ids(samples, rng):
        started = time.perf_counter()
        issued = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/credreports-member",
            RoleSessionName="floor",
        )["Credentials"]
        assumed = time.perf_counter()
        iam = boto3.client(
            "iam",
            aws_access_key_id=issued["AccessKeyId"],
            aws_secret_access_key=issued["SecretAccessKey"],
            aws_session_token=issued["SessionToken"],
        )
        created = time.perf_counter()
        iam.generate_credential_report()
        iam.generate_credential_report()
        content = iam.get_credential_report()["Content"]
        s3.put_object(Bucket=stack.bucket, Key=f"floor/{account_id}.csv", Body=content)
        # Building the IAM client is CPU in the caller, not the server's latency.
        per_account.append((assumed - started) + (time.perf_counter() - created))
    sqs_rounds: list[float] = []
    for _ in range(max(3, samples // 5)):
        started = time.perf_counter()
        sqs.send_message_batch(
            QueueUrl=stack.work_queue_url,
            Entries=[{"Id": str(i), "MessageBody": "x" * 180} for i in range(10)],
        )
        messages = sqs.receive_message(QueueUrl=stack.work_queue_url, MaxNumberOfMessages=10)[
            "Messages"
        ]
        sqs.delete_message_batch(
            QueueUrl=stack.work_queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ],
        )
        sqs_rounds.append(time.perf_counter() - started)
    account_seconds = statistics.median(per_account)
    # Per account: a tenth of two rounds (send, receive, delete): the producer's
    # send and the first delivery, the re-enqueue and the second delivery.
    sqs_share = statistics.median(sqs_rounds) * 2 / 10
    seconds = account_seconds + sqs_share
    return {
        "seconds_per_account": seconds,
        "accounts_per_second": 1 / seconds,
        "note": "one client per service, one call after another; IAM client creation excluded",
    }


@contextmanager
def without_credential_cache() -> Iterator[None]:
    """Every use of a member session assumes the role again (the ablation of
    the per-account credential cache)."""
    from credreports.adapters import credential_report

    saved = credential_report.REFRESH_MARGIN
    credential_report.REFRESH_MARGIN = timedelta(days=1)
    try:
        yield
    finally:
        credential_report.REFRESH_MARGIN = saved


def batching_window(
    emulator: Emulator,
    windows: tuple[float, ...],
    accounts: int = 100,
    spread_seconds: float = 10.0,
    retry_delay: int = 5,
) -> dict[str, Any]:
    """Worker invocations per account when messages arrive spread over time, as
    re-enqueues do on AWS (each batch's re-enqueues come back with the retry
    delay, interleaved with everyone else's), for each batching window. The
    first attempts trickle in over ``spread_seconds``; moto completes a report
    on its second poll, so each account is delivered twice."""
    results: dict[str, Any] = {}
    for window in windows:
        fresh(emulator)
        ids = [f"{200000000000 + index}" for index in range(accounts)]
        # Visibility longer than a window: gathered records must not come back meanwhile.
        stack = resources.create("bench", visibility_timeout=60, max_receive_count=3)
        pipeline = LocalPipeline(
            stack,
            {"RETRY_DELAY_SECONDS": str(retry_delay)},
            worker_batching_window_seconds=window,
        )
        feeder = _Trickle(stack.work_queue_url, ids, spread_seconds)
        started = time.perf_counter()
        feeder.start()
        while feeder.is_alive():
            pipeline.drain(timeout_seconds=600)
        stats = pipeline.drain(timeout_seconds=600)
        elapsed = time.perf_counter() - started
        reports = [
            key
            for key in _keys(stack.bucket)
            if key.startswith("reports/") and layout.account_from_key(key) in set(ids)
        ]
        assert len(reports) == accounts, (len(reports), accounts)
        invocations = stats.invocations.get("worker", 0)
        results[f"{window:g}"] = {
            "window_seconds": window,
            "worker_invocations": invocations,
            "worker_invocations_per_account": invocations / accounts,
            "records_per_invocation": stats.records.get("worker", 0) / invocations,
            "wall_seconds": elapsed,
        }
    return {
        "accounts": accounts,
        "spread_seconds": spread_seconds,
        "retry_delay_seconds": retry_delay,
        "deliveries_per_account": 2,
        "windows": results,
    }


class _Trickle:
    """Sends one first-attempt work message at a time, evenly over ``seconds``."""

    def __init__(self, queue_url: str, accounts: list[str], seconds: float) -> None:
        import threading

        self._queue_url = queue_url
        self._accounts = accounts
        self._pause = seconds / max(1, len(accounts))
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        sqs = aws.client("sqs")
        for account in self._accounts:
            body = fixtures.work_body(account, RUN_ID)
            sqs.send_message(QueueUrl=self._queue_url, MessageBody=body)
            time.sleep(self._pause)


def _keys(bucket: str) -> list[str]:
    s3 = aws.client("s3")
    return [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for item in page.get("Contents", [])
    ]
