"""dlq_handler: a failure record per dead letter, a digest per run and window."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from credreports import dependencies
from credreports.logic.dlq_handler import UNRECORDED_METRIC, DeadLetter, Recorded
from credreports.models.ids import utc_now
from credreports.observability import MetricUnit, logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> Recorded | None:
    letter = DeadLetter(
        message_id=record.message_id,
        body=record.body,
        receive_count=int(record.attributes.approximate_receive_count),
        receipt_handle=record.receipt_handle,
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
    unrecorded = sum(1 for status, _, _ in results if status != "success")
    if unrecorded:
        # Those letters come back; the alarm on this metric says it happens.
        metrics.add_metric(name=UNRECORDED_METRIC, unit=MetricUnit.Count, value=unrecorded)
    response = processor.response()
    # If SNS refuses a digest, the handler raises and the whole batch comes
    # back: the records are rewritten (same keys), and the run's next digest
    # (a reminder holds a letter back for it) announces them.
    if recorded:
        notified = recorder.notify(recorded, now=utc_now())
        response["batchItemFailures"].extend(
            {"itemIdentifier": message_id} for message_id in notified.held
        )
    return response
