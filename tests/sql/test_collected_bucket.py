"""The SQL over a bucket that the pipeline itself filled on the emulator: the
producer's run manifest reads through the run_manifests table, an account
that failed shows among the accounts without a report, and the checks agree
with the Python engine on reports in the emulator's own format."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from credreports import layout
from credreports.findings.catalogue import CHECKS
from credreports.findings.engine import evaluate_report
from credreports.local import resources
from credreports.local.emulator import Emulator
from credreports.local.pipeline import LocalPipeline
from credreports.local.resources import Resources
from credreports.local.seed import SeededAccount, seed_organization
from credreports.models.manifest import RunManifest
from tests.support.faults import Faults
from tests.support.ledger import assert_every_account_accounted_for
from tools import athena_local
from tools.athena_sql import statements


@pytest.fixture
def stack(emulator: Emulator, faults: Faults) -> Iterator[Resources]:
    emulator.reset()
    yield resources.create("athena", visibility_timeout=1, max_receive_count=3)
    emulator.reset()


def console_and_deployer(iam: Any, account: SeededAccount, index: int) -> list[str]:
    """A console user without MFA, and a user with two access keys never used."""
    iam.create_user(UserName="console")
    iam.create_login_profile(UserName="console", Password="Local-only-1!")
    iam.create_user(UserName="deployer")
    iam.create_access_key(UserName="deployer")
    iam.create_access_key(UserName="deployer")
    return ["console", "deployer"]


def download(bucket: str, folder: Path) -> dict[str, bytes]:
    """Every object of the bucket, written under ``folder`` at its key."""
    s3 = boto3.client("s3")
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            body: bytes = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            objects[item["Key"]] = body
            (folder / item["Key"]).parent.mkdir(parents=True, exist_ok=True)
            (folder / item["Key"]).write_bytes(body)
    return objects


def test_a_collected_run_reads_through_the_tables_as_the_engine_reads_it(
    stack: Resources, faults: Faults, tmp_path: Path
) -> None:
    # Given a run of 3 accounts (and the management account) where one account
    # cannot be reached
    org = seed_organization(3, ous={}, users=console_and_deployer)
    denied = sorted(org.ids())[1]
    faults.deny("sts.AssumeRole", {denied})
    pipeline = LocalPipeline(stack)
    summary = pipeline.start()
    pipeline.drain()
    run_id = summary["run_id"]
    outcome = assert_every_account_accounted_for(stack.bucket, run_id, org.ids())
    assert set(outcome.failures) == {denied}

    # When the bucket is read with the tables and views of the template
    objects = download(stack.bucket, tmp_path)
    as_of = datetime.now(UTC)
    by_name = {s.name: s for s in statements()}
    with athena_local.connect(tmp_path, as_of=as_of) as duck:
        listed = duck.execute(
            "SELECT account_id, account_name FROM run_accounts WHERE run_id = ?", [run_id]
        ).fetchall()
        missing = athena_local.rows(duck, by_name["credreports-accounts-without-report"], as_of)
        failing = {
            check.id: {
                (r["account_id"], r["user"], r["credential"])
                for r in athena_local.rows(duck, by_name[f"credreports-{check.id}"], as_of)
            }
            for check in CHECKS
        }

    # Then the manifest the producer wrote lists every account of the run, with
    # the names the manifest model reads in it...
    manifest = RunManifest.model_validate_json(objects[layout.manifest_key("", run_id)])
    assert {account for account, _ in listed} == org.ids() == set(manifest.accounts)
    assert {a: n for a, n in listed if n is not None} == manifest.names()
    # ...the unreachable account is the one without a report
    assert [(r["run_id"], r["account_id"]) for r in missing] == [(run_id, denied)]
    # ...and each check fails exactly what the engine fails in those reports
    engine: dict[str, set[tuple[str, str, str]]] = {check.id: set() for check in CHECKS}
    for account_id, key in outcome.reports.items():
        for f in evaluate_report(objects[key], account_id, as_of):
            if f.failed:
                engine[f.check].add((f.account_id, f.user, f.credential))
    assert failing == engine
    reported = set(outcome.reports)
    assert {a for a, *_ in failing["console-mfa"]} == reported
    assert {a for a, *_ in failing["two-active-keys"]} == reported
