"""Operator commands and issue 10: --bucket-profile (the report bucket read
with another profile's credentials, the bucket in a logging account), and a
run id in the future refused before anything is sent."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from credreports import cli
from credreports.models.ids import run_id_for
from tests.support.deployed import Deployed, RunCli
from tests.support.emulator import list_keys, queue_depth
from tests.support.faults import Faults
from tests.support.ledger import run_to_the_end


@pytest.fixture
def logging_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    config = tmp_path / "config"
    config.write_text(
        "[profile logging]\n"
        "aws_access_key_id = AKIALOGGINGACCOUNT01\n"
        "aws_secret_access_key = logging-secret\n"
        "region = us-east-1\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    return "logging"


def test_status_reads_the_bucket_with_the_bucket_profile(
    deployed: Deployed, run_cli: RunCli, faults: Faults, logging_profile: str
) -> None:
    # Given a finished run, and a bucket that refuses the usual credentials
    # (the bucket is in another account; the emulator tells callers apart by
    # the access key that signed a request)
    summary, _ = run_to_the_end(deployed.pipeline(), deployed.organization.ids())
    usual = os.environ["AWS_ACCESS_KEY_ID"]
    for operation in ("s3.ListObjectsV2", "s3.GetObject"):
        faults.fail(operation, "AccessDenied", 403, signed_by={usual})

    # When status runs without and then with the bucket's profile
    refused = run_cli("status", *deployed.target)
    answered = run_cli("status", "--bucket-profile", logging_profile, *deployed.target)

    # Then the usual credentials are refused, the bucket profile's are not,
    # while the stack's outputs still came from the usual ones
    assert refused.code == 1 and "AccessDenied" in refused.err
    assert answered.code == 0, answered.err
    assert f"Run {summary['run_id']}: complete" in answered.out


def test_an_unknown_bucket_profile_is_invalid_input(
    deployed: Deployed, run_cli: RunCli, logging_profile: str
) -> None:
    result = run_cli("status", "--bucket-profile", "nope", *deployed.target)

    assert result.code == 2
    assert "--bucket-profile" in result.err and "nope" in result.err


def test_enqueue_into_a_run_in_the_future_is_refused_and_sends_nothing(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a run id a year ahead (a typo: 2027 for 2026)
    future = run_id_for(datetime.now(UTC) + timedelta(days=365))
    account = sorted(deployed.organization.ids())[0]

    # When the operator enqueues an account into it
    with pytest.raises(SystemExit) as refused:
        cli.main(["enqueue", account, "--run", future, *deployed.target])

    # Then the command exits 2, says why, and nothing was sent or written
    assert refused.value.code == 2
    assert "in the future" in capsys.readouterr().err
    assert queue_depth(deployed.resources.work_queue_url) == 0
    assert list_keys(deployed.resources.bucket, "") == []
