"""dlq_handler: a failure record per dead letter, one SNS digest per batch."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from credreports import dependencies
from credreports.logic.dlq_handler import DeadLetter, Recorded
from credreports.models.ids import utc_now
from credreports.observability import logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> Recorded | None:
    letter = DeadLetter(
        message_id=record.message_id,
        body=record.body,
        receive_count=int(record.attributes.approximate_receive_count),
    )
    return dependencies.failure_recorder().record(letter, now=utc_now())


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    recorder = dependencies.failure_recorder()
    with processor(records=event["Records"], handler=record_handler, lambda_context=context):
        results = processor.process()
    recorded = [result for status, result, _ in results if status == "success" and result]
    # One digest for the batch. If SNS refuses it, the handler raises and the
    # whole batch comes back: the records are rewritten (same keys) and the
    # digest is sent again, so no failure goes unannounced.
    if recorded:
        recorder.notify(recorded)
    return processor.response()
