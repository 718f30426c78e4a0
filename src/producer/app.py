"""Producer: one work message per active account of the organization."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from credreports import dependencies
from credreports.logic.producer import ProducerEventError, parse_event, start_run
from credreports.models import ids
from credreports.observability import MetricUnit, logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    wiring = dependencies.producer()
    try:
        # ids.utc_now, looked up at each call: the tests set the clock a
        # scheduled event is delivered at.
        request = parse_event(
            event, now=ids.utc_now(), schedule_rule_arn=wiring.settings.schedule_rule_arn
        )
    except ProducerEventError as exc:
        # An answer, not an exception: the same event would be refused on
        # each of Lambda's asynchronous retries. A failure to list or send
        # still raises, so that Lambda retries it and, in the end, the
        # OnFailure destination keeps a record of it.
        logger.error("event refused; no run started", problem=str(exc))
        metrics.add_metric(name="EventsRefused", unit=MetricUnit.Count, value=1)
        return {"error": "ProducerEventError", "message": str(exc)}
    summary = start_run(
        request,
        wiring.settings,
        dependencies.organization(time_left=context.get_remaining_time_in_millis() / 1000),
        wiring.queue,
        wiring.store,
    )
    return summary.as_dict()
