"""The cost and the makespan of a run of this design against the Step
Functions sample it replaces (Standard workflow, inline Map) and the strongest
alternative a team would build today (a Standard parent with a Distributed Map
whose children are Express workflows).

Pure arithmetic over the design's request sequence, the worker's billed time
measured by ``make bench``, the functions' memory sizes and the queue settings
read from template.yaml, and the us-east-1 list prices of DESIGN.md. Every
assumption is a field of :class:`Assumptions`, written to the output.

``python -m bench.cost`` prints the table and writes bench/cost.json."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "template.yaml"
RESULTS = Path(__file__).resolve().parent / "results.json"
OUTPUT = Path(__file__).resolve().parent / "cost.json"

# us-east-1 list prices (shared/DESIGN.md; the S3 GET/LIST, EventBridge and
# Express prices are AWS's list prices, which DESIGN.md does not carry).
LAMBDA_REQUEST = 0.20 / 1_000_000
LAMBDA_GB_SECOND = 0.0000166667  # x86, billed per ms
SQS_REQUEST = 0.40 / 1_000_000
SFN_TRANSITION = 0.025 / 1_000  # Standard workflows
EXPRESS_REQUEST = 1.00 / 1_000_000
EXPRESS_GB_SECOND = 0.00001667
EXPRESS_STEP_SECONDS = 0.1
EXPRESS_MIN_MB = 64
SNS_PUBLISH = 0.50 / 1_000_000
EVENTBRIDGE_EVENT = 1.00 / 1_000_000  # PutEvents, custom events
S3_PUT = 0.005 / 1_000  # PUT, COPY, POST, LIST
S3_GET = 0.0004 / 1_000  # GET, HEAD
KMS_REQUEST = 0.03 / 10_000
# A customer managed key, per month (AWS's list price).
KMS_KEY_MONTH = 1.00
DAYS_PER_MONTH = 30
# Lambda gives a function one full vCPU at this memory size, a share below it.
LAMBDA_FULL_VCPU_MB = 1769

# Requests that cost nothing are left out: STS, IAM and Organizations are free APIs.
PRICED = {
    "sqs.": SQS_REQUEST,
    "s3.PutObject": S3_PUT,
    "s3.ListObjectsV2": S3_PUT,
    "s3.GetObject": S3_GET,
    "s3.HeadObject": S3_GET,
    "sns.Publish": SNS_PUBLISH,
    "events.PutEvents": EVENTBRIDGE_EVENT,
    "kms.": KMS_REQUEST,
}

# template.yaml's logical ids of the four functions.
FUNCTIONS = {
    "producer": "ProducerFunction",
    "worker": "WorkerFunction",
    "dlq_handler": "DlqHandlerFunction",
    "summarizer": "SummarizerFunction",
}


@dataclass(frozen=True)
class Stack:
    """What the cost and the makespan take from template.yaml (its defaults)."""

    memory_mb: dict[str, int]
    worker_concurrency: int
    batch_size: int
    batching_window_seconds: int
    retry_delay_seconds: int
    max_attempts: int
    check_seconds: int


def read_stack(path: Path = TEMPLATE) -> Stack:
    """The functions' memory sizes (their own, else the Globals') and the
    parameters' defaults, read from ``path`` so the model follows the template."""
    from samtranslator.yaml_helper import yaml_parse

    template = yaml_parse(path.read_text(encoding="utf-8"))
    default_memory = template.get("Globals", {}).get("Function", {}).get("MemorySize", 128)
    resources = template["Resources"]
    memory = {
        name: int(resources[logical_id]["Properties"].get("MemorySize", default_memory))
        for name, logical_id in FUNCTIONS.items()
    }

    def default(parameter: str) -> int:
        return int(template["Parameters"][parameter]["Default"])

    return Stack(
        memory_mb=memory,
        worker_concurrency=default("WorkerMaximumConcurrency"),
        batch_size=default("WorkerBatchSize"),
        batching_window_seconds=default("WorkerBatchingWindowSeconds"),
        retry_delay_seconds=default("RetryDelaySeconds"),
        max_attempts=default("MaxAttempts"),
        check_seconds=default("SummaryCheckSeconds"),
    )


@dataclass(frozen=True)
class Measured:
    """The worker's figures from a ``make bench`` run: billed time per account
    (100 ms per AWS call) over that many deliveries of each account's message
    (the report complete on the second poll). The defaults are the README's."""

    billed_seconds_per_account: float = 0.108
    deliveries_per_account: float = 2.0

    @property
    def seconds_per_delivery(self) -> float:
        return self.billed_seconds_per_account / self.deliveries_per_account

    @classmethod
    def from_run(cls, run: dict[str, Any], batch_size: int) -> Measured:
        """From a bench run (bench.scenarios.happy_path with 100 ms per call):
        its worker's billed time and invocations (full batches of ``batch_size``)."""
        return cls(
            billed_seconds_per_account=run["billed_seconds_per_account"],
            deliveries_per_account=run["worker_invocations"] * batch_size / run["accounts"],
        )


@dataclass(frozen=True)
class Assumptions:
    # Stand-in for one AWS API round trip, as the bench's latency hook.
    call_seconds: float = 0.1
    # How long IAM takes to build a credential report once asked. AWS does not
    # publish it; a few seconds for small accounts, longer for thousands of
    # users. The table shows report_seconds_cases.
    report_seconds: float = 3.0
    report_seconds_cases: tuple[float, ...] = (3.0, 30.0, 90.0)
    # The organization's shape and the listing's pace (README, the OU walk).
    accounts_per_ou: int = 50
    listing_pages_per_second: float = 5.0
    # Lambda's SQS poller receives a batch, invokes, deletes it: a worker
    # concurrency slot turns over in the invocation plus these two calls.
    poller_calls_per_invocation: int = 2
    # The summarizer's final look: make bench-summarizer's wall and CPU time
    # over 10,000 accounts (README), on one core of this machine taken as one
    # Lambda vCPU, scaled linearly with the accounts; the CPU part slowed by
    # the vCPU share of the function's memory.
    summarizer_wall_seconds_10000: float = 126.0
    summarizer_cpu_seconds_10000: float = 95.0
    # A look that finds the run unsettled reads the manifest and lists the
    # run's reports (1,000 keys a page), failures and replays.
    summarizer_extra_listings: int = 2
    # The final look: the previous run's summary and findings read; the claim
    # (created, each channel recorded), the findings, the report and the summary written.
    summarizer_reads_per_run: int = 2
    summarizer_puts_per_run: int = 6
    # The producer: the run-id check (HEAD), the manifest written twice.
    producer_puts_per_run: int = 2
    producer_heads_per_run: int = 1
    # Lambda's SQS event source polls each queue continuously, also when it is
    # empty (billed as empty receives). AWS does not publish the idle rate; we
    # assume 5 pollers x 3 long polls (20 s) a minute on each of the work,
    # dead-letter and control queues, charged to one run a day.
    idle_receives_per_day: int = 3 * 5 * 3 * 60 * 24
    s3_encryption: str = "SSE-KMS with S3 Bucket Keys (ReportEncryption NewKmsKey, the default)"
    # Customer managed keys of the stack: the report key and the topic's key.
    kms_keys: int = 2
    # With S3 Bucket Keys, S3 asks KMS for a bucket-level key per requesting
    # session and reuses it for a while, instead of a data key per object. AWS
    # does not publish how long; assumed: one session per worker container
    # (WorkerMaximumConcurrency), the producer's and the summarizer's, each
    # asking again every 5 minutes for an hour. The alternatives: the same.
    kms_requests_per_session: int = 12
    kms_other_sessions: int = 2
    # Each publish to the encrypted topic: one data key request (SNS may cache).
    kms_requests_per_publish: int = 1
    # The Step Functions sample, per account (issue 6): 2 Lambda invocations
    # of 128 MB, about 6 state transitions, 8 AWS calls: GetCallerIdentity +
    # AssumeRole + Generate in the first invocation, the same + Get + Put in the second.
    sample_memory_mb: int = 128
    sample_invocations: int = 2
    sample_transitions: int = 6
    sample_calls_per_account: tuple[int, int] = (3, 5)
    # Distributed Map, Express children. Each child: GenerateCredentialReport
    # as an SDK integration with the member role in the task's Credentials
    # (Step Functions assumes it: one call), a Wait of dmap_wait_seconds and a
    # Choice until COMPLETE (the child is billed for every second of it), then
    # a Lambda task (AssumeRole, GetCredentialReport, PutObject): a report of
    # thousands of users exceeds the 256 KiB a state may carry, so an SDK
    # integration cannot hand it to PutObject. The parent: the same listing as
    # our producer in a Lambda of the same memory, which writes the accounts
    # to S3 for the Map's ItemReader, a few fixed transitions and one per child
    # started.
    dmap_wait_seconds: float = 5.0
    express_memory_mb: int = EXPRESS_MIN_MB
    dmap_lambda_memory_mb: int = 128
    dmap_lambda_calls: int = 3
    dmap_parent_transitions: int = 5
    # Accounts per child: 1 as the issue frames it; ItemBatcher can give a
    # child several (an inline Map inside it), one parent transition for them all.
    dmap_accounts_per_child: int = 1
    dmap_concurrency_cases: tuple[int, ...] = (100, 1_000)
    worker_concurrency_cases: tuple[int, ...] = (5, 50)
    accounts_cases: tuple[int, ...] = (1_000, 10_000)
    makespan_accounts: int = 10_000
    notes: tuple[str, ...] = field(
        default=(
            "every design is priced on the happy path: no failures, so no dlq_handler "
            "invocation (its memory is read all the same)",
            "CloudWatch Logs, X-Ray and data transfer are priced in no design",
            "the summarizer's time scales linearly with the accounts",
        )
    )


def price_of(requests: dict[str, float]) -> float:
    """Dollars for a mapping of ``service.Operation`` -> count."""
    total = 0.0
    for name, count in requests.items():
        for prefix, price in PRICED.items():
            if name.startswith(prefix):
                total += count * price
                break
    return total


def lambda_cost(invocations: float, billed_seconds: float, memory_mb: int) -> float:
    """Requests plus GB-seconds (``billed_seconds`` summed over the invocations)."""
    return invocations * LAMBDA_REQUEST + billed_seconds * memory_mb / 1024 * LAMBDA_GB_SECOND


def express_cost(executions: float, seconds_each: float, memory_mb: int) -> float:
    """Express workflows: a request each, and GB-seconds in 100 ms steps with
    a 64 MB minimum."""
    steps = math.ceil(round(seconds_each / EXPRESS_STEP_SECONDS, 9))
    gb = max(memory_mb, EXPRESS_MIN_MB) / 1024
    return executions * (EXPRESS_REQUEST + steps * EXPRESS_STEP_SECONDS * gb * EXPRESS_GB_SECOND)


def polls(report_seconds: float, seconds_between: float) -> int:
    """GenerateCredentialReport calls until COMPLETE: the first starts the
    report (STARTED), then one each ``seconds_between`` until it is built."""
    if seconds_between <= 0:
        raise ValueError("the seconds between polls must be positive")
    return 1 + max(1, math.ceil(round(report_seconds / seconds_between, 9)))


def listing_seconds(accounts: int, a: Assumptions) -> float:
    """The producer's OU walk: ListRoots, per OU one ListOrganizationalUnitsForParent
    page, one ListAccountsForParent page per 20 accounts, at the listing's pace."""
    ous = max(1, math.ceil(accounts / a.accounts_per_ou))
    pages = 1 + 2 * ous + math.ceil(accounts / 20)
    return pages / a.listing_pages_per_second


def summarizer_seconds(accounts: int, memory_mb: int, a: Assumptions) -> float:
    """The final look's duration on Lambda at ``memory_mb``."""
    share = min(1.0, memory_mb / LAMBDA_FULL_VCPU_MB)
    scale = accounts / 10_000
    waiting = a.summarizer_wall_seconds_10000 - a.summarizer_cpu_seconds_10000
    return scale * (waiting + a.summarizer_cpu_seconds_10000 / share)


def summarizer_listings(accounts: int, a: Assumptions) -> int:
    return math.ceil(accounts / 1000) + a.summarizer_extra_listings


def kms_requests_per_run(
    objects: float, publishes: float, sessions: int, a: Assumptions, *, bucket_keys: bool = True
) -> float:
    """KMS requests of one run: S3's data keys (per session and period with
    Bucket Keys, per object written without) and the encrypted topic's
    publishes. The emulator makes none, so they are modelled, not counted."""
    s3 = float(sessions * a.kms_requests_per_session) if bucket_keys else objects
    return s3 + publishes * a.kms_requests_per_publish


# ------------------------------------------------------------------ makespan


def makespan_ours(
    accounts: int, concurrency: int, stack: Stack, measured: Measured, a: Assumptions
) -> dict[str, Any]:
    """When the last report is stored and when the run is announced, in seconds
    from the producer's start, as a fluid model: workers busy at most
    ``concurrency`` batches at a time, no account polled again before
    RetryDelaySeconds (plus the batching window) has passed, the run check due
    SummaryCheckSeconds after the producer sent it and every SummaryCheckSeconds after."""
    call = a.call_seconds
    gap = stack.retry_delay_seconds + stack.batching_window_seconds
    # The measured run's report was complete on the second poll; each poll
    # more is one delivery more (a retry delay later).
    deliveries = measured.deliveries_per_account + max(0, polls(a.report_seconds, gap) - 2)
    batches = math.ceil(accounts / stack.batch_size)
    # The run-id check, the manifest and the run check come before the first message.
    check_sent = listing_seconds(accounts, a) + 3 * call
    sending = batches * call + call
    slot = measured.seconds_per_delivery * stack.batch_size + a.poller_calls_per_invocation * call
    capacity_end = check_sent + batches * deliveries * slot / concurrency
    first_pass_end = check_sent + max(sending, batches * slot / concurrency)
    retries_end = first_pass_end + (deliveries - 1) * (gap + slot)
    collected = max(capacity_end, retries_end)
    summarizing = summarizer_seconds(accounts, stack.memory_mb["summarizer"], a)
    if stack.check_seconds > 0:
        looks = max(1, math.ceil((collected - check_sent) / stack.check_seconds))
        looked = check_sent + looks * stack.check_seconds
    else:
        # SummaryCheckSeconds 0: the summarizer looks again at once, all along.
        looks, looked = 1, collected
    return {
        "concurrency": concurrency,
        "report_seconds": a.report_seconds,
        "listing_seconds": check_sent,
        "collected_seconds": collected,
        "bound_by": "WorkerMaximumConcurrency"
        if capacity_end >= retries_end
        else "the producer's sending and RetryDelaySeconds",
        "deliveries_per_account": deliveries,
        "summarizer_looks": looks,
        "summarizer_seconds": summarizing,
        "announced_seconds": looked + summarizing,
    }


def dmap_child_seconds(a: Assumptions) -> float:
    """One Express child: the role assumed, the polls and their waits, the Lambda task."""
    n = polls(a.report_seconds, a.dmap_wait_seconds)
    return (
        a.call_seconds * (1 + n)
        + (n - 1) * a.dmap_wait_seconds
        + a.call_seconds * (1 + a.dmap_lambda_calls)
    )


def makespan_distributed_map(
    accounts: int, max_concurrency: int, stack: Stack, a: Assumptions
) -> dict[str, Any]:
    """The same two moments for the Distributed Map: the listing, then waves
    of ``max_concurrency`` children, then the summarizer as the parent's last
    state (no check delay: the parent knows when the Map is done). Not
    modelled: how fast a Map Run starts children, the account's Lambda
    concurrency (the children's Lambda tasks use a small share of it), STS's
    600 AssumeRole a second."""
    listed = listing_seconds(accounts, a) + a.call_seconds
    children = math.ceil(accounts / a.dmap_accounts_per_child)
    child = dmap_child_seconds(a)
    collected = listed + math.ceil(children / max_concurrency) * child
    summarizing = summarizer_seconds(accounts, stack.memory_mb["summarizer"], a)
    return {
        "max_concurrency": max_concurrency,
        "accounts_per_child": a.dmap_accounts_per_child,
        "report_seconds": a.report_seconds,
        "listing_seconds": listed,
        "child_seconds": child,
        "collected_seconds": collected,
        "summarizer_seconds": summarizing,
        "announced_seconds": collected + summarizing,
    }


# ---------------------------------------------------------------------- cost


def _totals(collection: dict[str, float], summary: dict[str, float]) -> dict[str, Any]:
    return {
        "collection": collection,
        "summary": summary,
        "collection_per_run": sum(collection.values()),
        "per_run": sum(collection.values()) + sum(summary.values()),
    }


def _final_summary(accounts: int, stack: Stack, a: Assumptions) -> dict[str, float]:
    """The summarizer's last look, the same in every design that has one:
    every report read, the documents written, one SNS message and one event."""
    requests = {
        "s3.GetObject": accounts + a.summarizer_reads_per_run + 1.0,
        "s3.ListObjectsV2": float(summarizer_listings(accounts, a)),
        "s3.PutObject": float(a.summarizer_puts_per_run),
        "sns.Publish": 1.0,
        "events.PutEvents": 1.0,
    }
    seconds = summarizer_seconds(accounts, stack.memory_mb["summarizer"], a)
    return {
        "requests": price_of(requests),
        "lambda": lambda_cost(1, seconds, stack.memory_mb["summarizer"]),
    }


def cost_ours(
    accounts: int, stack: Stack, measured: Measured, a: Assumptions, concurrency: int | None = None
) -> dict[str, Any]:
    """One run: the producer, the worker's deliveries, the run checks, the summarizer."""
    concurrency = concurrency or stack.worker_concurrency
    timing = makespan_ours(accounts, concurrency, stack, measured, a)
    deliveries = timing["deliveries_per_account"]
    # Extra polls beyond the measured run's are deliveries of the same length.
    billed_per_account = measured.seconds_per_delivery * deliveries
    batches_delivered = accounts * deliveries / stack.batch_size
    # Sent by the producer (one per batch) and again per re-enqueued batch;
    # each delivered batch received once and deleted once.
    queue = {
        "sqs.SendMessageBatch": batches_delivered,
        "sqs.ReceiveMessage": batches_delivered,
        "sqs.DeleteMessageBatch": batches_delivered,
        "s3.PutObject": float(accounts + a.producer_puts_per_run),
        "s3.HeadObject": float(a.producer_heads_per_run),
    }
    producing = timing["listing_seconds"] + math.ceil(accounts / stack.batch_size) * a.call_seconds
    sessions = concurrency + a.kms_other_sessions
    collection = {
        "requests": price_of(queue),
        "worker": lambda_cost(
            batches_delivered, billed_per_account * accounts, stack.memory_mb["worker"]
        ),
        "producer": lambda_cost(1, producing, stack.memory_mb["producer"]),
        "kms_requests": kms_requests_per_run(accounts, 1, sessions, a) * KMS_REQUEST,
    }
    looks = timing["summarizer_looks"]
    unsettled = looks - 1
    look_calls = 1 + summarizer_listings(accounts, a)
    summary = _final_summary(accounts, stack, a)
    # The check: sent (by the producer, then again by each look that finds the
    # run unsettled), received and deleted once per look.
    summary["run_checks"] = price_of(
        {
            "sqs.SendMessage": looks,
            "sqs.ReceiveMessage": looks,
            "sqs.DeleteMessage": looks,
            "s3.GetObject": unsettled,
            "s3.ListObjectsV2": unsettled * summarizer_listings(accounts, a),
        }
    ) + lambda_cost(
        unsettled, unsettled * look_calls * a.call_seconds, stack.memory_mb["summarizer"]
    )
    parts = _totals(collection, summary)
    parts["summarizer_looks"] = looks
    # Not per run: what the stack costs a day whatever the runs do.
    parts["idle_polling_per_day"] = a.idle_receives_per_day * SQS_REQUEST
    parts["kms_keys_per_day"] = a.kms_keys * KMS_KEY_MONTH / DAYS_PER_MONTH
    parts["per_run_with_a_day_of_idle_polling"] = parts["per_run"] + parts["idle_polling_per_day"]
    parts["per_run_with_a_day_of_fixed_costs"] = (
        parts["per_run_with_a_day_of_idle_polling"] + parts["kms_keys_per_day"]
    )
    # What the run would ask of KMS without Bucket Keys (a data key per object
    # written), for comparison; not part of the totals.
    parts["kms_requests_without_bucket_keys"] = (
        kms_requests_per_run(accounts + a.producer_puts_per_run, 1, sessions, a, bucket_keys=False)
        * KMS_REQUEST
    )
    return parts


def _same_storage(accounts: int, stack: Stack, a: Assumptions) -> float:
    """S3 and KMS of an alternative: a report PUT per account, KMS as ours."""
    sessions = stack.worker_concurrency + a.kms_other_sessions
    return accounts * S3_PUT + kms_requests_per_run(accounts, 1, sessions, a) * KMS_REQUEST


def cost_sample(accounts: int, stack: Stack, a: Assumptions) -> dict[str, Any]:
    """The sample's Standard workflow with an inline Map: billed with the same
    per-call latency as ours (each call waited on in turn, as it makes them).
    Its Wait states cost transitions, not time. A summarizer is not part of
    the sample; ``summary`` is ours added as its last state."""
    billed = sum(max(0.001, calls * a.call_seconds) for calls in a.sample_calls_per_account)
    collection = {
        "transitions": a.sample_transitions * accounts * SFN_TRANSITION,
        "lambda": lambda_cost(
            a.sample_invocations * accounts, billed * accounts, a.sample_memory_mb
        ),
        "listing": lambda_cost(1, listing_seconds(accounts, a), a.sample_memory_mb),
        "storage": _same_storage(accounts, stack, a),
    }
    return _totals(collection, _final_summary(accounts, stack, a))


def cost_distributed_map(accounts: int, stack: Stack, a: Assumptions) -> dict[str, Any]:
    """The Distributed Map with Express children (see Assumptions): the
    parent's transitions, the children's requests and billed duration (the
    waits included), their Lambda tasks, the listing Lambda and its items file."""
    children = math.ceil(accounts / a.dmap_accounts_per_child)
    child = dmap_child_seconds(a)
    lambda_seconds = a.dmap_lambda_calls * a.call_seconds
    collection = {
        "parent_transitions": (a.dmap_parent_transitions + children) * SFN_TRANSITION,
        "express": express_cost(children, child, a.express_memory_mb),
        "lambda": lambda_cost(accounts, accounts * lambda_seconds, a.dmap_lambda_memory_mb),
        "listing": lambda_cost(1, listing_seconds(accounts, a), stack.memory_mb["producer"])
        + S3_PUT
        + S3_GET,
        "storage": _same_storage(accounts, stack, a),
    }
    parts = _totals(collection, _final_summary(accounts, stack, a))
    parts["child_seconds"] = child
    return parts


# --------------------------------------------------------------------- model


def model(
    measured: Measured | None = None,
    assumptions: Assumptions | None = None,
    stack: Stack | None = None,
) -> dict[str, Any]:
    """Cost per run of the three designs for each of ``accounts_cases`` (and
    each report time of ``report_seconds_cases``), and the makespan table."""
    measured = measured or Measured()
    a = assumptions or Assumptions()
    stack = stack or read_stack()
    batched = replace(a, dmap_accounts_per_child=10)
    runs: dict[str, Any] = {}
    for accounts in a.accounts_cases:
        mine = cost_ours(accounts, stack, measured, a)
        sample = cost_sample(accounts, stack, a)
        dmap = cost_distributed_map(accounts, stack, a)
        runs[str(accounts)] = {
            "ours": mine,
            "step_functions": sample,
            "distributed_map": dmap,
            "distributed_map_10_per_child": cost_distributed_map(accounts, stack, batched),
            "ratio": sample["per_run"] / mine["per_run"],
            "ratio_distributed_map": dmap["per_run"] / mine["per_run"],
            "ratio_with_a_day_of_idle_polling": sample["per_run"]
            / mine["per_run_with_a_day_of_idle_polling"],
            "ratio_with_a_day_of_fixed_costs": sample["per_run"]
            / mine["per_run_with_a_day_of_fixed_costs"],
        }
    by_report_time: dict[str, Any] = {}
    for seconds in a.report_seconds_cases:
        case = replace(a, report_seconds=seconds)
        n = a.makespan_accounts
        by_report_time[f"{seconds:g}"] = {
            "ours": [
                {
                    **makespan_ours(n, c, stack, measured, case),
                    "cost": cost_ours(n, stack, measured, case, c)["per_run"],
                }
                for c in a.worker_concurrency_cases
            ],
            "distributed_map": [
                {
                    **makespan_distributed_map(n, m, stack, case),
                    "cost": cost_distributed_map(n, stack, case)["per_run"],
                }
                for m in a.dmap_concurrency_cases
            ],
        }
    return {
        "assumptions": asdict(a),
        "measured": asdict(measured),
        "stack": asdict(stack),
        "runs": runs,
        "makespan": {"accounts": a.makespan_accounts, "report_seconds": by_report_time},
    }


def describe(result: dict[str, Any]) -> str:
    """The cost and makespan tables as text."""
    runs = result["runs"]
    sizes = list(runs)
    lines = [
        "cost per run (collection / with the summary and its announcement), "
        f"report built in {result['assumptions']['report_seconds']:g} s:",
        f"  {'design':<52}" + "".join(f"{int(n):>10,} accounts          " for n in sizes).rstrip(),
    ]
    designs = (
        ("ours", "this design (worker concurrency default)"),
        ("step_functions", "the sample: Step Functions Standard, inline Map"),
        ("distributed_map", "Distributed Map, Express children (1 account each)"),
        ("distributed_map_10_per_child", "Distributed Map, ItemBatcher 10 accounts/child"),
    )
    for key, name in designs:
        cells = "".join(
            f"  ${runs[n][key]['collection_per_run']:>8.4f} / ${runs[n][key]['per_run']:>8.4f}"
            for n in sizes
        )
        lines.append(f"  {name:<52}{cells}")
    ours = runs[sizes[-1]]["ours"]
    lines.append(
        f"  this design's fixed costs a day: idle polling ${ours['idle_polling_per_day']:.4f}, "
        f"KMS keys ${ours['kms_keys_per_day']:.4f}"
    )
    span = result["makespan"]
    lines.append(
        f"\nmakespan, {span['accounts']:,} accounts (seconds to the last report stored / "
        "to the run announced; cost per run):"
    )
    cases = list(span["report_seconds"])
    lines.append(
        f"  {'design':<44}" + "".join(f"{'report built in ' + c + ' s':>30}" for c in cases)
    )
    first = span["report_seconds"][cases[0]]
    for index, row in enumerate(first["ours"]):
        name = f"this design, WorkerMaximumConcurrency {row['concurrency']}"
        cells = "".join(_span_cell(span["report_seconds"][c]["ours"][index]) for c in cases)
        lines.append(f"  {name:<44}{cells}")
    for index, row in enumerate(first["distributed_map"]):
        name = f"Distributed Map, MaxConcurrency {row['max_concurrency']}"
        cells = "".join(
            _span_cell(span["report_seconds"][c]["distributed_map"][index]) for c in cases
        )
        lines.append(f"  {name:<44}{cells}")
    return "\n".join(lines)


def _span_cell(row: dict[str, Any]) -> str:
    return (
        f"    {row['collected_seconds']:>6.0f} / {row['announced_seconds']:>6.0f} s"
        f"  ${row['cost']:.4f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cost", description=__doc__)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS,
        help="a make bench results file to take the worker's billed time from, if present",
    )
    args = parser.parse_args()
    stack = read_stack()
    measured = Measured()
    source = "README (the last make bench)"
    if args.results.exists():
        results = json.loads(args.results.read_text())
        measured = Measured.from_run(results["billed_run"], stack.batch_size)
        source = str(args.results)
    result = model(measured, stack=stack)
    result["measured_from"] = source
    args.output.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(
        f"worker billed time: {measured.billed_seconds_per_account * 1000:.0f} ms per account "
        f"over {measured.deliveries_per_account:g} deliveries ({source}); memory "
        + ", ".join(f"{k} {v} MB" for k, v in stack.memory_mb.items())
        + " (template.yaml)\n"
    )
    print(describe(result))
    print(f"\nwritten: {args.output}")


if __name__ == "__main__":
    main()
