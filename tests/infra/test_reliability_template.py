"""Issue 11 (the template's part): a dead-letter path someone watches, producer
failures recorded, one producer run at a time, a batching window on the
worker's event source, and the local loop timing out as the functions do."""

from __future__ import annotations

from typing import Any

import pytest

from credreports.local import pipeline
from credreports.logic.dlq_handler import UNRECORDED_METRIC
from credreports.observability import NAMESPACE, SERVICE
from tests.infra.conftest import TEMPLATE, load_template

RESOURCES: dict[str, Any] = load_template(TEMPLATE)["Resources"]
PARAMETERS: dict[str, Any] = load_template(TEMPLATE)["Parameters"]
TOPIC = {"Ref": "NotificationTopic"}


def _properties(name: str) -> dict[str, Any]:
    properties: dict[str, Any] = RESOURCES[name]["Properties"]
    return properties


def _alarm_on(namespace: str, metric: str, dimension: tuple[str, Any]) -> dict[str, Any]:
    """The one alarm of the template on this metric and dimension."""
    found = [
        properties
        for properties in (
            resource["Properties"]
            for resource in RESOURCES.values()
            if resource["Type"] == "AWS::CloudWatch::Alarm"
        )
        if properties["Namespace"] == namespace
        and properties["MetricName"] == metric
        and properties["Dimensions"] == [{"Name": dimension[0], "Value": dimension[1]}]
    ]
    assert len(found) == 1, f"{len(found)} alarms on {namespace} {metric} {dimension}"
    alarm = found[0]
    assert alarm["AlarmActions"] == [TOPIC]
    assert alarm["TreatMissingData"] == "notBreaching"
    return alarm


DEAD_LETTERS = ("QueueName", {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]})


def test_letters_kept_in_flight_by_a_failing_handler_raise_an_alarm() -> None:
    alarm = _alarm_on("AWS/SQS", "ApproximateNumberOfMessagesNotVisible", DEAD_LETTERS)
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["Threshold"] == 1
    # Letters in flight through every sample of the whole span: a failing
    # handler; a letter held back as a digest reminder is in flight for one
    # visibility timeout only, shorter than that span.
    assert alarm["Statistic"] == "Minimum"
    span = alarm["Period"] * alarm["EvaluationPeriods"]
    assert span > _properties("DeadLetterQueue")["VisibilityTimeout"]
    assert span <= 3600


def test_a_failing_dlq_handler_raises_an_alarm() -> None:
    alarm = _alarm_on("AWS/Lambda", "Errors", ("FunctionName", {"Ref": "DlqHandlerFunction"}))
    assert (alarm["Statistic"], alarm["Threshold"]) == ("Sum", 1)


def test_letters_the_handler_could_not_record_raise_an_alarm_on_the_metric_it_emits() -> None:
    # The code's metric name, namespace and Powertools' service dimension
    alarm = _alarm_on(NAMESPACE, UNRECORDED_METRIC, ("service", SERVICE))
    assert (alarm["Statistic"], alarm["Threshold"]) == ("Sum", 1)
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_a_letter_nearing_the_queues_retention_raises_an_alarm_days_before() -> None:
    alarm = _alarm_on("AWS/SQS", "ApproximateAgeOfOldestMessage", DEAD_LETTERS)
    retention = _properties("DeadLetterQueue")["MessageRetentionPeriod"]
    # Days to act before SQS deletes the letter, and not an alarm on every letter
    assert retention - alarm["Threshold"] >= 2 * 86400
    assert alarm["Threshold"] >= retention / 2


def test_a_failed_producer_run_is_kept_on_an_encrypted_queue_that_raises_an_alarm() -> None:
    producer = _properties("ProducerFunction")
    queue = {"Fn::GetAtt": ["ProducerFailureQueue", "Arn"]}

    # The event (dead-letter queue) and the invocation record with its error
    # (OnFailure destination), after Lambda's retries
    assert producer["DeadLetterQueue"] == {"Type": "SQS", "TargetArn": queue}
    invoke = producer["EventInvokeConfig"]
    assert invoke["DestinationConfig"]["OnFailure"] == {"Type": "SQS", "Destination": queue}
    assert invoke["MaximumRetryAttempts"] >= 1
    # ...on a queue encrypted at rest, refusing plain HTTP, kept 14 days
    failures = _properties("ProducerFailureQueue")
    assert failures["SqsManagedSseEnabled"] is True
    assert failures["MessageRetentionPeriod"] == 14 * 86400
    statements = {
        statement["Sid"]: statement
        for statement in _properties("ProducerFailureQueuePolicy")["PolicyDocument"]["Statement"]
    }
    assert statements["DenyInsecureTransport"]["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}
    }
    # ...which Lambda may send to with the producer's role
    grants = [
        statement
        for policy in _properties("ProducerRole")["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        if isinstance(statement, dict) and statement.get("Resource") == queue
    ]
    assert [g["Action"] for g in grants] == ["sqs:SendMessage"]
    # ...and a message on it raises an alarm
    alarm = _alarm_on(
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        ("QueueName", {"Fn::GetAtt": ["ProducerFailureQueue", "QueueName"]}),
    )
    assert alarm["Threshold"] == 1


def test_the_producer_needs_no_checkov_skip_for_its_dead_letter_queue() -> None:
    skips = {skip["id"] for skip in RESOURCES["ProducerFunction"]["Metadata"]["checkov"]["skip"]}
    assert "CKV_AWS_116" not in skips and "CKV_AWS_115" not in skips


def test_one_producer_run_at_a_time() -> None:
    assert _properties("ProducerFunction")["ReservedConcurrentExecutions"] == 1


def test_the_worker_event_source_gathers_batches_for_a_few_seconds() -> None:
    mapping = _properties("WorkerEventSourceMapping")
    window = PARAMETERS["WorkerBatchingWindowSeconds"]

    assert mapping["MaximumBatchingWindowInSeconds"] == {"Ref": "WorkerBatchingWindowSeconds"}
    assert 1 <= window["Default"] <= 10
    assert window["MinValue"] == 0
    # Lambda asks for a visibility timeout of 6 x the timeout plus the window
    timeout = _properties("WorkerFunction")["Timeout"]
    assert _properties("WorkQueue")["VisibilityTimeout"] >= 6 * timeout + window["MaxValue"]


def test_a_held_digest_reminder_comes_back_in_a_later_window() -> None:
    interval = _properties("DlqHandlerFunction")["Environment"]["Variables"][
        "DIGEST_INTERVAL_SECONDS"
    ]
    assert 0 < int(interval) < _properties("DeadLetterQueue")["VisibilityTimeout"]


@pytest.mark.parametrize(
    ("function", "local"),
    [
        ("ProducerFunction", pipeline.PRODUCER_TIMEOUT_SECONDS),
        ("WorkerFunction", pipeline.WORKER_TIMEOUT_SECONDS),
        ("DlqHandlerFunction", pipeline.DLQ_HANDLER_TIMEOUT_SECONDS),
    ],
)
def test_the_local_loop_times_out_as_the_deployed_functions(function: str, local: float) -> None:
    assert _properties(function)["Timeout"] == local
