"""Reading the emulator as a test does, straight through boto3 (independently
of the code under test): keys, JSON objects, queue depths, SNS messages."""

from __future__ import annotations

import json
from typing import Any

import boto3


def list_keys(bucket: str, prefix: str) -> list[str]:
    """Every key under ``prefix``, all pages."""
    keys: list[str] = []
    pages = (
        boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    )
    for page in pages:
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys


def read_json(bucket: str, key: str) -> Any:
    return json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def queue_depth(queue_url: str) -> int:
    """Messages visible, in flight and delayed, together."""
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["All"]
    )["Attributes"]
    return sum(
        int(attributes[name])
        for name in (
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        )
    )


def subscribe_queue_to_topic(topic_arn: str, name: str = "digest-reader") -> str:
    """An SQS subscription on the topic: how the tests read what SNS sent."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    boto3.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return url


def read_notifications(queue_url: str) -> list[dict[str, Any]]:
    """The SNS messages delivered to ``queue_url`` (subject, JSON body,
    attributes), taken off the queue."""
    sqs = boto3.client("sqs")
    received = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not messages:
            return received
        for message in messages:
            envelope = json.loads(message["Body"])
            received.append(
                {
                    "subject": envelope["Subject"],
                    "body": json.loads(envelope["Message"]),
                    "attributes": envelope.get("MessageAttributes", {}),
                }
            )
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
