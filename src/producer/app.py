"""Producer: one work message per active account of the organization."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from credreports import dependencies
from credreports.logic.producer import parse_event, start_run
from credreports.models import ids
from credreports.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    wiring = dependencies.producer()
    # ids.utc_now, looked up at each call: the tests set the clock a
    # scheduled event is delivered at.
    request = parse_event(
        event, now=ids.utc_now(), schedule_rule_arn=wiring.settings.schedule_rule_arn
    )
    summary = start_run(
        request,
        wiring.settings,
        dependencies.organization(),
        wiring.queue,
        wiring.store,
        wiring.checks,
    )
    return summary.as_dict()
