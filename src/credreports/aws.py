"""How every boto3 client of credreports is built.

The endpoint comes from the environment (``AWS_ENDPOINT_URL`` points at the
embedded emulator locally; unset on Lambda). Retries use botocore's
"standard" mode: it retries throttling (Throttling, TooManyRequestsException,
LimitExceeded is not among them — see credential_report.py) and 5xx errors with
jittered backoff. What is still failing after that is re-enqueued with a delay
by the worker, which is the cheaper place to wait.

Two services get their own configuration:

- the worker's calls (STS and IAM in member accounts, S3 for the report):
  short timeouts and two attempts, so that one record, every call of it
  timing out on every attempt, still ends inside the worker's timeout
  (``worst_call_seconds``; tests/unit/test_time_budget.py checks it against
  template.yaml);
- Organizations: standard retries with more attempts. Not botocore's
  "adaptive" mode: the listing paces itself (organization.PAGES_PER_SECOND),
  and adaptive mode's client-side limiter cuts its rate by 30% on every
  throttle as if the throttle were its own doing. Organizations' request
  quota is shared by every caller in the management account (Control Tower,
  Config, Identity Center, other scanners), so throttles this client did not
  cause drive it to its floor of 0.5 requests a second, at which an
  organization of 10,000 accounts in 200 OUs (about 900 pages) cannot be
  listed inside the producer's timeout. The producer builds a new client per
  invocation, so each run starts with a full retry quota instead of what a
  warm container left of it.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

RETRY_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=5,
    read_timeout=20,
    # Pooled connections, enough for the worker's concurrent records.
    max_pool_connections=20,
)

# One call of a worker's record: STS AssumeRole, IAM Generate/GetCredentialReport,
# S3 PutObject. A GetCredentialReport of 5,000 users (~1.2 MB) arrives well
# inside the read timeout, which bounds each socket read, not the whole body.
WORKER_CALL_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 2},
    connect_timeout=2,
    read_timeout=8,
)

ORGANIZATIONS_CONFIG = Config(retries={"mode": "standard", "max_attempts": 10})

# botocore's backoff before retry i (1-based) is at most min(2**(i-1), 20) s for
# throttling, plus up to 5 s more when the answer carries x-amz-retry-after.
_MAX_BACKOFF = 20
_RETRY_AFTER_ALLOWANCE = 5


def client(service: str, config: Config | None = None, **kwargs: Any) -> Any:
    """A boto3 client with the project's retry and timeout configuration;
    ``config`` overrides parts of it for one client."""
    merged = RETRY_CONFIG.merge(config) if config else RETRY_CONFIG
    return boto3.client(service, config=merged, **kwargs)


def worker_client(service: str, **kwargs: Any) -> Any:
    """A client for the calls the worker makes per record (WORKER_CALL_CONFIG)."""
    return client(service, WORKER_CALL_CONFIG, **kwargs)


def worst_call_seconds(config: Config) -> float:
    """The longest one call can take with ``config`` merged over RETRY_CONFIG:
    every attempt connecting and reading up to its timeouts, and the longest
    backoff between attempts."""
    merged = RETRY_CONFIG.merge(config)
    attempts = int(merged.retries["max_attempts"])
    per_attempt = float(merged.connect_timeout) + float(merged.read_timeout)
    backoffs: int = sum(
        min(2 ** (retry - 1), _MAX_BACKOFF) + _RETRY_AFTER_ALLOWANCE for retry in range(1, attempts)
    )
    return attempts * per_attempt + backoffs
