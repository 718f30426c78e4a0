"""Worker: collect the credential report of each account in the SQS batch."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes import SQSEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from credreports import dependencies, memory
from credreports.logic.worker.batch import Record
from credreports.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    # Once per container: report-sized buffers go back to the OS when freed,
    # so 10 records at once fit in 128 MB (credreports.memory).
    memory.return_freed_buffers_to_the_os()
    # Settings are checked before the batch: a misconfigured function fails
    # loudly instead of failing each record.
    batch = dependencies.worker()
    # Records run concurrently, which Powertools' BatchProcessor does not do;
    # WorkerBatch.handle is its small equivalent: a partial batch response
    # with the records that raised, that were unfinished when the time left
    # ran short, or whose re-enqueue could not be sent.
    records = [Record(message_id=r.message_id, body=r.body) for r in SQSEvent(event).records]
    retry = batch.handle(records, time_left=context.get_remaining_time_in_millis() / 1000)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in retry]}
