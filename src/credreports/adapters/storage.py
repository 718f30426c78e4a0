"""S3: reports, failure records and run manifests, at the keys of layout.py.

Evidence is written once: a report is put with ``If-None-Match: *``, so a
duplicate delivery can never replace a stored one. Documents that change (the
run manifest) change only by conditional writes: read with their ETag, put back
with ``If-Match`` on it. Whether a key exists is asked with ListObjectsV2, which
needs ``s3:ListBucket`` on the prefix and not ``s3:GetObject`` on the object
(HeadObject is authorised as GetObject: a role that may ask would also read).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from credreports import aws, layout
from credreports.adapters.aws_errors import describe, error_code, is_denied
from credreports.errors import ConcurrentUpdateError, RetryableError, StorageDenied
from credreports.observability import logger

# S3's answer when If-None-Match or If-Match does not hold.
PRECONDITION_FAILED = "PreconditionFailed"


def _translate(exc: Exception) -> Exception:
    if is_denied(exc):
        return StorageDenied(describe(exc))
    return RetryableError(describe(exc))


def _precondition_failed(exc: ClientError) -> bool:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error_code(exc) == PRECONDITION_FAILED or status == 412


@dataclass(frozen=True)
class Versioned:
    """A JSON document and the ETag it was read with (for a conditional put)."""

    document: Any
    etag: str


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

    def _put(
        self,
        key: str,
        body: bytes,
        content_type: str,
        metadata: dict[str, str],
        **condition: str,
    ) -> str:
        """Put the object; returns its ETag. ``condition`` is IfNoneMatch or
        IfMatch; a 412 comes back as the ClientError, for the caller to read."""
        try:
            answer = self._client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                Metadata=metadata,
                **condition,
            )
        except ClientError as exc:
            if condition and _precondition_failed(exc):
                raise
            raise _translate(exc) from exc
        except BotoCoreError as exc:
            raise _translate(exc) from exc
        return str(answer.get("ETag", ""))

    def put_report(
        self, run_id: str, account_id: str, content: bytes, metadata: dict[str, str]
    ) -> str:
        """Store the report once. If one is already stored at its key (a
        duplicate delivery, or a retry whose first put landed), that one stays
        and the write counts as done."""
        key = layout.report_key(self.prefix, run_id, account_id)
        try:
            self._put(key, content, "text/csv", metadata, IfNoneMatch="*")
        except ClientError as exc:
            if not _precondition_failed(exc):
                raise
            logger.info("duplicate: report already stored, left as it was", key=key)
        return key

    def put_json(self, key: str, document: Any, metadata: dict[str, str] | None = None) -> str:
        self._put(key, json_body(document), "application/json", metadata or {})
        return key

    def get_versioned_json(self, key: str) -> Versioned | None:
        """The JSON document at ``key`` with its ETag, or None if there is none."""
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in {"NoSuchKey", "404"}:
                return None
            raise _translate(exc) from exc
        except BotoCoreError as exc:
            raise _translate(exc) from exc
        return Versioned(document=json.loads(answer["Body"].read()), etag=str(answer["ETag"]))

    def create_json(self, key: str, document: Any) -> str:
        """Write ``document`` at ``key`` only if nothing is there yet; returns
        the new ETag. Raises ConcurrentUpdateError if the key is taken."""
        try:
            return self._put(key, json_body(document), "application/json", {}, IfNoneMatch="*")
        except ClientError as exc:
            raise ConcurrentUpdateError(f"s3://{self.bucket}/{key} exists already") from exc

    def replace_json(self, key: str, document: Any, etag: str) -> str:
        """Write ``document`` at ``key`` only if the stored object still has
        ``etag`` (the one it was read with); returns the new ETag. Raises
        ConcurrentUpdateError if someone else changed it in between: read it
        again and redo the change."""
        try:
            return self._put(key, json_body(document), "application/json", {}, IfMatch=etag)
        except ClientError as exc:
            raise ConcurrentUpdateError(
                f"s3://{self.bucket}/{key} changed since it was read (ETag {etag})"
            ) from exc

    def get_json(self, key: str) -> Any | None:
        """The JSON document at ``key``, or None if there is none."""
        stored = self.get_versioned_json(key)
        return None if stored is None else stored.document

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
        """Whether an object is stored at ``key``, by listing it: no read of
        the object, so the caller needs ListBucket on the prefix, not GetObject."""
        return self.etag(key) is not None

    def etag(self, key: str) -> str | None:
        """The ETag of the object at ``key`` (for an If-Match write), or None
        if there is none; listed, never read, as ``exists``."""
        try:
            answer = self._client.list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc) from exc
        # The key itself sorts first among the keys it prefixes.
        for item in answer.get("Contents", []):
            if item["Key"] == key:
                return str(item.get("ETag", ""))
        return None

    def mark(self, key: str) -> bool:
        """Write an empty marker at ``key`` once (If-None-Match): True if this
        call wrote it, False if it was there already."""
        try:
            self._put(key, b"", "application/octet-stream", {}, IfNoneMatch="*")
        except ClientError as exc:
            if not _precondition_failed(exc):
                raise
            return False
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
