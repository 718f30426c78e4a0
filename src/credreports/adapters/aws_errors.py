"""Reading botocore errors, in one place."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

# Codes AWS uses for "slow down". IAM's GenerateCredentialReport answers
# LimitExceeded ("No more capacity") when too many reports are being built.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "LimitExceeded",
        "LimitExceededException",
        "SlowDown",
    }
)
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "KMS.AccessDeniedException",
        "KMS.DisabledException",
        "KMS.KMSInvalidStateException",
        "KMSAccessDeniedException",
        "KMSDisabledException",
        "KMSInvalidStateException",
        "AllAccessDisabled",
    }
)


def error_code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return type(exc).__name__


# The member session's own credentials went stale: assume the role again.
STALE_CREDENTIAL_CODES = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId"}
)


def is_stale_credentials(exc: Exception) -> bool:
    return error_code(exc) in STALE_CREDENTIAL_CODES


def is_throttling(exc: Exception) -> bool:
    return error_code(exc) in THROTTLING_CODES


def is_denied(exc: Exception) -> bool:
    return error_code(exc) in DENIED_CODES


def is_server_error(exc: Exception) -> bool:
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return int(status) >= 500
    # Connection resets and timeouts that survived botocore's own retries.
    return isinstance(exc, BotoCoreError)


def describe(exc: Exception) -> str:
    """A one-line description safe to log and store (no credentials, no content)."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{exc.operation_name}: {error.get('Code', '?')}: {error.get('Message', '')}"[:500]
    return f"{type(exc).__name__}: {exc}"[:500]
