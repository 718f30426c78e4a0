"""Logger, metrics and tracer: set up once, imported everywhere.

Logs are JSON with ``run_id`` and ``account_id`` appended per record
(``record_keys``: a context variable, so records handled concurrently do not
mix). Never log report content or credentials: log identifiers, states,
counts and reason codes only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "credreports"
NAMESPACE = "credreports"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
# Disabled outside Lambda and by POWERTOOLS_TRACE_DISABLED=true.
tracer = Tracer(service=SERVICE)


@contextmanager
def record_keys(**keys: Any) -> Iterator[None]:
    """Log keys of one record. Logger.append_keys changes keys shared by every
    thread; these live in a context variable, so records collected
    concurrently each log their own run_id and account_id."""
    logger.thread_safe_append_keys(**keys)
    try:
        yield
    finally:
        logger.thread_safe_remove_keys(keys)


__all__ = ["MetricUnit", "logger", "metrics", "record_keys", "tracer"]
