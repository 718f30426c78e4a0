"""The domain's codes: why an account has no report, and what started a run."""

from __future__ import annotations

from enum import StrEnum


class Trigger(StrEnum):
    SCHEDULE = "schedule"
    MANUAL = "manual"
    REPLAY = "replay"


class Reason(StrEnum):
    """Why an account has no report. Each code tells the operator what to fix
    (the README's troubleshooting section has one entry per code)."""

    ROLE_ASSUME_DENIED = "ROLE_ASSUME_DENIED"
    REPORT_ACCESS_DENIED = "REPORT_ACCESS_DENIED"
    REPORT_NOT_READY = "REPORT_NOT_READY"
    THROTTLED = "THROTTLED"
    STORAGE_DENIED = "STORAGE_DENIED"
    INVALID_MESSAGE = "INVALID_MESSAGE"
    WORKER_CRASHED = "WORKER_CRASHED"
