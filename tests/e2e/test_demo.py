"""``credreports demo`` as a newcomer runs it: the console script, in a
subprocess, with its own emulator."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from credreports.findings.catalogue import CHECKS


def console_script() -> str:
    found = shutil.which("credreports", path=str(Path(sys.executable).parent))
    assert found, "the credreports console script is not installed in this environment"
    return found


def run_demo(accounts: int, out: Path) -> subprocess.CompletedProcess[str]:
    """The demo's console script in a clean environment: no endpoint or
    credentials of the test session."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "POWERTOOLS_"))
    }
    return subprocess.run(  # noqa: S603 - our own console script
        [console_script(), "demo", "--accounts", str(accounts), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
        env=environment,
        check=False,
    )


def test_demo_writes_one_csv_per_active_account_and_prints_the_summary(tmp_path: Path) -> None:
    # Given a clean environment, When the demo runs with 6 accounts
    out = tmp_path / "out"
    finished = run_demo(6, out)

    # Then it succeeds and prints the summary, with no handler logs in between
    assert finished.returncode == 0, finished.stderr
    assert "accounts seen     6" in finished.stdout
    assert "skipped by state  SUSPENDED 1" in finished.stdout
    assert "failures          0" in finished.stdout
    assert '"level"' not in finished.stdout, "handler logs leaked into the demo's output"
    assert "from template.yaml" in finished.stdout

    # ...and one CSV per active, non-excluded account, exactly the manifest's accounts
    manifests = list(out.glob("runs/date=*/run=*/manifest.json"))
    assert len(manifests) == 1
    manifest = json.loads(manifests[0].read_text())
    csvs = list(out.glob("reports/date=*/run=*/account=*/credential-report.csv"))
    accounts = {path.parent.name.removeprefix("account=") for path in csvs}
    assert accounts == set(manifest["accounts"])
    assert len(csvs) == 6 - len(manifest["skipped"]) - len(manifest["excluded"]) == 5
    assert not list(out.glob("failures/**/*.json"))
    # ...whose rows are IAM users in the states the demo promises
    header, *rows = csvs[0].read_text().splitlines()
    assert header.startswith("user,arn,user_creation_time")
    users = {row.split(",")[0] for row in rows}
    assert {"alice.admin", "ci-deploy"} <= users


@pytest.mark.parametrize("accounts", ["1", "many"])
def test_demo_rejects_a_nonsensical_organization_size(accounts: str) -> None:
    finished = subprocess.run(  # noqa: S603 - our own console script
        [console_script(), "demo", "--accounts", accounts],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 2
    assert "--accounts" in finished.stderr


def test_demo_findings_fail_and_pass_every_check_and_are_written(tmp_path: Path) -> None:
    # Given a clean environment, When the demo runs with 10 accounts (the smallest
    # organization the promise covers)
    out = tmp_path / "out"
    finished = run_demo(10, out)

    # Then it says the organization is synthetic and ends with the findings table
    assert finished.returncode == 0, finished.stderr
    assert "synthetic" in finished.stdout
    tail = finished.stdout[finished.stdout.index("Findings of run") :]
    assert "as_of" in tail
    for check in CHECKS:
        assert f"\n{check.id} ({check.severity.value}): " in tail, check.id
    # ...and wrote every result as json and OCSF under --out
    (json_file,) = out.glob("findings/date=*/run=*/findings.json")
    (ocsf_file,) = out.glob("findings/date=*/run=*/findings.ocsf.jsonl")
    results = json.loads(json_file.read_text())
    events = [json.loads(line) for line in ocsf_file.read_text().splitlines()]
    assert len(events) == len(results)
    assert {e["class_uid"] for e in events} == {2004}
    # ...where every check fails in at least one account and passes in at least one
    manifest = json.loads(next(out.glob("runs/date=*/run=*/manifest.json")).read_text())
    assert {r["account_id"] for r in results} == set(manifest["accounts"])
    for check in CHECKS:
        statuses = {r["status"] for r in results if r["check"] == check.id}
        assert statuses == {"PASS", "FAIL"}, (check.id, statuses)
    # ...and the ages are realistic: years-old keys, not keys created a second ago
    rotation = [r["detail"] for r in results if r["check"] == "key-rotation"]
    assert any("400 days" in detail for detail in rotation)
