"""SNS: the failure digest for operators."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from credreports import aws
from credreports.adapters.aws_errors import describe
from credreports.errors import DeliveryError


class Notifier:
    SERVICE = "sns"

    def __init__(self, topic_arn: str, client: Any = None) -> None:
        self.topic_arn = topic_arn
        self._client = client or aws.client(self.SERVICE)

    def publish(self, subject: str, message: str, attributes: dict[str, list[str] | str]) -> str:
        """Publish one message; list attributes become String.Array so
        subscribers can filter on any of the values."""
        encoded: dict[str, dict[str, str]] = {}
        for name, value in attributes.items():
            if isinstance(value, list):
                encoded[name] = {"DataType": "String.Array", "StringValue": json.dumps(value)}
            else:
                encoded[name] = {"DataType": "String", "StringValue": value}
        try:
            answer = self._client.publish(
                TopicArn=self.topic_arn,
                Subject=subject,
                Message=message,
                MessageAttributes=encoded,
            )
        except (ClientError, BotoCoreError) as exc:
            raise DeliveryError(describe(exc)) from exc
        return str(answer["MessageId"])
