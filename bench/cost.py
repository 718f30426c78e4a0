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
    s3_encryption: str = "SSE-S3 (no KMS request per PUT)"


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
    }
    parts["per_run"] = sum(parts.values())
    parts["idle_polling_per_day"] = assumptions.idle_receives_per_day * SQS_REQUEST
    parts["per_run_with_a_day_of_idle_polling"] = parts["per_run"] + parts["idle_polling_per_day"]
    return parts


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
        }
    return {"assumptions": asdict(assumptions), "runs": runs}
