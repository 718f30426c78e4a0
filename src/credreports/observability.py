"""Logger, metrics and tracer: set up once, imported everywhere.

Logs are JSON with ``run_id`` and ``account_id`` appended per record (context
keys, so concurrent records do not mix). Never log report content or
credentials: log identifiers, states, counts and reason codes only.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "credreports"
NAMESPACE = "credreports"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
# Disabled outside Lambda and by POWERTOOLS_TRACE_DISABLED=true.
tracer = Tracer(service=SERVICE)

__all__ = ["MetricUnit", "logger", "metrics", "tracer"]
