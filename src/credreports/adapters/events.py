"""EventBridge: the events a run ends with, for whatever is built on them."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from credreports import aws
from credreports.adapters.aws_errors import describe
from credreports.errors import DeliveryError


class EventBus:
    """One event bus (the account's default bus unless named)."""

    SERVICE = "events"

    def __init__(self, name: str = "default", client: Any = None) -> None:
        self.name = name
        self._client = client or aws.client(self.SERVICE)

    def put_event(self, source: str, detail_type: str, detail: dict[str, Any]) -> str:
        """Put one event; returns its id. Raises DeliveryError when EventBridge
        refuses it (the call, or the entry)."""
        try:
            answer = self._client.put_events(
                Entries=[
                    {
                        "Source": source,
                        "DetailType": detail_type,
                        "Detail": json.dumps(detail),
                        "EventBusName": self.name,
                    }
                ]
            )
        except (ClientError, BotoCoreError) as exc:
            raise DeliveryError(describe(exc)) from exc
        (entry,) = answer["Entries"]
        if answer.get("FailedEntryCount") or "EventId" not in entry:
            raise DeliveryError(
                f"PutEvents refused the event: {entry.get('ErrorCode', '?')}: "
                f"{entry.get('ErrorMessage', '')}"
            )
        return str(entry["EventId"])
