"""Where reports to evaluate come from: a run in the report bucket, or files.

Shared by ``credreports findings`` and anything else that evaluates a whole
run. A run is read through the ReportStore adapter (ports.ReportReader, so
the logic is tested with a fake); files are read from disk. Reports are streamed:
each is read, evaluated and dropped, a bounded number at a time, so a run of
10,000 accounts never holds 10,000 CSVs.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from credreports import layout
from credreports.adapters.storage import StoredObject
from credreports.errors import CollectionError
from credreports.findings.catalogue import DEFAULT_THRESHOLDS, Thresholds
from credreports.findings.engine import Finding, evaluate_report
from credreports.findings.report import ReportFormatError
from credreports.models.manifest import RunManifest
from credreports.ports import ReportReader

REPORT_FILE = "credential-report.csv"
# A report is generated before it is stored, so its generation time is at most
# its LastModified; this margin covers LastModified's whole seconds and any
# skew between IAM's clock and S3's.
CLOCK_MARGIN = timedelta(seconds=60)
#: Reports read at once from S3 (the clients' connection pool holds 20).
READERS = 16


class NothingToRead(ValueError):
    """The path names no report at all (missing, or a folder without CSVs)."""


@dataclass(frozen=True)
class ReportLocation:
    """One report: where it is (a key or a path), and the account when the
    location names it (``account=`` in the bucket's layout)."""

    location: str
    account_id: str | None


@dataclass(frozen=True)
class Evaluated:
    """The results of one report, or why it could not be evaluated."""

    source: ReportLocation
    findings: list[Finding] = field(default_factory=list)
    problem: str | None = None
    # When only failing results were built: the (account id, check id) of
    # the passing ones.
    passed: set[tuple[str, str]] = field(default_factory=set)


def _segment(location: str, name: str) -> str | None:
    for part in re.split(r"[/\\]", location):
        if part.startswith(f"{name}="):
            return part.removeprefix(f"{name}=") or None
    return None


def account_in_path(location: str) -> str | None:
    """The ``account=`` segment of a key or path, if it has one."""
    return _segment(location, "account")


def run_in_path(location: str) -> str | None:
    return _segment(location, "run")


# --- the run's manifest -------------------------------------------------------------


def parse_manifest(document: Any) -> RunManifest | None:
    """The run manifest in ``document``; None when there is none or it cannot
    be read (the reports can still be evaluated; ``status`` names the problem)."""
    if document is None:
        return None
    try:
        return RunManifest.model_validate(document)
    except ValidationError:
        return None


# --- files on disk ------------------------------------------------------------------


@dataclass(frozen=True)
class DiskReports:
    """The reports found under a path."""

    sources: list[ReportLocation]
    run_id: str | None = None  # the run evaluated, when the files are in the bucket's layout
    other_runs: tuple[str, ...] = ()  # older runs found there and left out
    names: dict[str, str] = field(default_factory=dict)


def reports_on_disk(path: Path) -> DiskReports:
    """The CSV files at ``path``: the file itself, or every ``*.csv`` below
    the folder. A folder in the bucket's layout holding several runs yields
    the newest run's reports only (one result per account and finding).
    Raises NothingToRead when there is none."""
    if not path.exists():
        raise NothingToRead(f"{path}: no such file or folder")
    if path.is_file():
        files = [path]
    else:
        files = sorted(p for p in path.rglob("*.csv") if p.is_file())
        if not files:
            raise NothingToRead(f"{path}: no .csv file in this folder or below it")
    runs = sorted({run for run in map(run_in_path, map(str, files)) if run})
    chosen = runs[-1] if runs else None
    if len(runs) > 1:
        files = [p for p in files if run_in_path(str(p)) in (chosen, None)]
    names: dict[str, str] = {}
    if chosen and path.is_dir():
        for found in path.rglob(f"run={chosen}/manifest.json"):
            try:
                manifest = parse_manifest(json.loads(found.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue  # names are a courtesy; the reports are what counts
            names.update(manifest.names() if manifest else {})
    return DiskReports(
        sources=[ReportLocation(str(p), account_in_path(str(p))) for p in files],
        run_id=chosen,
        other_runs=tuple(runs[:-1]),
        names=names,
    )


def read_file(source: ReportLocation) -> bytes:
    return Path(source.location).read_bytes()


# --- a run in the report bucket -------------------------------------------------------


def run_reports(store: ReportReader, run_id: str) -> list[StoredObject]:
    """The report objects of a run, in key (account) order."""
    prefix = layout.run_prefix(store.prefix, "reports", run_id)
    found = [o for o in store.objects(prefix) if o.key.endswith(f"/{REPORT_FILE}")]
    return sorted(found, key=lambda o: o.key)


def _generated_time(metadata: Mapping[str, str], fallback: datetime) -> datetime:
    try:
        moment = datetime.fromisoformat(metadata[layout.GENERATED_TIME_METADATA])
    except (KeyError, ValueError):
        return fallback  # written by something other than the worker
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def newest_generated_time(
    store: ReportReader, reports: Sequence[StoredObject], workers: int = READERS
) -> datetime | None:
    """The newest ``generated-time`` among ``reports``: the run's ``as_of``.

    Reads the metadata of the most recently stored reports only: since a
    report is generated before it is stored, a report stored more than
    CLOCK_MARGIN before the newest generation time found so far cannot be
    newer, and the search stops there. A report without the metadata counts
    as generated when it was stored."""
    newest: datetime | None = None
    ordered = sorted(reports, key=lambda o: o.last_modified, reverse=True)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for start in range(0, len(ordered), max(1, workers)):
            batch = ordered[start : start + max(1, workers)]
            if newest is not None and batch[0].last_modified + CLOCK_MARGIN <= newest:
                break
            for stored, metadata in zip(
                batch, pool.map(store.metadata, [o.key for o in batch]), strict=True
            ):
                generated = _generated_time(metadata, stored.last_modified)
                newest = generated if newest is None else max(newest, generated)
    return newest


def read_from(store: ReportReader) -> Callable[[ReportLocation], bytes]:
    def read(source: ReportLocation) -> bytes:
        return store.read(source.location)

    return read


# --- evaluation ---------------------------------------------------------------------


def evaluate_all(
    sources: Iterable[ReportLocation],
    read: Callable[[ReportLocation], bytes],
    as_of: datetime,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    workers: int = 1,
    failed_only: bool = False,
) -> Iterator[Evaluated]:
    """Read and evaluate each source, in order, ``workers`` at a time (with
    as many more read ahead); a report that cannot be read or is not a
    credential report comes back with its problem, and the others go on.
    With ``failed_only``, the passing results are not built (see
    Evaluated.passed)."""

    def one(source: ReportLocation) -> Evaluated:
        try:
            content = read(source)
        except (OSError, CollectionError) as exc:
            return Evaluated(source, problem=f"could not be read ({exc})")
        passed: set[tuple[str, str]] = set()
        try:
            findings = evaluate_report(
                content, source.account_id, as_of, thresholds, passed if failed_only else None
            )
        except ReportFormatError as exc:
            return Evaluated(source, problem=str(exc))
        return Evaluated(source, findings, passed=passed)

    if workers <= 1:
        yield from map(one, sources)
        return
    pending: deque[Future[Evaluated]] = deque()
    remaining = iter(sources)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="report") as pool:
        for source in remaining:
            pending.append(pool.submit(one, source))
            if len(pending) >= 2 * workers:
                break
        while pending:
            evaluated = pending.popleft().result()
            following = next(remaining, None)
            if following is not None:
                pending.append(pool.submit(one, following))
            yield evaluated
