"""``credreports findings``: the catalogue's checks over a run's reports in the
bucket, or over credential reports on disk.

Ages are measured from one ``as_of``: for a run, the newest report's
generation time (its ``generated-time`` metadata), so evaluating an old run
again gives the same answer; for files, now; ``--as-of`` overrides both. The
output always says which it used. Exit codes: 0 evaluated; 1 a failing result
at or above ``--fail-on``, or a report that could not be read (each named on
stderr, the others still evaluated), or a run that cannot be read; 2 invalid
input (a bad option, a malformed ``--as-of``, nothing to read at ``--reports``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import boto3

from credreports import layout
from credreports.adapters.storage import ReportStore
from credreports.cli import options, render
from credreports.cli.target import add_target_options, resolve
from credreports.findings.catalogue import CHECKS, DEFAULT_THRESHOLDS, Severity, Thresholds
from credreports.findings.engine import Finding
from credreports.findings.formats import WRITERS, format_time
from credreports.findings.sources import (
    READERS,
    NothingToRead,
    ReportLocation,
    account_in_path,
    evaluate_all,
    newest_generated_time,
    parse_manifest,
    read_file,
    read_from,
    reports_on_disk,
    run_reports,
)
from credreports.ledger import latest_run_id

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
PROGRAM = "credreports findings"
FAIL_ON = ("critical", "high", "medium", "low")


# --- the parser -------------------------------------------------------------------


def register(commands: Any) -> argparse.ArgumentParser:
    """Add ``findings`` to the command line's subcommands."""
    summary = "Evaluate the CIS IAM checks over a run's reports, or over CSVs on disk."
    parser: argparse.ArgumentParser = commands.add_parser(
        "findings",
        help=summary,
        description=f"{summary}\n\n"
        "Checks (see the README's Findings section):\n"
        + "\n".join(f"  {c.id:<20} {c.severity.value:<9} {c.title}" for c in CHECKS)
        + "\n\nAges are whole days measured from one as_of: a run's newest report's\n"
        "generation time, or now for files on disk; --as-of overrides both.\n"
        "Thresholds: $UNUSED_DAYS (45), $ROTATION_DAYS (90), $ROOT_USE_DAYS (1).\n"
        "Exit codes: 0 evaluated; 1 a failing result at or above --fail-on, or a report\n"
        "that could not be read; 2 invalid input.",
        epilog="example:\n"
        "  credreports findings --stack credreports\n"
        "  credreports findings --run 20261123T020000Z --format ocsf > findings.jsonl\n"
        "  credreports findings --reports demo-output --check console-mfa --fail-on high\n"
        "  credreports findings --reports report.csv --as-of 2025-06-16 --format csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    chosen = parser.add_argument_group("what to evaluate (default: the latest run)")
    source = chosen.add_mutually_exclusive_group()
    source.add_argument("--run", type=options.run_id, metavar="RUN_ID", help="a run in the bucket")
    source.add_argument(
        "--reports",
        metavar="PATH",
        help="a credential report CSV, or a folder of them (the bucket's layout, the demo's "
        "output, any folder); the account is the path's account= segment, else the arn's",
    )
    parser.add_argument("--format", choices=("table", *WRITERS), default="table")
    parser.add_argument(
        "--status", choices=("failed", "all"), default="failed", help="default: failed"
    )
    parser.add_argument(
        "--check",
        action="append",
        choices=[check.id for check in CHECKS],
        metavar="ID",
        help="only this check (repeatable)",
    )
    parser.add_argument(
        "--account",
        action="append",
        type=options.account_id,
        metavar="ID",
        help="only this account",
    )
    parser.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        help="exit 1 when a failing result of this severity or higher exists",
    )
    parser.add_argument(
        "--as-of",
        type=options.as_of,
        metavar="ISO8601",
        help="measure ages from this time (default: the run's newest report, or now)",
    )
    add_target_options(parser)
    return parser


# --- what to evaluate ---------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """The reports to evaluate, how to read them, and from when ages count."""

    title: str  # "run 2026…" or the path
    sources: list[ReportLocation]
    read: Callable[[ReportLocation], bytes]
    as_of: datetime
    as_of_origin: str  # why this as_of, in words
    thresholds: Thresholds = DEFAULT_THRESHOLDS
    workers: int = 1
    names: Mapping[str, str] = field(default_factory=dict)
    not_evaluated: tuple[str, ...] = ()  # accounts of the run without a report
    notes: tuple[str, ...] = ()


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def plan_files(
    path: Path, as_of: datetime | None, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> Plan:
    """Reports on disk. Raises NothingToRead."""
    found = reports_on_disk(path)
    notes: tuple[str, ...] = ()
    if found.other_runs:
        notes = (
            f"{path} holds {len(found.other_runs) + 1} runs: evaluating the newest, "
            f"{found.run_id} (give that run's folder to evaluate another)",
        )
    return Plan(
        title=str(path),
        sources=found.sources,
        read=read_file,
        as_of=as_of or now(),
        as_of_origin="given" if as_of else "now",
        thresholds=thresholds,
        names=found.names,
        notes=notes,
    )


class RunUnreadable(RuntimeError):
    """The run has no reports to evaluate, or there is no run."""


def plan_run(
    store: ReportStore,
    run_id: str | None,
    as_of: datetime | None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Plan:
    """The reports of a run in the bucket (the latest run when None)."""
    chosen = run_id or latest_run_id(store)
    if chosen is None:
        raise RunUnreadable("no runs in the bucket (nothing under runs/)")
    reports = run_reports(store, chosen)
    manifest = parse_manifest(store.get_json(layout.manifest_key(store.prefix, chosen)))
    accounts = manifest.accounts if manifest else ()
    sources = [ReportLocation(o.key, account_in_path(o.key)) for o in reports]
    reported = {source.account_id for source in sources}
    missing = tuple(a for a in accounts if a not in reported)
    if not sources:
        raise RunUnreadable(f"run {chosen} has no reports to evaluate")
    origin = "given"
    if as_of is None:
        as_of = newest_generated_time(store, reports)
        origin = "the newest report's generation time"
    assert as_of is not None
    return Plan(
        title=f"run {chosen}",
        sources=sources,
        read=read_from(store),
        as_of=as_of,
        as_of_origin=origin,
        thresholds=thresholds,
        workers=READERS,
        names=manifest.names() if manifest else {},
        not_evaluated=missing,
    )


# --- evaluation ---------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """--check, --account and --status."""

    checks: frozenset[str] | None = None
    accounts: frozenset[str] | None = None
    failed_only: bool = True

    def source(self, source: ReportLocation) -> bool:
        """Whether a report may hold selected results (its account is known
        from its location and not chosen: no need to read it)."""
        return self.accounts is None or source.account_id in (None, *self.accounts)

    def result(self, check: str, account_id: str) -> bool:
        return (self.checks is None or check in self.checks) and (
            self.accounts is None or account_id in self.accounts
        )


@dataclass
class Outcome:
    """What an evaluation came to, beyond the results it yielded."""

    reports: int = 0
    accounts: set[str] = field(default_factory=set)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (location, problem)
    failed: int = 0
    worst_failure: Severity | None = None


def evaluate_plan(
    plan: Plan, selection: Selection, outcome: Outcome, progress: TextIO | None = None
) -> Iterator[Finding]:
    """The selected results of every report of the plan, report by report;
    ``outcome`` counts what went by (reports, unreadable ones, failures).
    Progress goes to ``progress`` (a bar on a terminal, lines elsewhere)."""
    sources = [s for s in plan.sources if selection.source(s)]
    bar = render.CountProgress(progress, len(sources), "reports") if progress else None
    evaluated_all = evaluate_all(
        sources, plan.read, plan.as_of, plan.thresholds, plan.workers, selection.failed_only
    )
    for done, evaluated in enumerate(evaluated_all, start=1):
        if evaluated.problem is not None:
            outcome.problems.append((evaluated.source.location, evaluated.problem))
        else:
            outcome.reports += 1
        # Passing results that were only counted still say which accounts
        # have selected results.
        for account_id, check in evaluated.passed:
            if selection.result(check, account_id):
                outcome.accounts.add(account_id)
        for finding in evaluated.findings:
            if not selection.result(finding.check, finding.account_id):
                continue
            outcome.accounts.add(finding.account_id)
            if finding.failed:
                outcome.failed += 1
                worst = outcome.worst_failure
                if worst is None or finding.severity.rank > worst.rank:
                    outcome.worst_failure = finding.severity
            elif selection.failed_only:
                continue
            yield finding
        if bar is not None:
            bar.update(done, len(outcome.problems))
    if bar is not None:
        bar.finish()


# --- the table ----------------------------------------------------------------------


def _account(account_id: str, names: Mapping[str, str]) -> str:
    name = names.get(account_id)
    return f"{account_id} ({render.printable(name)})" if name else account_id


def findings_table(
    findings: Sequence[Finding],
    plan: Plan,
    outcome: Outcome,
    checks: Sequence[str] | None = None,
) -> str:
    """The findings for a person: per check the failing users and accounts,
    then the results grouped by check."""
    chosen = [c for c in CHECKS if checks is None or c.id in checks]
    failing_users: dict[str, set[tuple[str, str]]] = {c.id: set() for c in chosen}
    failing_accounts: dict[str, set[str]] = {c.id: set() for c in chosen}
    for finding in findings:
        if finding.failed:
            failing_users[finding.check].add((finding.account_id, finding.user))
            failing_accounts[finding.check].add(finding.account_id)
    lines = [
        f"Findings of {render.printable(plan.title)}: {outcome.reports} report(s) of "
        f"{len(outcome.accounts)} account(s) evaluated",
        f"as_of {format_time(plan.as_of)} ({plan.as_of_origin}); ages are whole days before it",
        *plan.notes,
    ]
    if plan.not_evaluated:
        lines.append(
            f"not evaluated: {len(plan.not_evaluated)} account(s) of the run have no report "
            f"({' '.join(plan.not_evaluated[:10])}{' …' if len(plan.not_evaluated) > 10 else ''}"
            "; see credreports status)"
        )
    lines += [
        "",
        render.grid(
            ("check", "severity", "failing users", "accounts", "title"),
            [
                (
                    c.id,
                    c.severity.value,
                    str(len(failing_users[c.id])),
                    str(len(failing_accounts[c.id])),
                    c.title,
                )
                for c in chosen
            ],
        ),
    ]
    show_status = any(not f.failed for f in findings)
    for check in chosen:
        listed = sorted(
            (f for f in findings if f.check == check.id),
            key=lambda f: (f.status != "FAIL", f.account_id, f.user, f.credential),
        )
        if not listed:
            continue
        header = ("account", "user", "credential", *(("status",) if show_status else ()), "detail")
        rows = [
            (
                _account(f.account_id, plan.names),
                render.printable(f.user),
                f.credential,
                *((f.status,) if show_status else ()),
                render.printable(f.detail),
            )
            for f in listed
        ]
        lines += [
            "",
            f"{check.id} ({check.severity.value}): {check.title}",
            render.grid(header, rows),
        ]
    if not findings:
        lines += ["", "No failing results." if not show_status else "No results."]
    return "\n".join(lines)


# --- the command --------------------------------------------------------------------


def _error(message: str) -> None:
    print(f"{PROGRAM}: error: {render.printable(message)}", file=sys.stderr)


def _plan(args: argparse.Namespace, thresholds: Thresholds) -> Plan:
    if args.reports is not None:
        return plan_files(Path(args.reports), args.as_of, thresholds)
    if args.profile or args.region:
        boto3.setup_default_session(profile_name=args.profile, region_name=args.region)
    target = resolve(args)
    target.require("bucket")
    assert target.bucket is not None
    return plan_run(ReportStore(target.bucket, target.prefix), args.run, args.as_of, thresholds)


def cmd_findings(args: argparse.Namespace) -> int:
    """Run ``credreports findings``; returns the exit code."""
    try:
        thresholds = Thresholds.from_environment(os.environ)
    except ValueError as exc:
        _error(str(exc))
        return EXIT_INVALID
    try:
        plan = _plan(args, thresholds)
    except NothingToRead as exc:
        _error(f"nothing to read at --reports {exc}")
        return EXIT_INVALID
    except RunUnreadable as exc:
        _error(str(exc))
        return EXIT_FAILED
    selection = Selection(
        checks=frozenset(args.check) if args.check else None,
        accounts=frozenset(args.account) if args.account else None,
        failed_only=args.status == "failed",
    )
    outcome = Outcome()
    results = evaluate_plan(plan, selection, outcome, progress=sys.stderr)
    out: TextIO = sys.stdout
    if args.format == "table":
        print(findings_table(list(results), plan, outcome, args.check), file=out)
    else:
        for note in plan.notes:
            print(f"{PROGRAM}: {note}", file=sys.stderr)
        WRITERS[args.format](results, plan.as_of, out)
        print(
            f"{PROGRAM}: {plan.title}: {outcome.reports} report(s), {outcome.failed} failing "
            f"result(s), as_of {format_time(plan.as_of)} ({plan.as_of_origin})",
            file=sys.stderr,
        )
    for location, problem in outcome.problems:
        _error(f"{location}: {problem}")
    gate = Severity(args.fail_on) if args.fail_on else None
    worst = outcome.worst_failure
    if gate is not None and worst is not None and worst.rank >= gate.rank:
        print(
            f"{PROGRAM}: failing results at or above {gate.value} (worst: {worst.value})",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_FAILED if outcome.problems else EXIT_OK


# --- the demo -----------------------------------------------------------------------


@dataclass(frozen=True)
class DemoFindings:
    table: str  # the failing results, for the demo's output
    files: tuple[Path, ...]  # every result (PASS and FAIL), json and OCSF
    outcome: Outcome


def demo_findings(
    store: ReportStore, run_id: str, out_dir: Path, names: Mapping[str, str]
) -> DemoFindings:
    """Evaluate the demo's run as ``findings --run`` does, write every result
    under ``out_dir/findings/`` (json and OCSF, beside the bucket's folders)
    and return the table of the failing ones."""
    plan = plan_run(store, run_id, None)
    plan = replace(plan, names={**plan.names, **names})
    outcome = Outcome()
    results = list(evaluate_plan(plan, Selection(failed_only=False), outcome))
    folder = out_dir / layout.run_prefix("", "findings", run_id)
    folder.mkdir(parents=True, exist_ok=True)
    files = (folder / "findings.json", folder / "findings.ocsf.jsonl")
    for path, fmt in zip(files, ("json", "ocsf"), strict=True):
        with path.open("w", encoding="utf-8") as stream:
            WRITERS[fmt](results, plan.as_of, stream)
    failing = [f for f in results if f.failed]
    return DemoFindings(findings_table(failing, plan, outcome), files, outcome)
