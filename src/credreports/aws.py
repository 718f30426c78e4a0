"""How every boto3 client of credreports is built.

The endpoint comes from the environment (``AWS_ENDPOINT_URL`` points at the
embedded emulator locally; unset on Lambda). Retries use botocore's
"standard" mode: it retries throttling (Throttling, TooManyRequestsException,
LimitExceeded is not among them — see credential_report.py) and 5xx errors with
jittered backoff. Three attempts keep one record's worst case well inside the
function timeout; what is still failing after that is re-enqueued with a delay
by the worker, which is the cheaper place to wait.
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


def client(service: str, config: Config | None = None, **kwargs: Any) -> Any:
    """A boto3 client with the project's retry and timeout configuration;
    ``config`` overrides parts of it for one client."""
    merged = RETRY_CONFIG.merge(config) if config else RETRY_CONFIG
    return boto3.client(service, config=merged, **kwargs)
