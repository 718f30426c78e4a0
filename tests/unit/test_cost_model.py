"""The cost model (bench/cost.py) prices the KMS keys and, with S3 Bucket
Keys, a handful of KMS requests per run instead of one per object."""

from __future__ import annotations

import pytest
from bench import cost

HAPPY_PATH = {
    "sqs.SendMessageBatch": 0.2,
    "sqs.ReceiveMessage": 0.2,
    "sqs.DeleteMessageBatch": 0.2,
    "s3.PutObject": 1.003,
}


def test_the_keys_cost_a_days_share_of_a_month_each() -> None:
    runs = cost.model(HAPPY_PATH, 0.2, 0.108, 0.1)["runs"]

    for run in runs.values():
        ours = run["ours"]
        # Two keys (reports, topic) at $1 a month.
        assert ours["kms_keys_per_day"] == pytest.approx(2 / 30)
        assert ours["per_run_with_a_day_of_fixed_costs"] == pytest.approx(
            ours["per_run_with_a_day_of_idle_polling"] + 2 / 30
        )
        assert run["ratio_with_a_day_of_fixed_costs"] < run["ratio_with_a_day_of_idle_polling"]


def test_bucket_keys_keep_kms_requests_flat_as_the_organization_grows() -> None:
    runs = cost.model(HAPPY_PATH, 0.2, 0.108, 0.1)["runs"]
    small, large = runs["1000"]["ours"], runs["10000"]["ours"]

    # With Bucket Keys: the same handful whatever the size, and part of per_run.
    assert small["kms_requests"] == large["kms_requests"] == pytest.approx(84 * cost.KMS_REQUEST)
    assert small["per_run"] == pytest.approx(
        small["requests"] + small["lambda_requests"] + small["lambda_duration"] + 84 * 3e-6
    )
    # Without: one data key per object written.
    assert large["kms_requests_without_bucket_keys"] == pytest.approx(
        10_000 * 1.003 * cost.KMS_REQUEST
    )


def test_publishes_to_the_encrypted_topic_ask_kms_too() -> None:
    quiet = cost.kms_requests_per_run(HAPPY_PATH, 1000, cost.Assumptions())
    noisy = cost.kms_requests_per_run({**HAPPY_PATH, "sns.Publish": 0.01}, 1000, cost.Assumptions())

    assert noisy - quiet == pytest.approx(10)
