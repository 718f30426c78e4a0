"""The cost of a run, this design vs the Step Functions design it replaces,
from counted requests and the us-east-1 list prices in DESIGN.md."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# us-east-1 list prices (shared/DESIGN.md).
LAMBDA_REQUEST = 0.20 / 1_000_000
LAMBDA_GB_SECOND = 0.0000166667  # x86
SQS_REQUEST = 0.40 / 1_000_000
SFN_TRANSITION = 0.025 / 1_000
SNS_PUBLISH = 0.50 / 1_000_000
S3_PUT = 0.005 / 1_000
KMS_REQUEST = 0.03 / 10_000
# A customer managed key, per month (us-east-1 list; AWS prices it, DESIGN.md does not).
KMS_KEY_MONTH = 1.00
DAYS_PER_MONTH = 30

# Requests that cost nothing: STS, IAM and Organizations are free APIs; S3
# GETs are not made on the happy path.
PRICED = {
    "sqs.": SQS_REQUEST,
    "s3.PutObject": S3_PUT,
    "sns.Publish": SNS_PUBLISH,
    "kms.": KMS_REQUEST,
}


@dataclass(frozen=True)
class Assumptions:
    memory_mb: int = 128
    # The Step Functions design, per account (issue 6): 2 Lambda invocations,
    # about 6 state transitions, 8 AWS calls: GetCallerIdentity+AssumeRole+
    # Generate in the first invocation, the same + Get + Put in the second.
    sfn_invocations: int = 2
    sfn_transitions: int = 6
    sfn_calls_per_account: tuple[int, int] = (3, 5)
    # Lambda's SQS event source polls each queue continuously, also when it is
    # empty (billed as empty receives). AWS does not publish the idle rate; we
    # assume 5 pollers x 3 long polls (20 s) a minute per queue, for the work
    # queue and the dead-letter queue, charged to one run a day.
    idle_receives_per_day: int = 2 * 5 * 3 * 60 * 24
    s3_encryption: str = "SSE-KMS with S3 Bucket Keys (ReportEncryption NewKmsKey, the default)"
    # Customer managed keys of the stack: the report key and the topic's key.
    kms_keys: int = 2
    # With S3 Bucket Keys, S3 asks KMS for a bucket-level key per requesting
    # session and reuses it for a while, instead of a data key per object. AWS
    # does not publish how long; assumed: 7 writer sessions (5 worker
    # containers, the producer, the dlq_handler), each asking again every 5
    # minutes for an hour.
    kms_sessions_per_run: int = 7
    kms_requests_per_session: int = 12
    # Each publish to the encrypted topic: one data key request (SNS may cache).
    kms_requests_per_publish: int = 1


def price_of(requests: dict[str, float]) -> float:
    """Dollars for a mapping of ``service.Operation`` -> count."""
    total = 0.0
    for name, count in requests.items():
        for prefix, price in PRICED.items():
            if name.startswith(prefix):
                total += count * price
                break
    return total


def ours(
    requests_per_account: dict[str, float],
    invocations_per_account: float,
    billed_seconds_per_account: float,
    accounts: int,
    assumptions: Assumptions,
) -> dict[str, float]:
    gb = assumptions.memory_mb / 1024
    parts = {
        "requests": price_of(requests_per_account) * accounts,
        "lambda_requests": invocations_per_account * accounts * LAMBDA_REQUEST,
        "lambda_duration": billed_seconds_per_account * accounts * gb * LAMBDA_GB_SECOND,
        "kms_requests": kms_requests_per_run(requests_per_account, accounts, assumptions)
        * KMS_REQUEST,
    }
    parts["per_run"] = sum(parts.values())
    parts["idle_polling_per_day"] = assumptions.idle_receives_per_day * SQS_REQUEST
    parts["per_run_with_a_day_of_idle_polling"] = parts["per_run"] + parts["idle_polling_per_day"]
    # The keys cost the same whatever the runs do: a day's share of a month.
    parts["kms_keys_per_day"] = assumptions.kms_keys * KMS_KEY_MONTH / DAYS_PER_MONTH
    parts["per_run_with_a_day_of_fixed_costs"] = (
        parts["per_run_with_a_day_of_idle_polling"] + parts["kms_keys_per_day"]
    )
    # What the same run would ask of KMS without Bucket Keys (a data key per
    # object written), for comparison; not part of the totals.
    parts["kms_requests_without_bucket_keys"] = (
        kms_requests_per_run(requests_per_account, accounts, assumptions, bucket_keys=False)
        * KMS_REQUEST
    )
    return parts


def kms_requests_per_run(
    requests_per_account: dict[str, float],
    accounts: int,
    assumptions: Assumptions,
    *,
    bucket_keys: bool = True,
) -> float:
    """KMS requests of one run: S3's data keys (per session and period with
    Bucket Keys, per object without) and the encrypted topic's publishes.
    The emulator makes none, so they are modelled, not counted."""
    if bucket_keys:
        s3 = float(assumptions.kms_sessions_per_run * assumptions.kms_requests_per_session)
    else:
        s3 = requests_per_account.get("s3.PutObject", 0.0) * accounts
    publishes = requests_per_account.get("sns.Publish", 0.0) * accounts
    return s3 + publishes * assumptions.kms_requests_per_publish


def step_functions(
    accounts: int, seconds_per_call: float, assumptions: Assumptions
) -> dict[str, float]:
    """Billed with the same per-call latency as ours (each call waited on in turn,
    as that design makes them) and the same memory size."""
    gb = assumptions.memory_mb / 1024
    billed = sum(
        max(0.001, calls * seconds_per_call) for calls in assumptions.sfn_calls_per_account
    )
    parts = {
        "transitions": assumptions.sfn_transitions * accounts * SFN_TRANSITION,
        "lambda_requests": assumptions.sfn_invocations * accounts * LAMBDA_REQUEST,
        "lambda_duration": billed * accounts * gb * LAMBDA_GB_SECOND,
        "s3_put": accounts * S3_PUT,
    }
    parts["per_run"] = sum(parts.values())
    return parts


def model(
    requests_per_account: dict[str, float],
    invocations_per_account: float,
    billed_seconds_per_account: float,
    seconds_per_call: float,
    assumptions: Assumptions | None = None,
) -> dict[str, Any]:
    assumptions = assumptions or Assumptions()
    runs: dict[str, Any] = {}
    for accounts in (1_000, 10_000):
        mine = ours(
            requests_per_account,
            invocations_per_account,
            billed_seconds_per_account,
            accounts,
            assumptions,
        )
        theirs = step_functions(accounts, seconds_per_call, assumptions)
        runs[str(accounts)] = {
            "ours": mine,
            "step_functions": theirs,
            "ratio": theirs["per_run"] / mine["per_run"],
            "ratio_with_a_day_of_idle_polling": theirs["per_run"]
            / mine["per_run_with_a_day_of_idle_polling"],
            "ratio_with_a_day_of_fixed_costs": theirs["per_run"]
            / mine["per_run_with_a_day_of_fixed_costs"],
        }
    return {"assumptions": asdict(assumptions), "runs": runs}
