"""What a run announced, captured in the emulator the way a subscriber would
take it: an SQS subscription on the notification topic, and an EventBridge
rule on the default bus (``source`` ``credreports``) with an SQS target.
The demo writes what it captures under ``--out/notifications/``; the tests
count it (one announcement per run outcome)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from credreports import aws
from credreports.logic.summarizer.announce import KIND, SOURCE


@dataclass(frozen=True)
class SnsMessage:
    subject: str
    message: str
    attributes: dict[str, str]  # name -> value (arrays as their JSON text)

    @property
    def kind(self) -> str:
        return self.attributes.get("kind", "")

    def as_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "attributes": self.attributes, "message": self.message}


@dataclass(frozen=True)
class Event:
    detail_type: str
    detail: dict[str, Any]
    source: str
    id: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "detail-type": self.detail_type,
            "id": self.id,
            "detail": self.detail,
        }


@dataclass
class AnnouncementCapture:
    """Queues that receive every message of the topic and every credreports
    event; :meth:`collect` takes what arrived since the last call."""

    topic_arn: str
    name: str = "announcements"
    sns: list[SnsMessage] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    _sqs: Any = field(init=False, repr=False)
    _sns_queue: str = field(init=False)
    _event_queue: str = field(init=False)

    def __post_init__(self) -> None:
        self._sqs = aws.client("sqs")
        self._sns_queue, sns_arn = self._queue(f"{self.name}-sns")
        self._event_queue, event_arn = self._queue(f"{self.name}-events")
        sns = aws.client("sns")
        subscribed = {
            item["Endpoint"]
            for item in sns.list_subscriptions_by_topic(TopicArn=self.topic_arn)["Subscriptions"]
        }
        if sns_arn not in subscribed:
            sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=sns_arn)
        events = aws.client("events")
        events.put_rule(Name=self.name, EventPattern=json.dumps({"source": [SOURCE]}))
        events.put_targets(Rule=self.name, Targets=[{"Id": "capture", "Arn": event_arn}])

    def _queue(self, name: str) -> tuple[str, str]:
        url = str(self._sqs.create_queue(QueueName=name)["QueueUrl"])
        arn = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return url, str(arn["Attributes"]["QueueArn"])

    def _drain(self, url: str) -> list[dict[str, Any]]:
        bodies: list[dict[str, Any]] = []
        while True:
            messages = self._sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return bodies
            for message in messages:
                bodies.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def collect(self) -> AnnouncementCapture:
        """Take what arrived on both queues into :attr:`sns` and :attr:`events`."""
        for envelope in self._drain(self._sns_queue):
            attributes = {
                name: str(value.get("Value", ""))
                for name, value in envelope.get("MessageAttributes", {}).items()
            }
            self.sns.append(
                SnsMessage(
                    subject=envelope.get("Subject", ""),
                    message=envelope["Message"],
                    attributes=attributes,
                )
            )
        for event in self._drain(self._event_queue):
            self.events.append(
                Event(
                    detail_type=event["detail-type"],
                    detail=event["detail"],
                    source=event["source"],
                    id=event["id"],
                )
            )
        return self

    def run_summaries(self, run_id: str | None = None) -> list[SnsMessage]:
        """The run-summary messages (of ``run_id``), in arrival order."""
        return [
            m
            for m in self.sns
            if m.kind == KIND and (run_id is None or m.attributes.get("run_id") == run_id)
        ]

    def run_events(self, run_id: str | None = None) -> list[Event]:
        return [e for e in self.events if run_id is None or e.detail.get("run_id") == run_id]
