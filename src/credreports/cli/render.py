"""Text the commands print: tables, the progress line, the ledger."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TextIO

from credreports.adapters.queue import QueueDepths
from credreports.ledger import RunLedger
from credreports.local.demo import Progress
from credreports.models.ids import format_timestamp
from credreports.models.manifest import ManifestStatus, RunManifest

BAR_WIDTH = 28
# Without a terminal (CI logs, pipes), a line per change at most this often.
PLAIN_INTERVAL_SECONDS = 1.0


def table(rows: Sequence[tuple[str, str]], indent: str = "  ") -> str:
    """Two aligned columns."""
    if not rows:
        return ""
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{indent}{label.ljust(width)}  {value}".rstrip() for label, value in rows)


def counts(values: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(values.items())) or "0"


class ProgressLine:
    """One line redrawn in place on a terminal; plain lines elsewhere."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._width = 0
        self._last_plain: tuple[int, int] | None = None
        self._last_plain_at = 0.0

    def update(self, progress: Progress) -> None:
        total = max(progress.enqueued, 1)
        done = progress.reports + progress.failures
        filled = round(BAR_WIDTH * done / total)
        text = (
            f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{progress.enqueued}"
            f"  reports {progress.reports}  failed {progress.failures}"
            f"  in flight {progress.outstanding}"
            f" (queue: visible {progress.visible}, in flight {progress.in_flight},"
            f" delayed {progress.delayed})"
        )
        if self.tty:
            self.stream.write("\r" + text.ljust(self._width))
            self._width = len(text)
            self.stream.flush()
            return
        state = (progress.reports, progress.failures)
        now = time.monotonic()
        if state != self._last_plain and (
            now - self._last_plain_at >= PLAIN_INTERVAL_SECONDS or done == progress.enqueued
        ):
            self.stream.write(text + "\n")
            self._last_plain, self._last_plain_at = state, now

    def finish(self) -> None:
        if self.tty and self._width:
            self.stream.write("\n")


def ledger_rows(ledger: RunLedger) -> list[tuple[str, str]]:
    """The ledger as label/value rows; failures by reason and outstanding
    accounts listed by id, since those are what the operator acts on."""
    manifest = ledger.manifest
    rows: list[tuple[str, str]] = []
    if manifest is None:
        rows.append(("manifest", "MISSING (the producer did not write one for this run)"))
    else:
        started = format_timestamp(manifest.created_at)
        rows.append(("trigger", f"{manifest.trigger.value}, started {started}"))
        if not manifest.enqueued:
            rows.append(("manifest", f"{manifest.status.value}: {manifest_problem(manifest)}"))
        if manifest.unsent:
            rows.append(("  not sent", f"{len(manifest.unsent)}: {' '.join(manifest.unsent)}"))
    rows.append(("accounts in manifest", str(len(ledger.accounts))))
    rows.append(("reports stored", str(len(ledger.reports))))
    rows.append(("failures", str(len(ledger.failures))))
    for reason, accounts in ledger.failures_by_reason().items():
        rows.append((f"  {reason}", f"{len(accounts)}: {' '.join(accounts)}"))
    rows.append(("outstanding", str(len(ledger.outstanding))))
    if ledger.outstanding:
        replaying = set(ledger.replaying)
        listed = [f"{a} (replay sent)" if a in replaying else a for a in ledger.outstanding]
        rows.append(("  accounts", " ".join(listed)))
    if ledger.unexpected:
        rows.append(("not in manifest", " ".join(ledger.unexpected)))
    if manifest is not None:
        rows.append(("skipped by state", counts(manifest.skipped_by_state())))
        rows.append(("excluded", str(len(manifest.excluded))))
    return rows


def manifest_problem(manifest: RunManifest) -> str:
    """What a manifest that is not ENQUEUED means for the operator."""
    if manifest.status is ManifestStatus.LISTING_FAILED:
        return f"{manifest.error or ''} (nothing was enqueued: start the run again)"
    if manifest.unsent:
        return (
            f"{len(manifest.unsent)} accounts were not sent; Lambda retries the producer, "
            f"or send them: credreports enqueue --run {manifest.run_id} ACCOUNT..."
        )
    return (
        "the producer has not finished sending (or stopped): "
        "an outstanding account may not have been sent"
    )


def depth_rows(work: QueueDepths | None, dead: QueueDepths | None) -> list[tuple[str, str]]:
    rows = []
    if work is not None:
        rows.append(
            (
                "work queue",
                f"visible {work.visible}, in flight {work.in_flight}, delayed {work.delayed}",
            )
        )
    if dead is not None:
        rows.append(("dead-letter queue", f"visible {dead.visible}, in flight {dead.in_flight}"))
    return rows


def printable(value: str) -> str:
    """``value`` with every control or otherwise invisible character escaped
    (``\\x1b`` for ESC): values from reports and manifests reach a terminal
    as text, never as escape sequences."""
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in value)


def grid(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> str:
    """Columns aligned under a header; the last column is not padded."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return "\n".join(
        indent
        + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    )


class CountProgress:
    """``[####....] done/total noun`` redrawn in place on a terminal; a plain
    line at most once a second (and at the end) elsewhere."""

    def __init__(self, stream: TextIO, total: int, noun: str) -> None:
        self.stream = stream
        self.total = total
        self.noun = noun
        self.tty = stream.isatty()
        self._last_plain_at = 0.0
        self._drawn = False

    def update(self, done: int, problems: int = 0) -> None:
        filled = round(BAR_WIDTH * done / max(self.total, 1))
        text = f"{done}/{self.total} {self.noun}" + (f", {problems} unreadable" if problems else "")
        if self.tty:
            self.stream.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {text}\x1b[K")
            self.stream.flush()
            self._drawn = True
            return
        now = time.monotonic()
        if done == self.total or now - self._last_plain_at >= PLAIN_INTERVAL_SECONDS:
            self.stream.write(text + "\n")
            self._last_plain_at = now

    def finish(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
