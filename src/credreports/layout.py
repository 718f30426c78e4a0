"""Where things live in the report bucket (Hive-style, for Athena projection).

``date`` is the run's date taken from the run id, not the wall clock, so a run
that crosses midnight stays in one partition.
"""

from __future__ import annotations

from credreports.models.ids import run_date

#: The report object's metadata holding the report's GeneratedTime (ISO 8601),
#: written by the worker; the findings of a run are measured from the newest.
GENERATED_TIME_METADATA = "generated-time"


def normalise_prefix(prefix: str) -> str:
    """A key prefix as a folder: "reports" and "reports/" both mean "reports/"."""
    if prefix and not prefix.endswith("/"):
        return prefix + "/"
    return prefix


def _partition(prefix: str, kind: str, run_id: str) -> str:
    return f"{prefix}{kind}/date={run_date(run_id).isoformat()}/run={run_id}/"


def report_key(prefix: str, run_id: str, account_id: str) -> str:
    return f"{_partition(prefix, 'reports', run_id)}account={account_id}/credential-report.csv"


def failure_key(prefix: str, run_id: str, account_id: str) -> str:
    return f"{_partition(prefix, 'failures', run_id)}account={account_id}/failure.json"


def invalid_message_key(prefix: str, day: str, message_id: str) -> str:
    """A message too damaged to name its account or run still gets a record."""
    return f"{prefix}failures/date={day}/run=unknown/account=unknown/{message_id}.json"


def manifest_key(prefix: str, run_id: str) -> str:
    return f"{_partition(prefix, 'runs', run_id)}manifest.json"


def digest_marker_key(prefix: str, run_id: str, window: str, kind: str) -> str:
    """An empty marker the dlq_handler writes once per run and digest window:
    ``sent`` when a digest went out in that window, ``reminder`` when a dead
    letter was held back so that the next window announces what this one kept."""
    return f"{digest_prefix(prefix, run_id)}{window}.{kind}"


def digest_prefix(prefix: str, run_id: str) -> str:
    return f"{_partition(prefix, 'runs', run_id)}digests/"


def replayed_failure_key(prefix: str, run_id: str, account_id: str, replayed_at: str) -> str:
    """A failure record that a replay withdrew from ``failures/``, kept as the
    run's history. ``failures/`` holds only accounts that still have no report,
    so Athena over it never shows an account that a replay since collected."""
    return f"{replayed_prefix(prefix, run_id)}account={account_id}/{replayed_at}.json"


def replayed_prefix(prefix: str, run_id: str) -> str:
    return f"{_partition(prefix, 'runs', run_id)}replayed/"


def run_prefix(prefix: str, kind: str, run_id: str) -> str:
    """The folder of one run under ``reports``, ``failures`` or ``runs``."""
    return _partition(prefix, kind, run_id)


def account_from_key(key: str) -> str | None:
    """The account id in a report or failure key, if any."""
    for part in key.split("/"):
        if part.startswith("account="):
            return part.removeprefix("account=")
    return None
