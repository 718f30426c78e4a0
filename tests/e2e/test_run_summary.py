"""What a run ends with, as a person meets it: the demo's announcements under
``--out/notifications/``, and its HTML report rendered by a real browser
(headless Chromium, network cut) — readable, complete, and inert whatever
names the member accounts chose."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from credreports.logic.summarizer.html_report import render
from credreports.models.codes import Reason, Trigger
from credreports.models.summary import (
    AccountFindings,
    CheckResult,
    Counts,
    FailedAccount,
    FailingResult,
    RunSummary,
    SummaryKeys,
)
from tests.support import browser
from tests.support.demo import run_demo

# Where the screenshots go (CI keeps build/); a test's own tmp dir otherwise.
OUTPUT = Path(os.environ.get("CREDREPORTS_TEST_OUTPUT", "build/test-output"))


@pytest.fixture(scope="module")
def chromium() -> str:
    try:
        return browser.chromium()
    except browser.BrowserMissing as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))  # CI installs it: missing there is a defect
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo") / "out"
    finished = run_demo(8, out)
    assert finished.returncode == 0, finished.stderr
    return out, finished.stdout


def the_summary(out: Path) -> dict[str, Any]:
    (path,) = out.glob("runs/date=*/run=*/summary.json")
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def test_the_demo_writes_what_the_run_announced_and_points_at_its_report(
    demo: tuple[Path, str],
) -> None:
    out, stdout = demo
    summary = the_summary(out)

    # One SNS run summary and one EventBridge event, as their subscribers got them
    notifications = sorted(p.name for p in (out / "notifications").glob("*.json"))
    assert notifications == ["event-01-run-completed.json", "sns-01-run-summary.json"]
    sns = json.loads((out / "notifications" / "sns-01-run-summary.json").read_text())
    event = json.loads((out / "notifications" / "event-01-run-completed.json").read_text())
    assert sns["attributes"]["kind"] == "run-summary"
    assert f"credreports run {summary['run_id']}" in sns["message"]
    assert event["source"] == "credreports" and event["detail-type"] == "Run Completed"
    assert event["detail"]["counts"] == summary["counts"]
    # ...the summary, the findings and the report in the bucket's layout
    for key in summary["keys"].values():
        assert (out / key).is_file(), key
    # ...and the demo says where the report is, and what the run announced
    (report,) = re.findall(r"The run's report: (\S+)", stdout)
    assert Path(report) == out / summary["keys"]["report"]
    assert "The run announced (SNS, kind run-summary):" in stdout


def test_the_report_renders_offline_with_the_run_its_counts_and_each_failing_check(
    chromium: str, demo: tuple[Path, str]
) -> None:
    out, _ = demo
    summary = the_summary(out)
    page = out / summary["keys"]["report"]

    # When a browser with no network opens the report
    shot = browser.screenshot(page, OUTPUT / "report-demo.png")
    dom = browser.dump_dom(page)

    # Then it rendered (a screenshot of it is kept beside the test output)...
    assert shot.stat().st_size > 10_000
    text = re.sub(r"<[^>]+>", " ", dom)
    flat = re.sub(r"\s*([()])\s*", r"\1", re.sub(r"\s+", " ", text))
    # ...with the run id, the counts of summary.json and every failing check
    assert summary["run_id"] in text
    for label in ("accounts", "reports", "failures", "outstanding"):
        assert re.search(rf"<b>{summary['counts'][label]}</b>{label}", dom), label
    failing = [c for c, r in summary["findings"].items() if r["failed_results"]]
    assert failing, "the demo's organization fails checks"
    for check in failing:
        result = summary["findings"][check]
        assert f"{check}({result['severity']}): " in flat, check
        assert f"{result['failed_results']} failing" in flat, check
    # ...and nothing in it points outside the page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", dom)


HOSTILE_USER = '<script>document.title="pwned"</script>'
HOSTILE_NAME = "<img src=x onerror=\"document.title='pwned'\">evil & co"
HOSTILE_DETAIL = '</td></tr></table><script>document.title="pwned"</script>'


def hostile_summary() -> RunSummary:
    account = "111122223333"
    return RunSummary(
        run_id="20261123T020000Z",
        trigger=Trigger.SCHEDULE,
        complete=False,
        outcome_id="x",
        summarized_at=datetime(2026, 11, 23, 3, tzinfo=UTC),
        counts=Counts(accounts=2, reports=1, failures=1, outstanding=0),
        failures=(
            FailedAccount(
                account_id="444455556666", reason=Reason.ROLE_ASSUME_DENIED, detail=HOSTILE_DETAIL
            ),
        ),
        findings={
            "console-mfa": CheckResult(
                title="MFA", severity="high", failed_users=1, accounts=1, failed_results=1
            )
        },
        failing={
            "console-mfa": (
                FailingResult(
                    account_id=account, user=HOSTILE_USER, credential="password", detail="x"
                ),
            )
        },
        accounts_ranked=(AccountFindings(account_id=account, ou_path=HOSTILE_NAME, high=1),),
        names={account: HOSTILE_NAME, "444455556666": HOSTILE_USER},
        keys=SummaryKeys(manifest="m", summary="s", report="r", findings="f"),
    )


def test_names_carrying_script_and_html_show_as_text_and_nothing_runs(
    chromium: str, tmp_path: Path
) -> None:
    # Given a harness that does run a page's scripts (the control)...
    control = tmp_path / "control.html"
    control.write_text(f"<html><head><title>t</title></head><body>{HOSTILE_USER}</body></html>")
    assert "<title>pwned</title>" in browser.dump_dom(control)

    # When the report of a run whose users and accounts carry script and HTML is opened
    page = tmp_path / "report.html"
    page.write_text(render(hostile_summary(), "bucket"), encoding="utf-8")
    dom = browser.dump_dom(page)
    browser.screenshot(page, OUTPUT / "report-hostile-names.png")

    # Then nothing ran: the title is the report's, no element came from a name
    assert "<title>credreports run 20261123T020000Z: incomplete</title>" in dom
    assert "pwned</title>" not in dom
    assert dom.count("<script") == 0 and "<img" not in dom
    # ...and the names are there, as text
    for hostile in (HOSTILE_USER, HOSTILE_NAME, HOSTILE_DETAIL):
        assert hostile.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in dom
