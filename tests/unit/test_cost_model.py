"""The cost and makespan model (bench/cost.py): what a team comparing this
design with the Step Functions alternatives relies on. Properties, not figures:
the figures are the README's, printed by ``python -m bench.cost``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from bench import cost

MEASURED = cost.Measured(billed_seconds_per_account=0.108, deliveries_per_account=2.0)
ASSUMED = cost.Assumptions()


@pytest.fixture(scope="module")
def stack() -> cost.Stack:
    return cost.read_stack()


TEMPLATE = """
Parameters:
  WorkerMaximumConcurrency: {{Type: Number, Default: 5}}
  WorkerBatchSize: {{Type: Number, Default: 10}}
  WorkerBatchingWindowSeconds: {{Type: Number, Default: 5}}
  RetryDelaySeconds: {{Type: Number, Default: 60}}
  MaxAttempts: {{Type: Number, Default: 45}}
  SummaryCheckSeconds: {{Type: Number, Default: 300}}
Globals:
  Function:
    MemorySize: 256
Resources:
  ProducerFunction:
    Type: AWS::Serverless::Function
    Properties: {{Handler: producer.app.lambda_handler, MemorySize: 512}}
  WorkerFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: worker.app.lambda_handler
      Role: !GetAtt WorkerRole.Arn
      {worker_memory}
  DlqHandlerFunction:
    Type: AWS::Serverless::Function
    Properties: {{Handler: dlq_handler.app.lambda_handler}}
  SummarizerFunction:
    Type: AWS::Serverless::Function
    Properties: {{Handler: summarizer.app.lambda_handler, MemorySize: 1024}}
"""


def write_template(tmp_path: Path, worker_memory: str) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE.format(worker_memory=worker_memory))
    return path


def test_memory_sizes_come_from_the_template_the_globals_where_a_function_has_none(
    tmp_path: Path,
) -> None:
    # Given a template where the worker and the dlq_handler take the Globals' size
    inherited = cost.read_stack(write_template(tmp_path, ""))
    # When the worker gets a size of its own
    own = cost.read_stack(write_template(tmp_path, "MemorySize: 2048"))

    # Then the model reads each function's size, and the Globals' as the fallback
    assert inherited.memory_mb == {
        "producer": 512,
        "worker": 256,
        "dlq_handler": 256,
        "summarizer": 1024,
    }
    assert own.memory_mb["worker"] == 2048
    assert own.memory_mb["dlq_handler"] == 256
    assert (own.worker_concurrency, own.batch_size, own.retry_delay_seconds) == (5, 10, 60)


def test_the_workers_billed_duration_follows_its_memory_size(stack: cost.Stack) -> None:
    doubled = replace(stack, memory_mb={**stack.memory_mb, "worker": 2 * stack.memory_mb["worker"]})

    base = cost.cost_ours(10_000, stack, MEASURED, ASSUMED)["collection"]
    more = cost.cost_ours(10_000, doubled, MEASURED, ASSUMED)["collection"]

    invocations = 10_000 * 2 / stack.batch_size * cost.LAMBDA_REQUEST
    assert more["worker"] - invocations == pytest.approx(2 * (base["worker"] - invocations))
    assert more["producer"] == base["producer"]
    assert more["requests"] == base["requests"]


def test_the_keys_cost_a_days_share_of_a_month_each(stack: cost.Stack) -> None:
    for run in cost.model(MEASURED, ASSUMED, stack)["runs"].values():
        ours = run["ours"]
        # Two keys (reports, topic) at $1 a month.
        assert ours["kms_keys_per_day"] == pytest.approx(2 / 30)
        assert ours["per_run_with_a_day_of_fixed_costs"] == pytest.approx(
            ours["per_run_with_a_day_of_idle_polling"] + 2 / 30
        )
        assert run["ratio_with_a_day_of_fixed_costs"] < run["ratio_with_a_day_of_idle_polling"]


def test_bucket_keys_keep_kms_requests_flat_as_the_organization_grows(stack: cost.Stack) -> None:
    runs = cost.model(MEASURED, ASSUMED, stack)["runs"]
    small, large = runs["1000"]["ours"], runs["10000"]["ours"]

    # With Bucket Keys: the same handful whatever the size, and part of the run's cost.
    assert small["collection"]["kms_requests"] == large["collection"]["kms_requests"]
    assert small["collection"]["kms_requests"] < 200 * cost.KMS_REQUEST
    assert small["per_run"] == pytest.approx(
        sum(small["collection"].values()) + sum(small["summary"].values())
    )
    # Without: one data key per object written.
    assert large["kms_requests_without_bucket_keys"] > 10_000 * cost.KMS_REQUEST
    assert large["kms_requests_without_bucket_keys"] > 9 * small["kms_requests_without_bucket_keys"]


def test_publishes_to_the_encrypted_topic_ask_kms_too() -> None:
    quiet = cost.kms_requests_per_run(1000, 1, 7, ASSUMED)
    noisy = cost.kms_requests_per_run(1000, 11, 7, ASSUMED)

    assert noisy - quiet == pytest.approx(10)


def test_makespan_falls_as_worker_concurrency_rises_until_the_retry_delay_binds(
    stack: cost.Stack,
) -> None:
    spans = [
        cost.makespan_ours(10_000, c, stack, MEASURED, ASSUMED)
        for c in (2, 5, 10, 20, 50, 200, 1000)
    ]
    collected = [s["collected_seconds"] for s in spans]

    assert collected == sorted(collected, reverse=True)
    assert collected[0] > 2 * collected[-1]
    # Past some concurrency more workers buy nothing: every account still waits
    # RetryDelaySeconds between its polls, after the producer has sent it.
    assert collected[-2] == collected[-1]
    assert spans[0]["bound_by"] == "WorkerMaximumConcurrency"
    assert spans[-1]["bound_by"] != "WorkerMaximumConcurrency"
    assert collected[-1] > spans[-1]["listing_seconds"] + stack.retry_delay_seconds


def test_a_run_is_announced_at_a_look_of_the_summarizer_after_its_last_report(
    stack: cost.Stack,
) -> None:
    for accounts in (100, 1_000, 10_000, 50_000):
        for concurrency in (2, 5, 50):
            span = cost.makespan_ours(accounts, concurrency, stack, MEASURED, ASSUMED)
            looked = span["announced_seconds"] - span["summarizer_seconds"]

            # The first look that finds every report stored, not a check interval more.
            assert span["collected_seconds"] <= looked
            assert looked - span["collected_seconds"] < stack.check_seconds
            # Looks come every SummaryCheckSeconds after the producer sent the check.
            assert looked - span["listing_seconds"] == pytest.approx(
                span["summarizer_looks"] * stack.check_seconds
            )


def test_distributed_map_makespan_falls_with_concurrency_down_to_one_child(
    stack: cost.Stack,
) -> None:
    spans = [
        cost.makespan_distributed_map(10_000, m, stack, ASSUMED) for m in (10, 100, 1_000, 10_000)
    ]
    collected = [s["collected_seconds"] for s in spans]

    assert collected == sorted(collected, reverse=True)
    assert collected[0] > 10 * collected[-1] - 10 * spans[-1]["listing_seconds"]
    assert collected[-1] == pytest.approx(spans[-1]["listing_seconds"] + spans[-1]["child_seconds"])


def test_a_child_waiting_longer_costs_the_distributed_map_more_but_not_this_design(
    stack: cost.Stack,
) -> None:
    # Within RetryDelaySeconds our worker is not running while IAM builds the
    # report; an Express child is billed for the whole wait.
    within = [s for s in (3.0, 10.0, 30.0, 60.0) if s <= stack.retry_delay_seconds]
    ours = [
        cost.cost_ours(10_000, stack, MEASURED, replace(ASSUMED, report_seconds=s))["per_run"]
        for s in within
    ]
    dmap = [
        cost.cost_distributed_map(10_000, stack, replace(ASSUMED, report_seconds=s))["per_run"]
        for s in within
    ]

    assert len(set(ours)) == 1
    assert dmap == sorted(dmap) and len(set(dmap)) == len(dmap)


def test_a_report_slower_than_the_retry_delay_costs_this_design_another_delivery(
    stack: cost.Stack,
) -> None:
    quick = replace(ASSUMED, report_seconds=3.0)
    slow = replace(ASSUMED, report_seconds=stack.retry_delay_seconds + 30.0)

    assert (
        cost.cost_ours(10_000, stack, MEASURED, slow)["collection"]["worker"]
        > cost.cost_ours(10_000, stack, MEASURED, quick)["collection"]["worker"]
    )
    assert (
        cost.makespan_ours(10_000, 50, stack, MEASURED, slow)["collected_seconds"]
        >= cost.makespan_ours(10_000, 50, stack, MEASURED, quick)["collected_seconds"]
        + stack.retry_delay_seconds
    )


def test_express_children_are_billed_in_100_ms_steps_with_64_mb_at_least() -> None:
    # 5.01 s is billed as 5.1 s, and 32 MB as 64 MB.
    assert cost.express_cost(1, 5.01, 32) == pytest.approx(cost.express_cost(1, 5.1, 64))
    assert cost.express_cost(1, 5.01, 64) > cost.express_cost(1, 5.0, 64)
    assert cost.express_cost(1, 5.0, 128) == pytest.approx(
        cost.EXPRESS_REQUEST + 2 * (cost.express_cost(1, 5.0, 64) - cost.EXPRESS_REQUEST)
    )


def test_each_child_costs_the_parent_a_transition_unless_children_take_several_accounts(
    stack: cost.Stack,
) -> None:
    one = cost.cost_distributed_map(10_000, stack, ASSUMED)["collection"]
    ten = cost.cost_distributed_map(10_000, stack, replace(ASSUMED, dmap_accounts_per_child=10))[
        "collection"
    ]

    assert one["parent_transitions"] >= 10_000 * cost.SFN_TRANSITION
    assert ten["parent_transitions"] < one["parent_transitions"] / 9
    # The storage and the Lambda tasks are per account however they are grouped.
    assert ten["storage"] == one["storage"] and ten["lambda"] == one["lambda"]


def test_polls_need_a_positive_interval() -> None:
    assert cost.polls(3.0, 5.0) == 2
    assert cost.polls(12.0, 5.0) == 4
    with pytest.raises(ValueError, match="positive"):
        cost.polls(3.0, 0)
