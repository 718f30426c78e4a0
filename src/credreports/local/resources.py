"""The stack's resources, created directly in the emulator for fast tests.

template.yaml is the deployable truth; this creates the same wiring (queues
with redrive and a longer-lived DLQ, encrypted bucket, topic) in a few calls,
with the small timeouts that make a local run fast. The TLS-only bucket
policy is left out: moto ignores its condition and would deny every request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from credreports import aws
from credreports.settings import FUNCTION_SETTINGS, variables

# Powertools' own settings, as the template sets them.
LOCAL_SCHEDULE_RULE_ARN = "arn:aws:events:us-east-1:123456789012:rule/credreports-schedule"
LOCAL_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "credreports",
    "POWERTOOLS_METRICS_NAMESPACE": "credreports",
}
# Read by Powertools, not by the settings models: accepted as overrides.
POWERTOOLS_VARIABLES = {"LOG_LEVEL", "POWERTOOLS_LOG_LEVEL", "POWERTOOLS_METRICS_DISABLED"}


def _all_variables() -> set[str]:
    return {name for model in FUNCTION_SETTINGS.values() for name in variables(model)}


@dataclass(frozen=True)
class Resources:
    work_queue_url: str
    dead_letter_queue_url: str
    bucket: str
    topic_arn: str
    prefix: str = ""

    def environment(self, **overrides: str) -> dict[str, str]:
        """The functions' environment for these resources: where each
        resource is, no retry delay and short digest windows (a local run
        should not wait), and the
        settings' own defaults for everything else. ``overrides`` must name
        variables that some function reads."""
        unknown = set(overrides) - POWERTOOLS_VARIABLES - set(LOCAL_ENVIRONMENT) - _all_variables()
        if unknown:
            raise ValueError(f"no function reads {', '.join(sorted(unknown))}")
        values = {
            "WORK_QUEUE_URL": self.work_queue_url,
            "DEAD_LETTER_QUEUE_URL": self.dead_letter_queue_url,
            "REPORT_BUCKET": self.bucket,
            "REPORT_PREFIX": self.prefix,
            "NOTIFICATION_TOPIC_ARN": self.topic_arn,
            "MEMBER_ROLE_NAME": "credreports-member",
            # The template's rule is <stack>-schedule; locally, the stand-in
            # whose events the tests send (tests/support/builders.py).
            "SCHEDULE_RULE_ARN": LOCAL_SCHEDULE_RULE_ARN,
            "RETRY_DELAY_SECONDS": "0",
            # Digest windows of seconds, not minutes: a letter held back as a
            # reminder comes back after the local queue's short visibility timeout.
            "DIGEST_INTERVAL_SECONDS": "2",
            **LOCAL_ENVIRONMENT,
        }
        values.update(overrides)
        return values


def create(
    name: str = "credreports",
    *,
    visibility_timeout: int = 2,
    max_receive_count: int = 3,
    prefix: str = "",
    sqs: Any = None,
    s3: Any = None,
    sns: Any = None,
) -> Resources:
    """Create the queues, bucket and topic; returns where they are."""
    sqs = sqs or aws.client("sqs")
    s3 = s3 or aws.client("s3")
    sns = sns or aws.client("sns")

    def queue(queue_name: str, retention: int, **attributes: str) -> tuple[str, str]:
        url = sqs.create_queue(
            QueueName=queue_name,
            Attributes={
                "MessageRetentionPeriod": str(retention),
                "VisibilityTimeout": str(visibility_timeout),
                "SqsManagedSseEnabled": "true",
                **attributes,
            },
        )["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return url, arn["Attributes"]["QueueArn"]

    # The DLQ keeps messages longer than the work queue (SQS keeps a moved
    # message's original enqueue time).
    dlq_url, dlq_arn = queue(f"{name}-dead-letter", 1_209_600)
    work_url, _ = queue(
        f"{name}-work",
        345_600,
        RedrivePolicy=json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count}
        ),
    )
    bucket = f"{name}-reports"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    topic_arn = sns.create_topic(Name=f"{name}-failures")["TopicArn"]
    return Resources(
        work_queue_url=work_url,
        dead_letter_queue_url=dlq_url,
        bucket=bucket,
        topic_arn=topic_arn,
        prefix=prefix,
    )
