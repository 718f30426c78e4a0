"""Issue 4, items 1-3 (static part): cfn-lint, sam validate --lint and checkov
accept both templates, and every checkov skip is written in the template with
its reason."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.infra.conftest import BUCKET_TEMPLATE, REPO, TEMPLATE, tool, tool_environment

TEMPLATES = [TEMPLATE, BUCKET_TEMPLATE]


def _run(command: list[str | Path], timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own tools, fixed arguments
        [str(part) for part in command],
        cwd=REPO,
        env=tool_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_cfn_lint_finds_no_error_or_warning(template: Path) -> None:
    result = _run([tool("cfn-lint"), "--format", "parseable", template])

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_sam_validate_lint_passes(template: Path) -> None:
    result = _run([tool("sam"), "validate", "--lint", "--template", template])

    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_checkov_fails_nothing_and_every_skip_gives_its_reason() -> None:
    result = _run(
        [
            tool("checkov"),
            "--skip-download",
            "--framework",
            "cloudformation",
            "--output",
            "json",
            *[part for template in TEMPLATES for part in ("-f", template)],
        ]
    )
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]

    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']})"
        for report in reports
        for check in report["results"]["failed_checks"]
    ]
    assert failed == []
    skipped = [check for report in reports for check in report["results"]["skipped_checks"]]
    assert skipped, "the templates carry inline skips; checkov did not read them"
    for check in skipped:
        reason = (check.get("check_result") or {}).get("suppress_comment", "")
        assert len(reason.split()) >= 8, f"{check['check_id']} on {check['resource']}: {reason!r}"
    passed = sum(report["summary"]["passed"] for report in reports)
    assert passed >= 40, "checkov ran fewer checks than the templates have resources for"
    assert result.returncode == 0, result.stderr
