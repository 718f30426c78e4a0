"""Fault injection, on purpose and by name.

Hooks on the test's boto3 session see every call the code under test makes to
the emulator and, where a rule matches, answer instead of it:

- ``before-call`` rules answer without sending anything (and without
  botocore's retries): denied calls, a report that never completes, a failing
  PutObject/Publish, the k-th ListAccounts page failing, a crash (an exception
  that is not an AWS error, as a bug would raise).
- ``before-send`` rules act inside botocore's retry loop, as the network and
  AWS do: throttling answers (which botocore's standard mode retries) and
  latency (on every call, or on one account's calls: a call that hangs).
- an ``after-call`` rule on ReceiveMessage delivers some messages twice.

Rules name the operation and the accounts they apply to; the account of a
member-account call is known from the credentials AssumeRole handed out.
Random choices come from a seeded generator.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse


class InjectedCrash(RuntimeError):
    """What a worker bug or a dying invocation looks like: not an AWS error."""


@dataclass
class _FakeHttp:
    status_code: int


Answer = Callable[[], tuple[Any, dict[str, Any]]]


@dataclass
class _Latency:
    seconds: float
    operations: frozenset[str] | None  # None: every operation
    accounts: frozenset[str] | None  # None: every account
    remaining: int | None = None  # only this many calls


_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


@dataclass
class Rule:
    operation: str  # "sts.AssumeRole", "iam.GenerateCredentialReport", ...
    accounts: frozenset[str] | None  # None: every account
    answer: Answer
    name: str
    calls: frozenset[int] | None = None  # only the n-th calls (1-based) of the operation
    remaining: int | None = None  # only this many times


def _error(code: str, status: int, message: str) -> Answer:
    def answer() -> tuple[Any, dict[str, Any]]:
        return _FakeHttp(status), {
            "Error": {"Code": code, "Message": f"injected: {message}"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }

    return answer


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


# How each service spells a throttling error on the wire.
_JSON_SERVICES = {"organizations", "sqs"}


def _throttling_response(service: str, code: str, url: str) -> AWSResponse:
    if service in _JSON_SERVICES:
        body = json.dumps({"__type": code, "message": "injected: Rate exceeded"}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1"}
    else:
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>injected: Rate exceeded</Message>"
            "</Error><RequestId>injected</RequestId></ErrorResponse>"
        ).encode()
        headers = {"Content-Type": "text/xml"}
    return AWSResponse(url, 400, headers, _Raw(body))


class Faults:
    def __init__(self, session: boto3.Session, seed: int = 20261123) -> None:
        self.rules: list[Rule] = []
        self.fired: Counter[str] = Counter()
        self._calls: Counter[str] = Counter()
        self._throttles: list[tuple[frozenset[str], float, str]] = []
        self._latency: list[_Latency] = []
        self._duplicate: tuple[str, float] | None = None
        self._duplicate_client: Any = None
        self._key_accounts: dict[str, str] = {}
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._session = session
        session.events.register("before-call", self._before_call)
        session.events.register("before-send", self._before_send)
        session.events.register("after-call.sts.AssumeRole", self._after_assume_role)
        session.events.register("provide-client-params.sqs.ReceiveMessage", self._note_queue)
        session.events.register("after-call.sqs.ReceiveMessage", self._after_receive)

    # --- the faults -----------------------------------------------------------
    def deny(self, operation: str, accounts: set[str], code: str = "AccessDenied") -> None:
        """``operation`` answers 403 ``code`` for calls into ``accounts``."""
        self.rules.append(
            Rule(operation, frozenset(accounts), _error(code, 403, "denied"), f"deny:{operation}")
        )

    def never_ready(self, accounts: set[str]) -> None:
        """GenerateCredentialReport answers STARTED forever in ``accounts``."""

        def started() -> tuple[Any, dict[str, Any]]:
            return _FakeHttp(200), {
                "State": "STARTED",
                "Description": "injected: report never completes",
                "ResponseMetadata": {"HTTPStatusCode": 200},
            }

        self.rules.append(
            Rule("iam.GenerateCredentialReport", frozenset(accounts), started, "never_ready")
        )

    def crash(self, operation: str, accounts: set[str]) -> None:
        """``operation`` raises InjectedCrash for ``accounts`` (a worker bug)."""

        def boom() -> tuple[Any, dict[str, Any]]:
            raise InjectedCrash(f"injected crash in {operation}")

        self.rules.append(Rule(operation, frozenset(accounts), boom, f"crash:{operation}"))

    def fail(
        self,
        operation: str,
        code: str = "InternalError",
        status: int = 500,
        *,
        calls: set[int] | None = None,
        times: int | None = None,
        accounts: set[str] | None = None,
    ) -> None:
        """``operation`` answers ``code``: on its n-th ``calls`` only, or the
        next ``times`` calls, or always."""
        self.rules.append(
            Rule(
                operation,
                None if accounts is None else frozenset(accounts),
                _error(code, status, "failure"),
                f"fail:{operation}",
                calls=None if calls is None else frozenset(calls),
                remaining=times,
            )
        )

    def throttle(self, operations: set[str], rate: float, code: str = "Throttling") -> None:
        """A share ``rate`` of the sends of ``operations`` answer ``code``;
        botocore's own retries see them, as they would see AWS's."""
        self._throttles.append((frozenset(operations), rate, code))

    def latency(
        self,
        seconds: float,
        operations: set[str] | None = None,
        *,
        accounts: set[str] | None = None,
        times: int | None = None,
    ) -> None:
        """Every send (of ``operations``, into ``accounts``) takes ``seconds``
        longer; with ``times``, only that many sends. A latency longer than
        the time an invocation has left is a call that hangs."""
        self._latency.append(
            _Latency(
                seconds=seconds,
                operations=None if operations is None else frozenset(operations),
                accounts=None if accounts is None else frozenset(accounts),
                remaining=times,
            )
        )

    def duplicate_deliveries(self, queue_url: str, rate: float) -> None:
        """SQS delivers a share ``rate`` of the messages received from
        ``queue_url`` a second time (at-least-once delivery)."""
        self._duplicate = (queue_url, rate)

    def crash_mid_batch(self, handler: Callable[..., Any], rate: float) -> Callable[..., Any]:
        """A handler whose invocation dies, in a share ``rate`` of batches,
        after handling the first half of the batch (a timeout, an OOM): the
        records already handled come back with the rest."""

        def crashing(event: dict[str, Any], context: Any) -> Any:
            with self._lock:
                dies = self._random.random() < rate
            if not dies:
                return handler(event, context)
            records = event["Records"]
            handler({**event, "Records": records[: len(records) // 2]}, context)
            self.fired["crash_mid_batch"] += 1
            raise InjectedCrash("injected: invocation died mid-batch")

        return crashing

    def clear(self) -> None:
        self.rules.clear()
        self._throttles.clear()
        self._latency.clear()
        self._duplicate = None

    # --- the hooks ------------------------------------------------------------
    def _account_of(self, operation: str, params: dict[str, Any], signer: Any) -> str | None:
        body = params.get("body")
        if operation == "sts.AssumeRole" and isinstance(body, dict):
            return str(body.get("RoleArn", "")).split(":")[4] or None
        credentials = getattr(signer, "_credentials", None)
        key = getattr(credentials, "access_key", None)
        return self._key_accounts.get(key) if key else None

    def _account_of_request(self, operation: str, request: Any) -> str | None:
        """The account a signed request goes to: AssumeRole's role ARN, or the
        account whose credentials (from AssumeRole) signed it."""
        if operation == "sts.AssumeRole":
            body = request.body
            text = body.decode() if isinstance(body, bytes) else str(body or "")
            arn = urllib.parse.parse_qs(text).get("RoleArn", [""])[0]
            return arn.split(":")[4] if arn.count(":") >= 5 else None
        header = request.headers.get("Authorization", b"")
        found = _CREDENTIAL.search(header.decode() if isinstance(header, bytes) else header)
        return self._key_accounts.get(found.group(1)) if found else None

    def _before_call(
        self, event_name: str, params: dict[str, Any], request_signer: Any, **_: Any
    ) -> tuple[Any, dict[str, Any]] | None:
        _, service, operation = event_name.split(".", 2)
        qualified = f"{service}.{operation}"
        with self._lock:
            self._calls[qualified] += 1
            call_number = self._calls[qualified]
        matching = [rule for rule in self.rules if rule.operation == qualified]
        if not matching:
            return None
        account = self._account_of(qualified, params, request_signer)
        for rule in matching:
            if rule.accounts is not None and account not in rule.accounts:
                continue
            if rule.calls is not None and call_number not in rule.calls:
                continue
            if self._fires(rule, rule.name):
                return rule.answer()
        return None

    def _fires(self, rule: Rule | _Latency, name: str) -> bool:
        """Whether a matching rule still fires (``remaining`` counts down), counted."""
        with self._lock:
            if rule.remaining is not None:
                if rule.remaining <= 0:
                    return False
                rule.remaining -= 1
            self.fired[name] += 1
        return True

    def _before_send(self, event_name: str, request: Any, **_: Any) -> AWSResponse | None:
        _, service, operation = event_name.split(".", 2)
        qualified = f"{service}.{operation}"
        for rule in self._latency:
            if rule.operations is not None and qualified not in rule.operations:
                continue
            if (
                rule.accounts is not None
                and self._account_of_request(qualified, request) not in rule.accounts
            ):
                continue
            if self._fires(rule, f"latency:{qualified}"):
                time.sleep(rule.seconds)
        for operations, rate, code in self._throttles:
            if qualified in operations:
                with self._lock:
                    hit = self._random.random() < rate
                if hit:
                    self.fired[f"throttle:{qualified}"] += 1
                    return _throttling_response(service, code, request.url)
        return None

    def _after_assume_role(self, parsed: dict[str, Any], **_: Any) -> None:
        credentials = parsed.get("Credentials") or {}
        arn = (parsed.get("AssumedRoleUser") or {}).get("Arn", "")
        if credentials.get("AccessKeyId") and arn:
            self._key_accounts[credentials["AccessKeyId"]] = arn.split(":")[4]

    def _note_queue(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["faults_queue_url"] = params.get("QueueUrl")

    def _after_receive(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if self._duplicate is None or context.get("faults_queue_url") != self._duplicate[0]:
            return
        queue_url, rate = self._duplicate
        for message in parsed.get("Messages", []):
            with self._lock:
                again = self._random.random() < rate
            if again:
                if self._duplicate_client is None:
                    self._duplicate_client = self._session.client("sqs")
                self._duplicate_client.send_message(QueueUrl=queue_url, MessageBody=message["Body"])
                self.fired["duplicate_delivery"] += 1


@dataclass
class ReportBuilds:
    """What ``iam_builds_reports`` saw: GenerateCredentialReport polls per
    account, and when (perf_counter) each account's first poll came."""

    polls: Counter[str]
    first_poll: dict[str, float]


@contextmanager
def iam_builds_reports(
    *, polls: int | None = None, seconds: float | None = None
) -> Iterator[ReportBuilds]:
    """IAM in the emulator (in this process) takes time to build a report:
    GenerateCredentialReport answers STARTED until an account's ``polls``-th
    poll, or until ``seconds`` after its first poll; with neither, never
    COMPLETE. moto itself answers COMPLETE on the second poll however soon it
    comes; real IAM takes a few seconds. Restores moto when the block ends."""
    from moto.iam.models import IAMBackend

    seen = ReportBuilds(polls=Counter(), first_poll={})
    original = IAMBackend.report_generated

    def report_generated(self: IAMBackend) -> bool:
        seen.polls[self.account_id] += 1
        started = seen.first_poll.setdefault(self.account_id, time.perf_counter())
        if polls is not None and seen.polls[self.account_id] >= polls:
            return True
        return seconds is not None and time.perf_counter() - started >= seconds

    IAMBackend.report_generated = report_generated  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        IAMBackend.report_generated = original  # type: ignore[method-assign]


__all__ = ["Faults", "InjectedCrash", "ReportBuilds", "iam_builds_reports"]
