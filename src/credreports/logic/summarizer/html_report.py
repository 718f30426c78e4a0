"""The run's summary as one self-contained HTML page (``runs/.../report.html``).

Inline CSS and SVG only: no script, no font, no image or style from anywhere
else, so it opens the same from S3, an e-mail attachment or a laptop offline,
and prints on paper. A Content-Security-Policy that forbids scripts and every
external load backs this up. Every value that comes from a report, a
manifest or a failure record (user names are chosen by whoever controls a
member account) is HTML-escaped where it is written: :func:`_e` is the only
way text enters the page.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from credreports.findings.catalogue import CHECKS_BY_ID, Severity
from credreports.models.ids import format_timestamp, run_date
from credreports.models.summary import LISTED_PER_CHECK, Change, RunSummary

SEVERITY_COLOURS = {
    Severity.CRITICAL.value: "#8e0b21",
    Severity.HIGH.value: "#d1432b",
    Severity.MEDIUM.value: "#e59a1a",
    Severity.LOW.value: "#5b8fd6",
    Severity.INFORMATIONAL.value: "#8a8f98",
}
# No script, nothing loaded from anywhere: styles and images inline only.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'"

STYLE = """
:root { --ink:#1d232b; --muted:#5d6773; --line:#d9dee4; --ok:#1f7a4a; --bad:#b4261a; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); margin: 0 auto; max-width: 1100px; padding: 24px 28px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 8px; border-bottom: 1px solid var(--line);
  padding-bottom: 4px; }
h3 { font-size: 14px; margin: 18px 0 6px; }
.meta, .note { color: var(--muted); }
.badge { display: inline-block; padding: 2px 10px; border-radius: 12px; color: #fff;
  font-weight: 600; font-size: 13px; vertical-align: middle; }
.complete { background: var(--ok); } .incomplete { background: var(--bad); }
.cards { display: flex; gap: 12px; margin: 16px 0; flex-wrap: wrap; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px; min-width: 130px; }
.card b { display: block; font-size: 24px; }
.card.alert b { color: var(--bad); }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 12.5px; overflow-wrap: anywhere; }
.sev { font-weight: 600; }
svg text { font: 12px system-ui, sans-serif; fill: var(--ink); }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  h2 { break-after: avoid; } tr, .card, svg { break-inside: avoid; }
  .badge { border: 1px solid #000; color: #000; background: none; }
}
"""


def _e(value: object) -> str:
    """Text for the page: escaped, whatever it is."""
    return html.escape(str(value), quote=True)


def _account(summary: RunSummary, account_id: str) -> str:
    name = summary.name(account_id)
    if not name:
        return f'<span class="mono">{_e(account_id)}</span>'
    return f'{_e(name)} <span class="mono note">{_e(account_id)}</span>'


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], numeric: set[int]) -> str:
    def cell(tag: str, index: int, content: str) -> str:
        return (
            f'<{tag} class="n">{content}</{tag}>'
            if index in numeric
            else f"<{tag}>{content}</{tag}>"
        )

    head = "".join(cell("th", i, _e(h)) for i, h in enumerate(header))
    body = "".join(
        "<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _severity(value: str) -> str:
    colour = SEVERITY_COLOURS.get(value, "#000")
    return f'<span class="sev" style="color:{colour}">{_e(value)}</span>'


def _chart(summary: RunSummary) -> str:
    """Failing users per check, one bar each, coloured by severity."""
    results = list(summary.checks())
    if not results:
        return '<p class="note">No findings were evaluated.</p>'
    label_width, bar_width, row = 190, 560, 26
    top = max((r.failed_users for _, r in results), default=0) or 1
    height = row * len(results) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_width + bar_width + 90}" '
        f'height="{height}" role="img" aria-label="Failing users per check">'
    ]
    for index, (check, result) in enumerate(results):
        y = 4 + index * row
        length = round(bar_width * result.failed_users / top)
        colour = SEVERITY_COLOURS.get(result.severity, "#000")
        parts.append(
            f'<text x="0" y="{y + 15}">{_e(check)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{max(length, 1)}" height="16" '
            f'fill="{colour}"><title>{_e(result.severity)}</title></rect>'
            f'<text x="{label_width + max(length, 1) + 6}" y="{y + 15}">'
            f"{result.failed_users} in {result.accounts} acct</text>"
        )
    parts.append("</svg>")
    legend = " ".join(
        f'<span style="color:{c}">&#9632;</span> {_e(s)}'
        for s, c in SEVERITY_COLOURS.items()
        if s != Severity.INFORMATIONAL.value
    )
    return "".join(parts) + f'<p class="note">{legend}</p>'


def _changes(summary: RunSummary, title: str, changes: Sequence[Change], total: int) -> str:
    if not total:
        return f"<h3>{_e(title)}: none</h3>"
    rows = [
        (
            _e(c.check),
            _severity(c.severity),
            _account(summary, c.account_id),
            f'<span class="mono">{_e(c.user)}</span>',
            _e(c.credential),
        )
        for c in changes
    ]
    more = (
        f'<p class="note">{total - len(changes)} more in the findings file.</p>'
        if total > len(changes)
        else ""
    )
    return (
        f"<h3>{_e(title)}: {total}</h3>"
        + _table(("check", "severity", "account", "user", "credential"), rows, set())
        + more
    )


def render(summary: RunSummary, bucket: str) -> str:
    """The whole page."""
    counts = summary.counts
    state = "complete" if summary.complete else "incomplete"
    trigger = summary.trigger.value if summary.trigger else "unknown"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>credreports run {_e(summary.run_id)}: {state}</title>",
        f"<style>{STYLE}</style></head><body>",
        f'<h1>credreports run <span class="mono">{_e(summary.run_id)}</span> '
        f'<span class="badge {state}">{state.upper()}</span></h1>',
        f'<p class="meta">Run date {_e(run_date(summary.run_id).isoformat())}, trigger '
        f"{_e(trigger)}; summarized {_e(format_timestamp(summary.summarized_at))}"
        + (f"; findings as of {_e(format_timestamp(summary.as_of))}" if summary.as_of else "")
        + "</p>",
    ]
    if not summary.complete:
        deadline = format_timestamp(summary.deadline) if summary.deadline else "its deadline"
        parts.append(
            f"<p><b>{counts.outstanding} account(s) had neither a report nor a failure record "
            f"at {_e(deadline)}.</b> Send them again with <code>credreports replay --run "
            f"{_e(summary.run_id)}</code>.</p>"
        )
    if summary.manifest_error:
        parts.append(f"<p><b>The run could not start:</b> {_e(summary.manifest_error)}</p>")
    cards = [
        ("accounts", counts.accounts, False),
        ("reports", counts.reports, False),
        ("failures", counts.failures, counts.failures > 0),
        ("outstanding", counts.outstanding, counts.outstanding > 0),
    ]
    parts.append(
        '<div class="cards">'
        + "".join(
            f'<div class="card{" alert" if alert else ""}"><b>{value}</b>{_e(label)}</div>'
            for label, value, alert in cards
        )
        + "</div>"
    )
    if summary.outstanding:
        parts.append("<h2>Outstanding accounts</h2>")
        parts.append(
            _table(
                ("account", "OU"),
                [(_account(summary, a.account_id), _e(a.ou_path)) for a in summary.outstanding],
                set(),
            )
        )
    parts.append("<h2>Failures by reason</h2>")
    if summary.failures:
        rows = [
            (_e(f.reason.value), _account(summary, f.account_id), _e(f.ou_path), _e(f.detail))
            for f in sorted(summary.failures, key=lambda f: (f.reason.value, f.account_id))
        ]
        parts.append(_table(("reason", "account", "OU", "detail"), rows, set()))
    else:
        parts.append('<p class="note">No account failed.</p>')
    parts.append("<h2>Failing users per check</h2>")
    parts.append(_chart(summary))
    parts.append(
        _table(
            ("check", "severity", "failing users", "accounts", "title"),
            [
                (
                    _e(check),
                    _severity(r.severity),
                    str(r.failed_users),
                    str(r.accounts),
                    _e(r.title),
                )
                for check, r in summary.checks()
            ],
            {2, 3},
        )
    )
    parts.append("<h2>Accounts ranked by findings</h2>")
    if summary.accounts_ranked:
        ranked = [
            (
                _account(summary, a.account_id),
                _e(a.ou_path),
                str(a.critical),
                str(a.high),
                str(a.medium),
                str(a.low),
            )
            for a in summary.accounts_ranked
        ]
        parts.append(
            _table(("account", "OU", "critical", "high", "medium", "low"), ranked, {2, 3, 4, 5})
        )
        if summary.accounts_with_findings > len(summary.accounts_ranked):
            parts.append(
                f'<p class="note">The first {len(summary.accounts_ranked)} of '
                f"{summary.accounts_with_findings} accounts with failing results.</p>"
            )
    else:
        parts.append('<p class="note">No account has a failing result.</p>')
    parts.append("<h2>Since the previous run</h2>")
    if summary.previous_run_id is None:
        parts.append('<p class="note">No earlier complete run of this trigger to compare with.</p>')
    else:
        since = f"since run {summary.previous_run_id}"
        parts.append(_changes(summary, f"New {since}", summary.new, summary.new_count))
        parts.append(
            _changes(summary, f"Resolved {since}", summary.resolved, summary.resolved_count)
        )
    parts.append("<h2>Failing results by check</h2>")
    for check, result in summary.checks():
        listed = summary.failing.get(check, ())
        title = CHECKS_BY_ID[check].title if check in CHECKS_BY_ID else result.title
        parts.append(
            f"<h3>{_e(check)} ({_severity(result.severity)}): {_e(title)} &mdash; "
            f"{result.failed_results} failing</h3>"
        )
        if not listed:
            parts.append('<p class="note">None.</p>')
            continue
        rows = [
            (
                _account(summary, item.account_id),
                f'<span class="mono">{_e(item.user)}</span>',
                _e(item.credential),
                _e(item.detail),
            )
            for item in listed
        ]
        parts.append(_table(("account", "user", "credential", "detail"), rows, set()))
        if result.failed_results > len(listed):
            parts.append(
                f'<p class="note">The first {LISTED_PER_CHECK} of {result.failed_results}: '
                f"every result is in the findings file and <code>credreports findings --run "
                f"{_e(summary.run_id)} --check {_e(check)}</code>.</p>"
            )
    if summary.unreadable:
        parts.append("<h2>Reports that could not be evaluated</h2>")
        parts.append(
            _table(
                ("account", "problem"),
                [(_account(summary, u.account_id), _e(u.problem)) for u in summary.unreadable],
                set(),
            )
        )
    keys = summary.keys
    parts.append(
        "<footer>"
        + "<br>".join(
            f"{_e(label)}: <code>s3://{_e(bucket)}/{_e(key)}</code>"
            for label, key in (
                ("Summary", keys.summary),
                ("Findings (OCSF)", keys.findings),
                ("Manifest", keys.manifest),
            )
        )
        + f"<br>Outcome {_e(summary.outcome_id)}</footer></body></html>"
    )
    return "\n".join(parts) + "\n"
