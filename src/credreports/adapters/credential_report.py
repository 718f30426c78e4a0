"""STS and IAM in the member account: assume the role, build and fetch the report."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from credreports import aws
from credreports.adapters.aws_errors import (
    describe,
    error_code,
    is_server_error,
    is_stale_credentials,
    is_throttling,
)
from credreports.errors import (
    ReportAccessDenied,
    ReportNotReady,
    RetryableError,
    RoleAssumeDenied,
    Throttled,
)

# Role chaining (a Lambda role assuming another role) caps sessions at 1 hour.
SESSION_SECONDS = 3600
# Assume again when less than this is left, so no call runs on a dying session.
REFRESH_MARGIN = timedelta(minutes=5)
# GetCredentialReport answers these while the report is not there yet.
NOT_READY_CODES = frozenset({"ReportNotPresent", "ReportExpired", "ReportInProgress"})
# A warm worker sees thousands of accounts. Credentials are small (a re-enqueued
# message that returns to this container skips AssumeRole); an IAM client is
# far larger, so only the accounts in flight keep one (README, Performance).
CACHED_SESSIONS = 5000
CACHED_CLIENTS = 32
# STS answers this when the account has not enabled the region the worker
# runs in (an opt-in region): the same for every attempt, so a failure of its own.
REGION_DISABLED = "RegionDisabledException"
REGION_DISABLED_ADVICE = (
    "STS is not active in this region for the account: deploy credreports in a "
    "region enabled by default (such as us-east-1), or enable this region in the account"
)
# Member-account CloudTrail shows the session name: it names the run.
SESSION_NAME_PREFIX = "credreports"
_RUN_ID = re.compile(r"[0-9]{8}T[0-9]{6}Z")


def session_name(run_id: str = "") -> str:
    """``credreports-<run id>``, so CloudTrail in a member account tells runs
    apart; plain ``credreports`` when there is no (valid) run id."""
    if _RUN_ID.fullmatch(run_id):
        return f"{SESSION_NAME_PREFIX}-{run_id}"
    return SESSION_NAME_PREFIX


@dataclass(frozen=True)
class MemberCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime

    def __repr__(self) -> str:  # never print secrets, even by accident
        return f"MemberCredentials(expiration={self.expiration.isoformat()})"


@dataclass(frozen=True)
class CredentialReport:
    content: bytes
    generated_time: datetime


class MemberSessions:
    """Assumes the member role in each account, in a session named after the
    run; caches the session while valid (per account and run)."""

    SERVICE = "sts"

    def __init__(self, role_name: str, client: Any = None) -> None:
        self._client = client or aws.worker_client(self.SERVICE)
        self._role_name = role_name
        self._cache: OrderedDict[tuple[str, str], MemberCredentials] = OrderedDict()
        self._lock = threading.Lock()

    def role_arn(self, account_id: str) -> str:
        return f"arn:{self._client.meta.partition}:iam::{account_id}:role/{self._role_name}"

    def credentials(self, account_id: str, run_id: str = "") -> MemberCredentials:
        cache_key = (account_id, run_id)
        with self._lock:
            cached = self._cache.get(cache_key)
        if cached and cached.expiration - datetime.now(UTC) > REFRESH_MARGIN:
            return cached
        try:
            answer = self._client.assume_role(
                RoleArn=self.role_arn(account_id),
                RoleSessionName=session_name(run_id),
                DurationSeconds=SESSION_SECONDS,
            )
        except (ClientError, BotoCoreError) as exc:
            if is_throttling(exc):
                raise Throttled(describe(exc)) from exc
            if is_server_error(exc):
                raise RetryableError(describe(exc)) from exc
            if error_code(exc) == REGION_DISABLED:
                raise RoleAssumeDenied(f"{describe(exc)}. {REGION_DISABLED_ADVICE}") from exc
            # AccessDenied (role missing, trust wrong), ...: retrying will not
            # change the answer.
            raise RoleAssumeDenied(describe(exc)) from exc
        issued = answer["Credentials"]
        credentials = MemberCredentials(
            access_key_id=issued["AccessKeyId"],
            secret_access_key=issued["SecretAccessKey"],
            session_token=issued["SessionToken"],
            expiration=issued["Expiration"],
        )
        with self._lock:
            self._cache[cache_key] = credentials
            self._cache.move_to_end(cache_key)
            while len(self._cache) > CACHED_SESSIONS:
                self._cache.popitem(last=False)
        return credentials

    def forget(self, account_id: str) -> None:
        with self._lock:
            for cache_key in [k for k in self._cache if k[0] == account_id]:
                del self._cache[cache_key]


class CredentialReports:
    """GenerateCredentialReport and GetCredentialReport in a member account."""

    SERVICE = "iam"

    def __init__(self, sessions: MemberSessions) -> None:
        self._sessions = sessions
        self._clients: OrderedDict[str, tuple[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def _client_for(self, account_id: str, run_id: str) -> Any:
        credentials = self._sessions.credentials(account_id, run_id)
        with self._lock:
            cached = self._clients.get(account_id)
            if cached is not None and cached[0] == credentials.access_key_id:
                self._clients.move_to_end(account_id)
                return cached[1]
            # Creating clients is not thread-safe in botocore: keep it locked.
            client = aws.worker_client(
                self.SERVICE,
                aws_access_key_id=credentials.access_key_id,
                aws_secret_access_key=credentials.secret_access_key,
                aws_session_token=credentials.session_token,
            )
            self._clients[account_id] = (credentials.access_key_id, client)
            self._clients.move_to_end(account_id)
            while len(self._clients) > CACHED_CLIENTS:
                self._clients.popitem(last=False)
        return client

    def _translate(self, account_id: str, exc: Exception) -> Exception:
        if is_throttling(exc):
            return Throttled(describe(exc))
        if error_code(exc) in NOT_READY_CODES:
            return ReportNotReady(describe(exc))
        if is_stale_credentials(exc):
            self._sessions.forget(account_id)
            return RetryableError(describe(exc))
        if is_server_error(exc):
            return RetryableError(describe(exc))
        return ReportAccessDenied(describe(exc))

    def generate(self, account_id: str, run_id: str = "") -> str:
        """Ask IAM for a report; returns STARTED, INPROGRESS or COMPLETE.
        ``run_id`` names the member-account session (``credreports-<run id>``)."""
        client = self._client_for(account_id, run_id)
        try:
            return str(client.generate_credential_report()["State"])
        except (ClientError, BotoCoreError) as exc:
            raise self._translate(account_id, exc) from exc

    def fetch(self, account_id: str, run_id: str = "") -> CredentialReport:
        """The completed report. Never returns an empty one."""
        client = self._client_for(account_id, run_id)
        try:
            answer = client.get_credential_report()
        except (ClientError, BotoCoreError) as exc:
            raise self._translate(account_id, exc) from exc
        content = answer.get("Content") or b""
        if not content.strip():
            raise ReportNotReady("GetCredentialReport returned an empty report")
        return CredentialReport(content=content, generated_time=answer["GeneratedTime"])
