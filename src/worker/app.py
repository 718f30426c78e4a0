"""Worker: collect the credential report of each account in the SQS batch."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from credreports import dependencies
from credreports.observability import logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> str:
    return dependencies.collector().handle(record.body).value


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    # Settings are checked before the batch: a misconfigured function fails
    # loudly instead of failing each record.
    dependencies.collector()
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
