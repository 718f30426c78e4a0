"""The translation of botocore errors into the domain's errors, once, at the
adapter (credreports.adapters): what each AWS answer becomes, and the cached
member session dropped when its token went stale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from credreports.adapters.credential_report import CredentialReports, MemberSessions
from credreports.errors import (
    CollectionError,
    ReportAccessDenied,
    ReportNotReady,
    RetryableError,
    RoleAssumeDenied,
    Throttled,
)

A = "111111111111"


def client_error(
    code: str, status: int, operation: str = "GenerateCredentialReport"
) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


class Sts:
    """STS answering AssumeRole with fresh credentials, or with ``error``."""

    meta = SimpleNamespace(partition="aws")

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls = 0

    def assume_role(self, **params: Any) -> dict[str, Any]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return {
            "Credentials": {
                "AccessKeyId": f"ASIA{self.calls:016d}",
                "SecretAccessKey": "secret",
                "SessionToken": "token",
                "Expiration": datetime.now(UTC) + timedelta(hours=1),
            }
        }


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (client_error("Throttling", 400), Throttled),
        (client_error("LimitExceeded", 409), Throttled),
        (client_error("ReportNotPresent", 410, "GetCredentialReport"), ReportNotReady),
        (client_error("ReportInProgress", 404, "GetCredentialReport"), ReportNotReady),
        (client_error("ServiceFailure", 500), RetryableError),
        (EndpointConnectionError(endpoint_url="https://iam.amazonaws.com"), RetryableError),
        (client_error("AccessDenied", 403), ReportAccessDenied),
    ],
)
def test_each_iam_answer_becomes_its_domain_error(
    error: Exception, expected: type[CollectionError]
) -> None:
    reports = CredentialReports(MemberSessions("credreports-member", client=Sts()))
    translated = reports._translate(A, error)
    assert type(translated) is expected
    assert translated.retryable is (expected is not ReportAccessDenied)


def test_an_expired_token_drops_the_cached_session() -> None:
    # Given a session for the account, cached after one AssumeRole
    sts = Sts()
    sessions = MemberSessions("credreports-member", client=sts)
    first = sessions.credentials(A)
    assert sessions.credentials(A) is first and sts.calls == 1

    # When IAM says the session's token expired
    translated = CredentialReports(sessions)._translate(A, client_error("ExpiredToken", 403))

    # Then it is retryable, and the next call assumes the role again
    assert isinstance(translated, RetryableError)
    assert sessions.credentials(A) is not first and sts.calls == 2


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (client_error("AccessDenied", 403, "AssumeRole"), RoleAssumeDenied),
        (client_error("Throttling", 400, "AssumeRole"), Throttled),
        (client_error("InternalFailure", 500, "AssumeRole"), RetryableError),
    ],
)
def test_assume_role_errors(error: Exception, expected: type[CollectionError]) -> None:
    sessions = MemberSessions("credreports-member", client=Sts(error))
    with pytest.raises(expected) as raised:
        sessions.credentials(A)
    assert "AssumeRole" in raised.value.detail
