"""``credreports findings --reports`` through the entry point, on folders laid
out as the bucket is (no emulator: files only)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from credreports import cli
from credreports.models.manifest import AccountDetail
from tests.support import builders
from tests.support.reports import (
    FIXTURES,
    bucket_report_path,
    days_ago,
    root_row,
    user_row,
    write_report,
)

AS_OF = "2025-06-16T00:00:00Z"
# The edge-case fixture stored as account 111122223333's report (its arns say
# 123456789012: the path's account= segment wins), the realistic one as 444455556666's.
EDGE = "111122223333"
REALISTIC = "444455556666"


@dataclass
class Ran:
    code: int
    out: str
    err: str


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Runner:
    def invoke(*argv: str) -> Ran:
        capsys.readouterr()
        code = cli.main(["findings", *argv])
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return invoke


Runner = Callable[..., Ran]


@pytest.fixture
def bucket(tmp_path: Path) -> Path:
    """Two reports in the bucket's layout, beside a manifest as the demo exports it."""
    root = tmp_path / "bucket"
    for account, fixture in ((EDGE, "edge-cases.csv"), (REALISTIC, "realistic.csv")):
        target = bucket_report_path(root, account)
        target.parent.mkdir(parents=True)
        shutil.copy(FIXTURES / fixture, target)
    manifest = root / "runs/date=2025-06-16/run=20250616T020000Z/manifest.json"
    manifest.parent.mkdir(parents=True)
    written = builders.manifest([EDGE, REALISTIC], run_id="20250616T020000Z").model_copy(
        update={"details": (AccountDetail(account_id=EDGE, name="payments-prod"),)}
    )
    manifest.write_text(json.dumps(written.to_document()))
    return root


def test_json_lists_the_failing_results_with_the_account_of_the_path(
    run: Runner, bucket: Path
) -> None:
    ran = run("--reports", str(bucket), "--format", "json", "--as-of", AS_OF)
    assert ran.code == 0, ran.err
    records = json.loads(ran.out)
    assert {r["status"] for r in records} == {"FAIL"}
    assert {r["as_of"] for r in records} == {"2025-06-16T00:00:00Z"}
    failing = {(r["account_id"], r["user"], r["check"], r["credential"]) for r in records}
    assert failing == {
        (EDGE, "alice", "console-mfa", "password"),
        (EDGE, "bob", "key-rotation", "access-key-1"),
        (EDGE, "ci-deployer", "key-rotation", "access-key-1"),
        (EDGE, "ci-deployer", "two-active-keys", "user"),
        (REALISTIC, "IAM-user", "unused-credentials", "password"),
        (REALISTIC, "with-disabled-key", "unused-credentials", "access-key-2"),
        (REALISTIC, "with-disabled-key", "key-rotation", "access-key-2"),
        (REALISTIC, "different-region", "unused-credentials", "access-key-1"),
        (REALISTIC, "different-region", "key-rotation", "access-key-1"),
        (REALISTIC, "credential-user", "key-rotation", "access-key-1"),
        # used 2017-08-30: recent in the fixture's own time, not in 2025
        (REALISTIC, "credential-user", "unused-credentials", "access-key-1"),
    }
    assert all(
        r["finding_id"] == f"credreports-{r['check']}-{r['account_id']}-{r['user']}-"
        f"{r['credential']}"
        for r in records
    )
    assert "as_of 2025-06-16T00:00:00Z" in ran.err


def test_csv_has_a_header_and_the_same_results_as_json(run: Runner, bucket: Path) -> None:
    as_json = json.loads(run("--reports", str(bucket), "--format", "json", "--as-of", AS_OF).out)
    ran = run("--reports", str(bucket), "--format", "csv", "--status", "all", "--as-of", AS_OF)
    assert ran.code == 0
    rows = list(csv.DictReader(io.StringIO(ran.out)))
    assert list(rows[0])[:3] == ["check", "status", "severity"]
    assert {r["status"] for r in rows} == {"PASS", "FAIL"}
    assert {r["finding_id"] for r in rows if r["status"] == "FAIL"} == {
        r["finding_id"] for r in as_json
    }


def test_ocsf_writes_one_detection_finding_per_line(run: Runner, bucket: Path) -> None:
    ran = run("--reports", str(bucket), "--format", "ocsf", "--status", "all", "--as-of", AS_OF)
    events = [json.loads(line) for line in ran.out.splitlines()]
    assert len(events) == 24 + 20  # every result of both fixtures (see the unit tests)
    assert {e["class_uid"] for e in events} == {2004}
    assert {e["status_code"] for e in events} == {"PASS", "FAIL"}
    assert {e["cloud"]["account"]["uid"] for e in events} == {EDGE, REALISTIC}


@pytest.mark.parametrize(
    ("fail_on", "code"), [("critical", 0), ("high", 1), ("medium", 1), ("low", 1)]
)
def test_fail_on_exits_1_when_a_failure_at_or_above_the_severity_exists(
    run: Runner, bucket: Path, fail_on: str, code: int
) -> None:
    # The worst failure of the two fixtures is console-mfa (high)
    ran = run("--reports", str(bucket), "--format", "json", "--as-of", AS_OF, "--fail-on", fail_on)
    assert ran.code == code, ran.err
    if code:
        assert "at or above" in ran.err


def test_fail_on_counts_only_the_selected_checks(run: Runner, bucket: Path) -> None:
    ran = run(
        "--reports", str(bucket), "--as-of", AS_OF, "--check", "key-rotation", "--fail-on", "high"
    )
    assert ran.code == 0
    assert "console-mfa" not in ran.out


def test_a_critical_root_key_trips_fail_on_critical(run: Runner, tmp_path: Path) -> None:
    write_report(
        tmp_path / "r.csv",
        root_row(access_key_1_active=True, access_key_1_last_rotated=days_ago(10)),
    )
    assert run("--reports", str(tmp_path), "--fail-on", "critical").code == 1


def test_a_malformed_file_is_named_and_the_others_are_still_evaluated(
    run: Runner, bucket: Path
) -> None:
    broken = bucket_report_path(bucket, "777788889999")
    broken.parent.mkdir(parents=True)
    broken.write_text("this is not,a credential report\n1,2\n")
    ran = run("--reports", str(bucket), "--format", "json", "--as-of", AS_OF)
    assert ran.code == 1
    assert str(broken) in ran.err
    assert "not a credential report" in ran.err
    accounts = {r["account_id"] for r in json.loads(ran.out)}
    assert accounts == {EDGE, REALISTIC}


def test_reports_on_a_missing_folder_or_one_without_csv_exits_2(
    run: Runner, tmp_path: Path
) -> None:
    missing = run("--reports", str(tmp_path / "nowhere"))
    assert missing.code == 2
    assert "nothing to read" in missing.err
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no reports here")
    assert run("--reports", str(tmp_path / "empty")).code == 2


@pytest.mark.parametrize(
    "argv",
    [["--as-of", "last tuesday"], ["--check", "no-such-check"], ["--account", "12"]],
    ids=["as-of", "check", "account"],
)
def test_invalid_options_exit_2(argv: list[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["findings", "--reports", str(tmp_path), *argv])
    assert exited.value.code == 2


def test_a_bad_threshold_setting_exits_2(
    run: Runner, bucket: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROTATION_DAYS", "ninety")
    ran = run("--reports", str(bucket))
    assert ran.code == 2
    assert "ROTATION_DAYS" in ran.err


def test_thresholds_are_read_from_the_environment(
    run: Runner, bucket: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROTATION_DAYS", "10000")
    ran = run("--reports", str(bucket), "--format", "json", "--as-of", AS_OF)
    assert not [r for r in json.loads(ran.out) if r["check"] == "key-rotation"]


def test_the_table_summarizes_per_check_then_lists_failures_with_account_names(
    run: Runner, bucket: Path
) -> None:
    ran = run("--reports", str(bucket), "--as-of", AS_OF)
    assert ran.code == 0
    lines = ran.out.splitlines()
    assert "as_of 2025-06-16T00:00:00Z (given)" in ran.out
    summary = next(line for line in lines if line.strip().startswith("key-rotation "))
    assert summary.split()[:4] == ["key-rotation", "medium", "5", "2"]  # 5 users, 2 accounts
    assert f"{EDGE} (payments-prod)" in ran.out
    assert "alice" in ran.out and "console password without MFA" in ran.out


def test_filters_select_checks_and_accounts_and_status_all_shows_passes(
    run: Runner, bucket: Path
) -> None:
    ran = run(
        "--reports",
        str(bucket),
        "--format",
        "json",
        "--as-of",
        AS_OF,
        "--status",
        "all",
        "--account",
        EDGE,
        "--check",
        "root-mfa",
        "--check",
        "console-mfa",
    )
    records = json.loads(ran.out)
    assert {r["account_id"] for r in records} == {EDGE}
    assert {r["check"] for r in records} == {"root-mfa", "console-mfa"}
    assert {(r["user"], r["status"]) for r in records if r["check"] == "root-mfa"} == {
        ("<root_account>", "PASS")
    }


def test_files_are_measured_from_now_by_default(run: Runner, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    write_report(
        tmp_path / "r.csv",
        user_row(access_key_1_active=True, access_key_1_last_rotated=now - timedelta(days=91)),
    )
    ran = run("--reports", str(tmp_path / "r.csv"), "--format", "json")
    (record,) = [r for r in json.loads(ran.out) if r["check"] == "key-rotation"]
    assert "91 days" in record["detail"]
    stated = datetime.fromisoformat(record["as_of"])
    assert abs(stated - now) < timedelta(minutes=1)


def test_a_folder_with_several_runs_evaluates_the_newest(run: Runner, tmp_path: Path) -> None:
    old = user_row("old-user", password_enabled=True)
    new = user_row("new-user", password_enabled=True)
    write_report(bucket_report_path(tmp_path, EDGE, "20250601T020000Z"), old)
    write_report(bucket_report_path(tmp_path, EDGE, "20250602T020000Z"), new)
    ran = run("--reports", str(tmp_path), "--format", "json")
    assert {r["user"] for r in json.loads(ran.out)} == {"new-user"}
    assert "20250602T020000Z" in ran.err or "20250602T020000Z" in ran.out


def test_the_table_escapes_control_characters_from_reports(run: Runner, tmp_path: Path) -> None:
    write_report(tmp_path / "r.csv", user_row("evil\x1b[2J\x07", password_enabled=True))
    ran = run("--reports", str(tmp_path))
    assert "\x1b" not in ran.out and "\x07" not in ran.out
    assert "evil\\x1b[2J\\x07" in ran.out


def test_a_broken_manifest_leaves_names_out_and_the_reports_evaluated(
    run: Runner, bucket: Path
) -> None:
    (manifest,) = bucket.glob("runs/*/*/manifest.json")
    manifest.write_text('{"run_id": "not a run"')
    ran = run("--reports", str(bucket), "--as-of", AS_OF)
    assert ran.code == 0, ran.err
    assert "payments-prod" not in ran.out
    assert "console password without MFA" in ran.out


def test_status_failed_still_counts_the_accounts_whose_selected_results_pass(
    run: Runner, bucket: Path
) -> None:
    # Given console-mfa failing in one account (alice) and passing everywhere in the other
    ran = run("--reports", str(bucket), "--check", "console-mfa", "--as-of", AS_OF)
    # Then the table lists only the failure, and both accounts as evaluated
    assert ran.code == 0, ran.err
    assert "2 report(s) of 2 account(s) evaluated" in ran.out
    assert "alice" in ran.out
    assert "IAM-user" not in ran.out
