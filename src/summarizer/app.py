"""summarizer: each run check on the control queue, settled, summarized and
announced once (credreports.logic.summarizer.check)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from credreports import dependencies
from credreports.ledger import RunNotFoundError
from credreports.logic.summarizer.check import Handled
from credreports.models.ids import utc_now
from credreports.models.messages import InvalidMessageError
from credreports.models.run_check import parse_run_check
from credreports.observability import logger, metrics, record_keys, tracer

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> Handled | None:
    try:
        check = parse_run_check(record.body)
    except InvalidMessageError as exc:
        # Sending it again cannot make it valid: say so and drop it.
        logger.error("run check rejected", message_id=record.message_id, problem=str(exc))
        return None
    with record_keys(run_id=check.run_id):
        try:
            return dependencies.summarizer().handle(check, record.message_id, now=utc_now())
        except RunNotFoundError as exc:
            # No manifest, report or failure record: no such run to end.
            logger.error("run check for a run that left nothing; dropped", problem=str(exc))
            return None


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    # Settings are checked before the batch: a misconfigured function fails loudly.
    dependencies.summarizer()
    with processor(records=event["Records"], handler=record_handler, lambda_context=context):
        processor.process()
    return processor.response()
