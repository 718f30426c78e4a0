"""``credreports findings --run`` against a stack created from template.yaml in
the emulator, set against ``--reports`` on the same run exported to disk."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import boto3

from credreports.adapters.storage import ReportStore
from credreports.ledger import read_ledger
from credreports.local.demo import demo_users, export, provision
from credreports.local.pipeline import LocalPipeline
from credreports.local.realistic import realistic_reports
from credreports.local.seed import seed_organization
from tests.support.deployed import Result, RunCli
from tests.support.ledger import assert_every_account_accounted_for

STACK_NAME = "findings"


def _records(result: Result) -> list[dict[str, object]]:
    assert result.code == 0, result.err
    records: list[dict[str, object]] = json.loads(result.out)
    return sorted(records, key=lambda r: str(r["finding_id"]))


def test_findings_of_a_run_equal_those_of_its_reports_exported_to_disk(
    run_cli: RunCli, tmp_path: Path
) -> None:
    # Given a run of an organization of 5 active accounts, through the deployed
    # functions, whose reports have ages and root rows
    organization = seed_organization(5, suspended=1, users=demo_users)
    resources = provision(organization, {"RetryDelaySeconds": "0"}, stack_name=STACK_NAME)
    accounts = organization.ids()
    with realistic_reports() as realism:
        realism.add(sorted(accounts))
        pipeline = LocalPipeline(resources, {"RETRY_DELAY_SECONDS": "0"})
        run_id = str(pipeline.start()["run_id"])
        pipeline.drain()
    outcome = assert_every_account_accounted_for(resources.bucket, run_id, accounts)
    assert set(outcome.reports) == accounts
    store = ReportStore(resources.bucket, resources.prefix)
    export(store, read_ledger(store, run_id), tmp_path)

    # When findings are read from the run in the bucket (named, and as the latest run)
    target = ["--stack", STACK_NAME]
    from_run = run_cli("findings", "--run", run_id, "--format", "json", "--status", "all", *target)
    latest = run_cli("findings", "--format", "json", "--status", "all", *target)
    records = _records(from_run)
    as_of = str(records[0]["as_of"])
    # ...and from the exported CSVs, at the as_of the run stated
    from_files = run_cli(
        "findings",
        "--reports",
        str(tmp_path),
        "--as-of",
        as_of,
        "--format",
        "json",
        "--status",
        "all",
    )

    # Then both give the same results, and the latest run is that run
    assert records == _records(from_files) == _records(latest)
    # ...over every account, root rows included, with failures and passes
    assert {r["account_id"] for r in records} == accounts
    assert {r["user"] for r in records if r["check"] == "root-mfa"} == {"<root_account>"}
    assert {r["status"] for r in records} == {"PASS", "FAIL"}
    # ...and as_of is the newest generated-time the worker wrote, read here straight from S3
    s3 = boto3.client("s3")
    generated = [
        datetime.fromisoformat(
            s3.head_object(Bucket=resources.bucket, Key=key)["Metadata"]["generated-time"]
        )
        for key in outcome.reports.values()
    ]
    assert datetime.fromisoformat(as_of) == max(generated)
    assert f"as_of {as_of}" in from_run.err


def test_findings_of_a_run_that_does_not_exist_exit_1(run_cli: RunCli) -> None:
    organization = seed_organization(1)
    provision(organization, {}, stack_name=STACK_NAME)
    result = run_cli("findings", "--run", "20200101T000000Z", "--stack", STACK_NAME)
    assert result.code == 1
    assert "20200101T000000Z" in result.err
