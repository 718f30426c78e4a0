"""Small fakes of the adapters (the Protocols of credreports.ports and the
ReportStore), for the unit tests of the logic: no emulator, no threads."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from credreports.adapters.credential_report import CredentialReport
from credreports.adapters.organization import Account
from credreports.adapters.queue import Outgoing
from credreports.adapters.storage import ReportStore, StoredObject, Versioned
from credreports.errors import (
    CollectionError,
    ConcurrentUpdateError,
    DeliveryError,
    OrganizationListingError,
)

_EPOCH = datetime(2026, 11, 23, tzinfo=UTC)


class _Objects(dict[str, bytes]):
    """The bucket's objects by key; called with a prefix, its listing with
    each key's last write (what ReportStore.objects answers)."""

    def __init__(self, modified: dict[str, datetime]) -> None:
        super().__init__()
        self._modified = modified

    def __call__(self, prefix: str) -> Iterator[StoredObject]:
        return iter(
            [
                StoredObject(k, self._modified.get(k, _EPOCH))
                for k in sorted(self)
                if k.startswith(prefix)
            ]
        )


class MemoryStore(ReportStore):
    """A bucket in a dict."""

    def __init__(self, prefix: str = "") -> None:
        self.bucket = "memory"
        self.prefix = prefix
        # When each key was last written: one second apart, in writing order.
        self.modified: dict[str, datetime] = {}
        self.objects = _Objects(self.modified)
        self.metadata: dict[str, dict[str, str]] = {}
        self.writes = 0

    def put_json(self, key: str, document: Any, metadata: dict[str, str] | None = None) -> str:
        self.objects[key] = json.dumps(document, default=str).encode()
        self._written(key)
        return key

    def _written(self, key: str) -> None:
        self.writes += 1
        self.modified[key] = _EPOCH + timedelta(seconds=self.writes)

    def put_report(
        self, run_id: str, account_id: str, content: bytes, metadata: dict[str, str]
    ) -> str:
        from credreports import layout

        key = layout.report_key(self.prefix, run_id, account_id)
        # Written once (If-None-Match: *): a stored report stays.
        if key not in self.objects:
            self.objects[key] = content
            self.metadata[key] = metadata
            self._written(key)
        return key

    def get_versioned_json(self, key: str) -> Versioned | None:
        if key not in self.objects:
            return None
        return Versioned(document=json.loads(self.objects[key]), etag=self._etag(key))

    def create_json(self, key: str, document: Any) -> str:
        if key in self.objects:
            raise ConcurrentUpdateError(f"{key} exists already")
        self.put_json(key, document)
        return self._etag(key)

    def replace_json(self, key: str, document: Any, etag: str) -> str:
        if key not in self.objects or self._etag(key) != etag:
            raise ConcurrentUpdateError(f"{key} changed since it was read")
        self.put_json(key, document)
        return self._etag(key)

    def mark(self, key: str) -> bool:
        if key in self.objects:
            return False
        self.objects[key] = b""
        return True

    def _etag(self, key: str) -> str:
        return '"' + hashlib.md5(self.objects[key], usedforsecurity=False).hexdigest() + '"'

    def get_json(self, key: str) -> Any | None:
        return json.loads(self.objects[key]) if key in self.objects else None

    def read(self, key: str) -> bytes:
        return self.objects[key]

    def exists(self, key: str) -> bool:
        return key in self.objects

    def keys(self, prefix: str) -> Iterator[str]:
        return iter(sorted(k for k in self.objects if k.startswith(prefix)))

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)


@dataclass
class MemoryQueue:
    """A queue that keeps what was sent; ``refuse`` names accounts it will not take."""

    url: str = "https://sqs.us-east-1.amazonaws.com/123456789012/memory"
    sent: list[Outgoing] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    def deliver(self, messages: Sequence[Outgoing]) -> list[tuple[Outgoing, str]]:
        refused = [(m, "service: InternalError") for m in messages if m.key in self.refuse]
        self.sent.extend(m for m in messages if m.key not in self.refuse)
        return refused

    def send_all(self, messages: Sequence[Outgoing]) -> None:
        refused = self.deliver(messages)
        if refused:
            raise DeliveryError(f"could not send: {', '.join(m.key for m, _ in refused)}")

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(message.body) for message in self.sent]


@dataclass
class MemoryOrganization:
    """Accounts by OU (``by_ou``: OU or root id -> its own accounts) and the
    OU tree (``children``); ``fail`` makes every listing raise, as a throttled
    Organizations would once botocore gave up."""

    by_ou: dict[str, list[Account]]
    children: dict[str, list[str]] = field(default_factory=dict)
    fail: bool = False

    def accounts(self) -> list[Account]:
        self._check()
        return [account for accounts in self.by_ou.values() for account in accounts]

    def accounts_under(self, parent_id: str) -> list[Account]:
        self._check()
        found = list(self.by_ou.get(parent_id, []))
        for child in self.children.get(parent_id, []):
            found.extend(self.accounts_under(child))
        return found

    def _check(self) -> None:
        if self.fail:
            raise OrganizationListingError("ListAccounts: TooManyRequestsException: injected")


@dataclass
class ScriptedReports:
    """IAM in member accounts, answering from a script: each Generate takes
    the next state (or raises the next error) of the account's script; the
    last entry repeats."""

    script: dict[str, list[str | CollectionError]]
    content: bytes = b"user,arn\nalice,arn:aws:iam::111111111111:user/alice\n"
    polls: dict[str, int] = field(default_factory=dict)
    fetch_error: CollectionError | None = None

    def generate(self, account_id: str, run_id: str = "") -> str:
        count = self.polls.get(account_id, 0)
        self.polls[account_id] = count + 1
        steps = self.script[account_id]
        step = steps[min(count, len(steps) - 1)]
        if isinstance(step, CollectionError):
            raise step
        return step

    def fetch(self, account_id: str, run_id: str = "") -> CredentialReport:
        if self.fetch_error is not None:
            raise self.fetch_error
        return CredentialReport(
            content=self.content, generated_time=datetime(2026, 11, 23, 2, 1, tzinfo=UTC)
        )
