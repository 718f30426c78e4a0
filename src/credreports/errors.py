"""Typed errors of the collection, each carrying the reason code it ends in.

Adapters translate botocore errors into these once, so the logic speaks only
the domain's vocabulary (and never inspects an AWS error code itself).
"""

from __future__ import annotations

from credreports.models.codes import Reason


class CollectionError(Exception):
    """The account could not be collected on this attempt."""

    reason: Reason = Reason.REPORT_NOT_READY
    retryable: bool = False

    def __init__(self, detail: str, *, reason: Reason | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if reason is not None:
            self.reason = reason


class PermanentError(CollectionError):
    """Retrying cannot help (a denied call): the account fails at once."""


class RetryableError(CollectionError):
    """Try again later (not ready yet, throttled, a service failure)."""

    retryable = True


class RoleAssumeDenied(PermanentError):
    reason = Reason.ROLE_ASSUME_DENIED


class ReportAccessDenied(PermanentError):
    reason = Reason.REPORT_ACCESS_DENIED


class StorageDenied(PermanentError):
    reason = Reason.STORAGE_DENIED


class ReportNotReady(RetryableError):
    reason = Reason.REPORT_NOT_READY


class Throttled(RetryableError):
    reason = Reason.THROTTLED


class OrganizationListingError(RuntimeError):
    """The organization's accounts could not be listed completely."""


class DeliveryError(RuntimeError):
    """SQS, S3 or SNS refused a write that the pipeline's bookkeeping depends on."""
