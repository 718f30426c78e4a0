"""S3: reports, failure records and run manifests, at the keys of layout.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from credreports import aws, layout
from credreports.adapters.aws_errors import describe, error_code, is_denied
from credreports.errors import RetryableError, StorageDenied


def _translate(exc: Exception) -> Exception:
    if is_denied(exc):
        return StorageDenied(describe(exc))
    return RetryableError(describe(exc))


def json_body(document: Any) -> bytes:
    """A stored JSON document: on one line, because Athena's JSON SerDe reads
    one document per line (the run_manifests table, template.yaml)."""
    return json.dumps(document, sort_keys=True, default=str).encode()


@dataclass(frozen=True)
class StoredObject:
    """A key as a listing gives it: no metadata, but its LastModified."""

    key: str
    last_modified: datetime


class ReportStore:
    """The report bucket, under an optional prefix."""

    SERVICE = "s3"

    def __init__(self, bucket: str, prefix: str = "", client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self._client = client or aws.client(self.SERVICE)

    def _put(self, key: str, body: bytes, content_type: str, metadata: dict[str, str]) -> None:
        try:
            self._client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                Metadata=metadata,
            )
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc) from exc

    def put_report(
        self, run_id: str, account_id: str, content: bytes, metadata: dict[str, str]
    ) -> str:
        key = layout.report_key(self.prefix, run_id, account_id)
        self._put(key, content, "text/csv", metadata)
        return key

    def put_json(self, key: str, document: Any, metadata: dict[str, str] | None = None) -> str:
        self._put(key, json_body(document), "application/json", metadata or {})
        return key

    def get_json(self, key: str) -> Any | None:
        """The JSON document at ``key``, or None if there is none."""
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in {"NoSuchKey", "404"}:
                return None
            raise _translate(exc) from exc
        except BotoCoreError as exc:
            raise _translate(exc) from exc
        return json.loads(answer["Body"].read())

    def read(self, key: str) -> bytes:
        """The bytes of the object at ``key`` (a report, to copy it elsewhere)."""
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc) from exc
        body: bytes = answer["Body"].read()
        return body

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc) from exc

    def exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise _translate(exc) from exc
        except BotoCoreError as exc:
            raise _translate(exc) from exc
        return True

    def keys(self, prefix: str) -> Iterator[str]:
        """Every key under ``prefix`` (all pages)."""
        for stored in self.objects(prefix):
            yield stored.key

    def objects(self, prefix: str) -> Iterator[StoredObject]:
        """Every object under ``prefix`` with its LastModified (all pages)."""
        try:
            for page in self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            ):
                for item in page.get("Contents", []):
                    yield StoredObject(item["Key"], item["LastModified"])
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc) from exc

    def metadata(self, key: str) -> dict[str, str]:
        """The user metadata of the object at ``key`` (a HEAD: no body read)."""
        try:
            answer = self._client.head_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc) from exc
        return dict(answer.get("Metadata", {}))
