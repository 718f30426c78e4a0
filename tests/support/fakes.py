"""Small fakes of the adapters (the Protocols of credreports.ports and the
ReportStore), for the unit tests of the logic: no emulator, no threads."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from credreports import layout
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
from credreports.logic.checks import CheckSender

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

    # OU id -> its name, for the OU paths (the id when not named)
    names: dict[str, str] = field(default_factory=dict)

    def organization_tree(self, include: set[str] | None = None) -> list[Account]:
        """Every account with its OU path and parents, walked from the roots
        (the OUs that are nobody's child)."""
        self._check()
        nested = {child for children in self.children.values() for child in children}
        found: list[Account] = []

        def walk(parent: str, path: str, parents: tuple[str, ...], inside: bool) -> None:
            if inside:
                found.extend(
                    replace(account, ou_path=path, parents=parents)
                    for account in self.by_ou.get(parent, [])
                )
            for child in self.children.get(parent, []):
                name = self.names.get(child, child)
                walk(
                    child,
                    f"{path}/{name}" if path else name,
                    (*parents, child),
                    inside or child in (include or ()),
                )

        for root in [ou for ou in self.by_ou if ou not in nested]:
            walk(root, "", (root,), not include or root in include)
        return found

    def _check(self) -> None:
        if self.fail:
            raise OrganizationListingError(
                "ListAccountsForParent: TooManyRequestsException: injected"
            )


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


class MemoryBucket(ReportStore):
    """A bucket in a dict, with every ReportStore call the summarizer makes:
    listings with LastModified, metadata, conditional writes of any body,
    streams, folders. (MemoryStore's ``objects`` and ``metadata`` are dicts,
    which the listing methods of these names would shadow.)"""

    def __init__(self, prefix: str = "") -> None:
        self.bucket = "memory"
        self.prefix = prefix
        self.blobs: dict[str, bytes] = {}
        self.meta: dict[str, dict[str, str]] = {}
        self.modified: dict[str, datetime] = {}
        self.puts: list[str] = []

    def _store(self, key: str, body: bytes | IO[bytes], metadata: dict[str, str] | None) -> str:
        self.blobs[key] = body if isinstance(body, bytes) else body.read()
        self.meta[key] = dict(metadata or {})
        self.modified[key] = datetime.now(UTC)
        self.puts.append(key)
        return self._etag(key)

    def _etag(self, key: str) -> str:
        return '"' + hashlib.md5(self.blobs[key], usedforsecurity=False).hexdigest() + '"'

    def put_json(self, key: str, document: Any, metadata: dict[str, str] | None = None) -> str:
        self._store(key, json.dumps(document, default=str).encode(), metadata)
        return key

    def put_report(
        self, run_id: str, account_id: str, content: bytes, metadata: dict[str, str]
    ) -> str:
        key = layout.report_key(self.prefix, run_id, account_id)
        if key not in self.blobs:
            self._store(key, content, metadata)
        return key

    def create_object(self, key: str, body: bytes | IO[bytes], content_type: str) -> str:
        if key in self.blobs:
            raise ConcurrentUpdateError(f"{key} exists already")
        return self._store(key, body, None)

    def replace_object(
        self, key: str, body: bytes | IO[bytes], content_type: str, etag: str
    ) -> str:
        if key not in self.blobs or self._etag(key) != etag:
            raise ConcurrentUpdateError(f"{key} changed since it was read")
        return self._store(key, body, None)

    def create_json(self, key: str, document: Any) -> str:
        return self.create_object(key, json.dumps(document).encode(), "application/json")

    def replace_json(self, key: str, document: Any, etag: str) -> str:
        return self.replace_object(key, json.dumps(document).encode(), "application/json", etag)

    def get_versioned_json(self, key: str) -> Versioned | None:
        if key not in self.blobs:
            return None
        return Versioned(document=json.loads(self.blobs[key]), etag=self._etag(key))

    def get_json(self, key: str) -> Any | None:
        return json.loads(self.blobs[key]) if key in self.blobs else None

    def etag(self, key: str) -> str | None:
        return self._etag(key) if key in self.blobs else None

    def read(self, key: str) -> bytes:
        return self.blobs[key]

    def open(self, key: str) -> IO[bytes] | None:
        return io.BytesIO(self.blobs[key]) if key in self.blobs else None

    def exists(self, key: str) -> bool:
        return key in self.blobs

    def keys(self, prefix: str) -> Iterator[str]:
        return iter(sorted(k for k in self.blobs if k.startswith(prefix)))

    def objects(self, prefix: str) -> Iterator[StoredObject]:
        return iter(StoredObject(k, self.modified[k]) for k in self.keys(prefix))

    def metadata(self, key: str) -> dict[str, str]:
        return dict(self.meta[key])

    def folders(self, prefix: str) -> list[str]:
        return sorted(
            {
                prefix + k[len(prefix) :].split("/")[0] + "/"
                for k in self.keys(prefix)
                if "/" in k[len(prefix) :]
            }
        )

    def delete(self, key: str) -> None:
        self.blobs.pop(key, None)


def memory_checks(delay_seconds: int = 300) -> CheckSender:
    """A control queue in memory, for the run checks the code sends (its
    ``queue.sent`` holds them)."""
    return CheckSender(
        MemoryQueue(url="https://sqs.us-east-1.amazonaws.com/1/control"), delay_seconds
    )
