"""Producer: one work message per active account of the organization."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from credreports import dependencies
from credreports.logic.producer import parse_event, start_run
from credreports.models.ids import utc_now
from credreports.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    wiring = dependencies.producer()
    request = parse_event(event, now=utc_now())
    summary = start_run(
        request,
        wiring.settings,
        dependencies.organization(time_left=context.get_remaining_time_in_millis() / 1000),
        wiring.queue,
        wiring.store,
    )
    return summary.as_dict()
