"""Fault injection, on purpose and by name.

A layer in front of moto (``Emulator.intercept``) sees every request that
reaches the emulator, from whatever process sends it, and where a rule
matches answers instead of moto, in the wire format of the service's
protocol (query XML, JSON, S3's REST XML), so the client parses it as it
would parse AWS's:

- per-call rules answer every attempt of a call (the requests that carry
  one ``amz-sdk-invocation-id``) the same way: denied calls, a report that
  never completes, a failing PutObject/Publish, the k-th ListAccounts page
  failing, a crash (an answer botocore cannot parse: an exception that is not
  an AWS error, as a bug would raise). A 5xx rule is therefore seen by the
  client after botocore's retries, as a lasting AWS failure would be;
- per-attempt faults act inside botocore's retry loop, as the network and
  AWS do: throttling answers (which botocore's standard mode retries) and
  latency (on every call, or on one account's calls: a call that hangs);
- after moto answers a ReceiveMessage, some of the messages are sent to the
  queue again (at-least-once delivery).

Rules name the operation and the accounts they apply to; the account of a
member-account call is known from the credentials AssumeRole handed out
(read from AssumeRole's answers as they pass). Random choices come from a
seeded generator. The server is threaded: counters and the generator are
used under a lock.
"""

from __future__ import annotations

import io
import json
import random
import re
import threading
import time
import urllib.parse
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any
from xml.sax.saxutils import escape

from credreports.local.emulator import Emulator, Wsgi


class InjectedCrash(RuntimeError):
    """What a worker bug or a dying invocation looks like: not an AWS error."""


# --- what a request is --------------------------------------------------------
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
# Signing names that rules spell otherwise.
_SERVICE_NAMES = {"events": "eventbridge"}
# JSON services that were query services once: botocore takes the error code
# from the x-amzn-query-error header when there is one.
_QUERY_COMPATIBLE = {"sqs"}
# Query parameters of S3's bucket listings (anything else is a subresource).
_LISTING_PARAMETERS = {
    "prefix",
    "delimiter",
    "marker",
    "max-keys",
    "encoding-type",
    "list-type",
    "continuation-token",
    "start-after",
    "fetch-owner",
    "versions",
    "key-marker",
    "version-id-marker",
}


@dataclass(frozen=True)
class Call:
    """One request as the rules see it."""

    service: str  # as rules name it: "sts", "iam", "s3", "eventbridge", ...
    operation: str | None  # None: an operation the layer does not recognise
    protocol: str  # "query", "json" or "rest-xml"
    method: str
    access_key: str | None
    region: str
    invocation: str | None  # amz-sdk-invocation-id: the same on every attempt of a call
    content_type: str
    form: dict[str, str] = field(default_factory=dict)  # query protocols
    document: dict[str, Any] = field(default_factory=dict)  # JSON protocols

    @property
    def name(self) -> str:
        return f"{self.service}.{self.operation or '?'}"


def _read_body(environ: dict[str, Any]) -> bytes:
    """The request's body, put back for moto to read again."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    stream = environ["wsgi.input"]
    if length:
        body: bytes = stream.read(length)
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        return b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _s3_operation(method: str, path: str, query: dict[str, str], copy: bool) -> str | None:
    """The S3 operation of a path-style request (``/bucket`` or ``/bucket/key``);
    None for one this layer does not know (no rule matches it)."""
    bucket, _, key = path.lstrip("/").partition("/")
    if not bucket:
        return None
    if key:
        if set(query) - {"versionId"}:
            return None  # multipart uploads, tagging, ACLs, ...
        if method == "PUT":
            return "CopyObject" if copy else "PutObject"
        return {"GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(method)
    if method == "GET" and not set(query) - _LISTING_PARAMETERS:
        if query.get("list-type") == "2":
            return "ListObjectsV2"
        return "ListObjectVersions" if "versions" in query else "ListObjects"
    if not query:
        return {"HEAD": "HeadBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(method)
    if method == "POST" and set(query) == {"delete"}:
        return "DeleteObjects"
    return None


def identify(environ: dict[str, Any]) -> Call | None:
    """The service and operation of a signed request; None for anything else
    (the emulator's own API, an unsigned request)."""
    query = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    signature = (
        environ.get("HTTP_AUTHORIZATION", "") or f"Credential={query.get('X-Amz-Credential')}"
    )
    found = _CREDENTIAL.search(signature)
    if found is None:
        return None
    access_key, region, signing_name = found.groups()
    service = _SERVICE_NAMES.get(signing_name, signing_name)
    method = environ.get("REQUEST_METHOD", "GET")
    content_type = environ.get("CONTENT_TYPE", "")
    common: dict[str, Any] = {
        "service": service,
        "method": method,
        "access_key": access_key,
        "region": region,
        "invocation": environ.get("HTTP_AMZ_SDK_INVOCATION_ID"),
        "content_type": content_type,
    }
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        body = _read_body(environ)
        try:
            document = json.loads(body) if body else {}
        except ValueError:
            document = {}
        return Call(
            operation=target.rsplit(".", 1)[-1],
            protocol="json",
            document=document if isinstance(document, dict) else {},
            **common,
        )
    if content_type.startswith("application/x-www-form-urlencoded"):
        form = dict(urllib.parse.parse_qsl(_read_body(environ).decode("utf-8", "replace")))
        if "Action" in form:
            return Call(operation=form["Action"], protocol="query", form=form, **common)
    if signing_name == "s3":
        copy = "HTTP_X_AMZ_COPY_SOURCE" in environ
        operation = _s3_operation(method, environ.get("PATH_INFO", "/"), query, copy)
        return Call(operation=operation, protocol="rest-xml", **common)
    return Call(operation=None, protocol="unknown", **common)


# --- what the layer answers ---------------------------------------------------
@dataclass(frozen=True)
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def send(self, start_response: Callable[..., Any]) -> Iterable[bytes]:
        headers = [*self.headers, ("Content-Length", str(len(self.body)))]
        start_response(f"{self.status} {HTTPStatus(self.status).phrase}", headers)
        return [self.body]


def error_response(call: Call, code: str, status: int, message: str) -> Response:
    """``code`` as the service would send it (what botocore's parser of the
    protocol reads)."""
    request_id = str(uuid.uuid4())
    text = f"injected: {message}"
    if call.protocol == "json":
        headers = [
            ("Content-Type", call.content_type or "application/x-amz-json-1.1"),
            ("x-amzn-RequestId", request_id),
        ]
        kind = code
        if call.service in _QUERY_COMPATIBLE:
            # As SQS answers: the error's shape name in __type, the query code
            # in the header. botocore raises the modeled exception named by
            # __type (client.exceptions.QueueDoesNotExist for that code).
            kind = f"com.amazonaws.{call.service}#{code}"
            headers.append(("x-amzn-query-error", f"{code};{_fault_side(status)}"))
        body = json.dumps({"__type": kind, "message": text}).encode()
        return Response(status, headers, body)
    if call.protocol == "rest-xml":
        headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
        if call.method == "HEAD":
            # No body: the client sees the status code as the error code, as from S3.
            return Response(status, headers, b"")
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(code)}</Code><Message>{escape(text)}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        ).encode()
        return Response(status, headers, body)
    body = (
        "<ErrorResponse><Error>"
        f"<Type>{_fault_side(status)}</Type><Code>{escape(code)}</Code>"
        f"<Message>{escape(text)}</Message>"
        f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()
    return Response(status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body)


def _fault_side(status: int) -> str:
    return "Sender" if status < 500 else "Receiver"


def _report_started(call: Call) -> Response:
    body = (
        '<GenerateCredentialReportResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        "<GenerateCredentialReportResult><State>STARTED</State>"
        "<Description>injected: report never completes</Description>"
        "</GenerateCredentialReportResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        "</GenerateCredentialReportResponse>"
    ).encode()
    return Response(200, [("Content-Type", "text/xml")], body)


def _unparseable(call: Call) -> Response:
    """A 200 whose body botocore's parser fails on: ResponseParserError for
    XML, UnicodeDecodeError for JSON. Neither is retried, neither is a
    ClientError: what the code under test sees of a bug."""
    if call.protocol == "json":
        return Response(200, [("Content-Type", call.content_type)], b"\xff injected crash")
    return Response(200, [("Content-Type", "text/xml")], b"<injected crash")


def _error(code: str, status: int, message: str) -> Callable[[Call], Response]:
    return lambda call: error_response(call, code, status, message)


# --- the rules ------------------------------------------------------------------
@dataclass
class Rule:
    """A per-call rule: every attempt of a call it chose gets its answer."""

    operation: str  # "sts.AssumeRole", "iam.GenerateCredentialReport", ...
    accounts: frozenset[str] | None  # None: every account
    answer: Callable[[Call], Response]
    name: str
    calls: frozenset[int] | None = None  # only the n-th calls (1-based) of the operation
    remaining: int | None = None  # only this many calls
    signed_by: frozenset[str] | None = None  # only calls signed with these access keys


@dataclass
class _Latency:
    seconds: float
    operations: frozenset[str] | None  # None: every operation
    accounts: frozenset[str] | None  # None: every account
    remaining: int | None = None  # only this many attempts


@dataclass(frozen=True)
class _Throttle:
    operations: frozenset[str]
    rate: float
    code: str


# Calls whose answer is remembered for their retries; retries come within
# seconds, so the oldest are forgotten first.
_REMEMBERED_CALLS = 100_000

_ASSUMED_KEY = re.compile(rb"<AccessKeyId>([^<]+)</AccessKeyId>")
_ASSUMED_ARN = re.compile(rb"<Arn>arn:[^:]+:sts::(\d{12}):assumed-role/")


class Faults:
    """Faults injected into ``emulator`` (one of this process) until
    :meth:`close` (or the end of a ``with`` block)."""

    def __init__(self, emulator: Emulator, seed: int = 20261123) -> None:
        self.rules: list[Rule] = []
        self.fired: Counter[str] = Counter()
        self._calls: Counter[str] = Counter()
        self._answered: OrderedDict[str, Rule | None] = OrderedDict()
        self._throttles: list[_Throttle] = []
        self._latency: list[_Latency] = []
        self._duplicate: tuple[str, float] | None = None
        self._recorded: dict[str, list[Call]] = {}
        self._key_accounts: dict[str, str] = {}
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._remove = emulator.intercept(self._layer)

    def close(self) -> None:
        """Take the layer out: the emulator answers as moto again. A call
        still held by ``latency`` is answered 503 at once, never passed on to
        moto: a test's hanging call must not land in the next test."""
        self._remove()
        self._closed.set()

    def __enter__(self) -> Faults:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- the faults -----------------------------------------------------------
    def deny(self, operation: str, accounts: set[str], code: str = "AccessDenied") -> None:
        """``operation`` answers 403 ``code`` for calls into ``accounts``."""
        self.rules.append(
            Rule(operation, frozenset(accounts), _error(code, 403, "denied"), f"deny:{operation}")
        )

    def never_ready(self, accounts: set[str]) -> None:
        """GenerateCredentialReport answers STARTED forever in ``accounts``."""
        self.rules.append(
            Rule(
                "iam.GenerateCredentialReport", frozenset(accounts), _report_started, "never_ready"
            )
        )

    def crash(self, operation: str, accounts: set[str]) -> None:
        """``operation`` fails for ``accounts`` with an exception that is not
        an AWS error (a worker bug): its answer cannot be parsed."""
        self.rules.append(Rule(operation, frozenset(accounts), _unparseable, f"crash:{operation}"))

    def fail(
        self,
        operation: str,
        code: str = "InternalError",
        status: int = 500,
        *,
        calls: set[int] | None = None,
        times: int | None = None,
        accounts: set[str] | None = None,
        signed_by: set[str] | None = None,
    ) -> None:
        """``operation`` answers ``code``: on its n-th ``calls`` only, or the
        next ``times`` calls, or always; into ``accounts`` only, or signed
        with the access keys ``signed_by`` only (one caller's credentials)."""
        self.rules.append(
            Rule(
                operation,
                None if accounts is None else frozenset(accounts),
                _error(code, status, "failure"),
                f"fail:{operation}",
                calls=None if calls is None else frozenset(calls),
                remaining=times,
                signed_by=None if signed_by is None else frozenset(signed_by),
            )
        )

    def throttle(self, operations: set[str], rate: float, code: str = "Throttling") -> None:
        """A share ``rate`` of the attempts of ``operations`` answer ``code``;
        botocore's own retries see them, as they would see AWS's."""
        self._throttles.append(_Throttle(frozenset(operations), rate, code))

    def latency(
        self,
        seconds: float,
        operations: set[str] | None = None,
        *,
        accounts: set[str] | None = None,
        times: int | None = None,
    ) -> None:
        """Every attempt (of ``operations``, into ``accounts``) is answered
        ``seconds`` later; with ``times``, only that many attempts. A latency
        longer than the time an invocation has left is a call that hangs."""
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

    def record(self, operation: str) -> list[Call]:
        """The calls of ``operation`` from now on (one per call, not per
        attempt), whatever process makes them; the list grows as they come."""
        with self._lock:
            return self._recorded.setdefault(operation, [])

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
            with self._lock:
                self.fired["crash_mid_batch"] += 1
            raise InjectedCrash("injected: invocation died mid-batch")

        return crashing

    def clear(self) -> None:
        self.rules.clear()
        self._throttles.clear()
        self._latency.clear()
        self._duplicate = None

    # --- the layer ------------------------------------------------------------
    def _layer(
        self, environ: dict[str, Any], start_response: Callable[..., Any], following: Wsgi
    ) -> Iterable[bytes]:
        call = identify(environ)
        if call is None:
            return following(environ, start_response)
        rule = self._rule_for(call)
        if rule is not None:
            return rule.answer(call).send(start_response)
        if not self._delay(call):
            return error_response(call, "ServiceUnavailable", 503, "faults closed").send(
                start_response
            )
        throttled = self._throttled(call)
        if throttled is not None:
            return throttled.send(start_response)
        if call.name == "sts.AssumeRole":
            response = _capture(following, environ)
            self._note_assumed_role(response.body)
            return response.send(start_response)
        duplicate = self._duplicate
        if (
            duplicate is not None
            and call.name == "sqs.ReceiveMessage"
            and _same_queue(call.document.get("QueueUrl"), duplicate[0])
        ):
            response = _capture(following, environ)
            if response.status == 200:
                self._deliver_again(duplicate, call.region, response.body)
            return response.send(start_response)
        return following(environ, start_response)

    def _account_of(self, call: Call) -> str | None:
        """The account a call goes to: AssumeRole's role ARN, or the account
        of the credentials that signed it."""
        if call.name == "sts.AssumeRole":
            parts = call.form.get("RoleArn", "").split(":")
            return parts[4] if len(parts) >= 6 else None
        if call.access_key is None:
            return None
        with self._lock:
            known = self._key_accounts.get(call.access_key)
        if known is not None:
            return known
        from moto.iam.models import get_account_id_from

        return get_account_id_from(call.access_key)

    def _rule_for(self, call: Call) -> Rule | None:
        """The rule that answers this call, chosen on its first attempt and
        kept for its retries; counted in ``fired`` once per call."""
        with self._lock:
            if call.invocation is not None and call.invocation in self._answered:
                return self._answered[call.invocation]
        matching = [rule for rule in list(self.rules) if rule.operation == call.name]
        account = self._account_of(call) if any(r.accounts is not None for r in matching) else None
        with self._lock:
            if call.invocation is not None and call.invocation in self._answered:
                return self._answered[call.invocation]  # a retry overtook the first attempt
            self._calls[call.name] += 1
            number = self._calls[call.name]
            if call.name in self._recorded:
                self._recorded[call.name].append(call)
            chosen = next((r for r in matching if _fires(r, call, account, number)), None)
            if chosen is not None:
                self.fired[chosen.name] += 1
            if call.invocation is not None:
                self._answered[call.invocation] = chosen
                if len(self._answered) > _REMEMBERED_CALLS:
                    self._answered.popitem(last=False)
        return chosen

    def _delay(self, call: Call) -> bool:
        """Hold the attempt as ``latency`` says; False if the faults were
        closed meanwhile."""
        for rule in list(self._latency):
            if rule.operations is not None and call.name not in rule.operations:
                continue
            if rule.accounts is not None and self._account_of(call) not in rule.accounts:
                continue
            with self._lock:
                if rule.remaining is not None:
                    if rule.remaining <= 0:
                        continue
                    rule.remaining -= 1
                self.fired[f"latency:{call.name}"] += 1
            if self._closed.wait(rule.seconds):
                return False
        return True

    def _throttled(self, call: Call) -> Response | None:
        for rule in list(self._throttles):
            if call.name not in rule.operations:
                continue
            with self._lock:
                hit = self._random.random() < rule.rate
                if hit:
                    self.fired[f"throttle:{call.name}"] += 1
            if hit:
                return error_response(call, rule.code, 400, "Rate exceeded")
        return None

    def _note_assumed_role(self, body: bytes) -> None:
        key, arn = _ASSUMED_KEY.search(body), _ASSUMED_ARN.search(body)
        if key and arn:
            with self._lock:
                self._key_accounts[key.group(1).decode()] = arn.group(1).decode()

    def _deliver_again(self, duplicate: tuple[str, float], region: str, body: bytes) -> None:
        """Send a share of the received messages to the queue again, straight
        into moto's SQS (this layer runs in the emulator's process)."""
        from moto.sqs.models import sqs_backends

        queue_url, rate = duplicate
        account, name = urllib.parse.urlsplit(queue_url).path.strip("/").split("/")[-2:]
        backend = sqs_backends[account][region]
        for message in json.loads(body).get("Messages", []):
            with self._lock:
                again = self._random.random() < rate
            if again:
                backend.send_message(name, message["Body"])
                with self._lock:
                    self.fired["duplicate_delivery"] += 1


def _fires(rule: Rule, call: Call, account: str | None, number: int) -> bool:
    """Whether ``rule`` answers this call (under the lock: ``remaining`` counts down)."""
    if rule.accounts is not None and account not in rule.accounts:
        return False
    if rule.signed_by is not None and call.access_key not in rule.signed_by:
        return False
    if rule.calls is not None and number not in rule.calls:
        return False
    if rule.remaining is not None:
        if rule.remaining <= 0:
            return False
        rule.remaining -= 1
    return True


def _same_queue(url: object, other: str) -> bool:
    """Whether two queue URLs name one queue (account and name; the scheme
    and host a client used may differ)."""
    if not isinstance(url, str):
        return False

    def tail(u: str) -> list[str]:
        return urllib.parse.urlsplit(u).path.strip("/").split("/")[-2:]

    return tail(url) == tail(other)


def _capture(following: Wsgi, environ: dict[str, Any]) -> Response:
    """moto's whole answer to a request, to look at before it is sent on."""
    started: dict[str, Any] = {}
    chunks: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started["status"], started["headers"] = status, headers
        return chunks.append

    result = following(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    headers = [(k, v) for k, v in started["headers"] if k.lower() != "content-length"]
    return Response(int(started["status"].split(" ", 1)[0]), headers, b"".join(chunks))


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
