"""Fault injection, on purpose and by name.

One botocore ``before-call`` hook on the test's boto3 session sees every call
the code under test makes to the emulator and, where a rule matches, answers
instead of the emulator: an AWS error, a not-yet-ready report, or a crash
(an exception that is not an AWS error, as a bug would raise). Rules name the
operation and the accounts they apply to; the account of a member-account call
is known from the credentials AssumeRole handed out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3


class InjectedCrash(RuntimeError):
    """What a worker bug looks like: not an AWS error, not handled."""


@dataclass
class _FakeHttp:
    status_code: int


@dataclass
class Rule:
    operation: str  # "sts.AssumeRole", "iam.GenerateCredentialReport", ...
    accounts: frozenset[str] | None  # None: every account
    answer: Callable[[], tuple[Any, dict[str, Any]]]
    name: str


def _error(code: str, status: int, message: str) -> Callable[[], tuple[Any, dict[str, Any]]]:
    def answer() -> tuple[Any, dict[str, Any]]:
        return _FakeHttp(status), {
            "Error": {"Code": code, "Message": f"injected: {message}"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }

    return answer


class Faults:
    def __init__(self, session: boto3.Session) -> None:
        self.rules: list[Rule] = []
        self.fired: Counter[str] = Counter()
        self._key_accounts: dict[str, str] = {}
        session.events.register("before-call", self._before_call)
        session.events.register("after-call.sts.AssumeRole", self._after_assume_role)

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

    def clear(self) -> None:
        self.rules.clear()

    # --- the hook -------------------------------------------------------------
    def _account_of(self, operation: str, params: dict[str, Any], signer: Any) -> str | None:
        body = params.get("body")
        if operation == "sts.AssumeRole" and isinstance(body, dict):
            return str(body.get("RoleArn", "")).split(":")[4] or None
        credentials = getattr(signer, "_credentials", None)
        key = getattr(credentials, "access_key", None)
        return self._key_accounts.get(key) if key else None

    def _before_call(
        self, event_name: str, params: dict[str, Any], request_signer: Any, **_: Any
    ) -> tuple[Any, dict[str, Any]] | None:
        _, service, operation = event_name.split(".", 2)
        qualified = f"{service}.{operation}"
        matching = [rule for rule in self.rules if rule.operation == qualified]
        if not matching:
            return None
        account = self._account_of(qualified, params, request_signer)
        for rule in matching:
            if rule.accounts is None or account in rule.accounts:
                self.fired[rule.name] += 1
                return rule.answer()
        return None

    def _after_assume_role(self, parsed: dict[str, Any], **_: Any) -> None:
        credentials = parsed.get("Credentials") or {}
        arn = (parsed.get("AssumedRoleUser") or {}).get("Arn", "")
        if credentials.get("AccessKeyId") and arn:
            self._key_accounts[credentials["AccessKeyId"]] = arn.split(":")[4]
