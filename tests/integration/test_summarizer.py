"""Every run ends announced (issue 14), through the local event-source loop on
the emulator, with the control queue driven like the other queues: the
producer's delayed run check, the summarizer's re-checks, its summary in S3,
one SNS message and one EventBridge event per outcome."""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from typing import Any

import boto3
import pytest

from credreports import cli, layout
from credreports.adapters.queue import Queue
from credreports.adapters.storage import ReportStore
from credreports.local.demo import demo_users, enable_mfa
from credreports.local.pipeline import LocalPipeline
from credreports.local.realistic import realistic_reports
from credreports.local.resources import Resources
from credreports.local.seed import seed_organization
from credreports.logic.checks import CheckSender
from credreports.models.run_check import CheckOrigin
from credreports.operations import replay_failures
from tests.support.builders import start_scheduled
from tests.support.emulator import list_keys, read_json
from tests.support.faults import Faults
from tests.support.ledger import (
    assert_announced_once,
    assert_every_account_accounted_for,
    run_to_the_end,
)


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    """What a command prints as JSON (``status --json``, ``findings --format json``)."""
    capsys.readouterr()
    cli.main(list(argv))
    return json.loads(capsys.readouterr().out)


def summary_of(stack: Resources, run_id: str) -> dict[str, Any]:
    document: dict[str, Any] = read_json(stack.bucket, layout.summary_key("", run_id))
    return document


def test_a_complete_run_is_announced_once_with_the_counts_of_status_and_the_findings_of_findings(
    stack: Resources, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an organization whose reports fail and pass every check (the demo's users)
    org = seed_organization(6, suspended=1, users=demo_users)
    with realistic_reports() as realism:
        realism.add(sorted(org.ids()))
        pipeline = LocalPipeline(stack)

        # When a scheduled run goes to the end
        summary = start_scheduled(pipeline, "2026-11-23T02:00:00Z")
        pipeline.drain()
    run_id = summary["run_id"]
    assert_every_account_accounted_for(stack.bucket, run_id, org.ids())

    # Then it ended with exactly one Run Completed event and one SNS summary
    message, event = assert_announced_once(pipeline, run_id)
    assert message.attributes["kind"] == "run-summary"
    assert event.source == "credreports"
    detail = event.detail
    # ...whose counts are what `status --json` says of the run
    status = cli_json(capsys, "status", "--run", run_id, "--json", "--bucket", stack.bucket)
    expected_counts = {
        name: status["counts"][name] for name in ("accounts", "reports", "failures", "outstanding")
    }
    assert {k: detail["counts"][k] for k in expected_counts} == expected_counts
    assert detail["counts"]["reports"] == len(org.ids()) == 6
    assert f"Accounts {expected_counts['accounts']}: {expected_counts['reports']} reports" in (
        message.message
    )
    # ...and whose findings are what `credreports findings --run` says of it
    results = cli_json(
        capsys, "findings", "--run", run_id, "--format", "json", "--status", "all",
        "--bucket", stack.bucket,
    )  # fmt: skip
    failing_users: dict[str, set[tuple[str, str]]] = defaultdict(set)
    failing_accounts: dict[str, set[str]] = defaultdict(set)
    for result in results:
        if result["status"] == "FAIL":
            failing_users[result["check"]].add((result["account_id"], result["user"]))
            failing_accounts[result["check"]].add(result["account_id"])
    assert {c: f["failed_users"] for c, f in detail["findings"].items()} == {
        c: len(failing_users[c]) for c in detail["findings"]
    }
    assert {c: f["accounts"] for c, f in detail["findings"].items()} == {
        c: len(failing_accounts[c]) for c in detail["findings"]
    }
    assert all(failing_users.values()), "the fixture must fail every check somewhere"
    for check, users in failing_users.items():
        assert f"  {check}" in message.message and f"{len(users)} user(s)" in message.message
    # ...and the findings file in S3 holds every one of those results, as OCSF
    stored = summary_of(stack, run_id)
    assert stored["complete"] is True and stored["outcome"] == "complete"
    ocsf = ReportStore(stack.bucket).read(stored["keys"]["findings"])
    events = [json.loads(line) for line in gzip.decompress(ocsf).decode().splitlines()]
    assert sorted((e["finding_info"]["uid"], e["status_code"]) for e in events) == sorted(
        (r["finding_id"], r["status"]) for r in results
    )
    # ...the event names the summary, report and findings keys, which exist
    assert set(detail["keys"]) >= {"summary", "report", "findings"}
    for key in (detail["keys"]["summary"], detail["keys"]["report"], detail["keys"]["findings"]):
        assert list_keys(stack.bucket, key) == [key]
    # ...and status now prints the summary's headline
    capsys.readouterr()
    cli.main(["status", "--run", run_id, "--bucket", stack.bucket])
    assert f"Summary: run {run_id} complete" in capsys.readouterr().out


def lose_message(queue_url: str, account_id: str) -> None:
    """Take ``account_id``'s work message off the queue for good (as if SQS
    had lost it), leaving the others to be delivered."""
    sqs = boto3.client("sqs")
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30
        ).get("Messages", [])
        assert messages, f"no message for {account_id} on the work queue"
        found = False
        for message in messages:
            if json.loads(message["Body"])["account_id"] == account_id:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                found = True
            else:
                sqs.change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
        if found:
            return


def test_a_lost_message_ends_the_run_incomplete_naming_it_and_a_replay_completes_it(
    stack: Resources,
) -> None:
    # Given a run whose deadline is 3 s after it starts, and one account's work message lost
    org = seed_organization(4, ous={})
    lost = sorted(org.ids())[2]
    pipeline = LocalPipeline(stack, {"MAX_ATTEMPTS": "3", "SUMMARY_DEADLINE_MARGIN_SECONDS": "3"})
    summary = pipeline.start()
    run_id = summary["run_id"]
    lose_message(stack.work_queue_url, lost)

    # When the loop runs until every queue is empty
    pipeline.drain()

    # Then, at the deadline, the run ended incomplete, naming that account
    message, event = assert_announced_once(pipeline, run_id, complete=False)
    assert event.detail["outstanding"] == [lost]
    assert event.detail["counts"]["outstanding"] == 1
    assert lost in message.message and "INCOMPLETE" in message.subject
    assert summary_of(stack, run_id)["complete"] is False

    # When the operator replays the run (the lost account is sent again)
    store = ReportStore(stack.bucket)
    checks = CheckSender(Queue(stack.control_queue_url), delay_seconds=1)
    replay = replay_failures(store, Queue(stack.work_queue_url), run_id, checks=checks)
    assert replay.lost == (lost,) and not replay.sent
    pipeline.drain()

    # Then every account is accounted for, and the run was announced a second
    # time, complete
    assert_every_account_accounted_for(stack.bucket, run_id, org.ids())
    message, event = assert_announced_once(pipeline, run_id, complete=True)
    assert event.detail["counts"]["outstanding"] == 0
    assert summary_of(stack, run_id)["complete"] is True


def test_duplicated_checks_and_a_crash_between_writing_and_announcing_announce_once(
    stack: Resources, faults: Faults
) -> None:
    # Given SNS refuses the first run summary (the summarizer dies after writing
    # the summary, before announcing), and EventBridge the first event after it
    faults.fail("sns.Publish", times=1)
    faults.fail("eventbridge.PutEvents", times=1)
    org = seed_organization(3, ous={})
    pipeline = LocalPipeline(stack)
    summary = pipeline.start()
    run_id = summary["run_id"]
    # ...and the run's check delivered three more times (duplicates, and an operator's)
    checks = CheckSender(Queue(stack.control_queue_url), delay_seconds=0)
    for origin in (CheckOrigin.RUN, CheckOrigin.RUN, CheckOrigin.ENQUEUE):
        checks.send(run_id, origin)

    # When the loop delivers everything
    pipeline.drain()

    # Then the crash happened, after the summary was written...
    assert faults.fired["fail:sns.Publish"] == 1
    assert faults.fired["fail:eventbridge.PutEvents"] == 1
    assert_every_account_accounted_for(stack.bucket, run_id, org.ids())
    # ...and still the outcome was announced once on each channel
    assert_announced_once(pipeline, run_id)
    outcomes = list_keys(stack.bucket, layout.run_prefix("", "runs", run_id) + "outcomes/")
    assert len(outcomes) == 1
    claim = read_json(stack.bucket, outcomes[0])
    assert claim["sns_message_id"] and claim["event_id"]
    assert pipeline.loop.stats.invocations["summarizer"] >= 4


def set_mfa(org_account: str, user: str, *, enabled: bool) -> None:
    """Give ``user`` of ``org_account`` an MFA device, or take it away."""
    credentials = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{org_account}:role/OrganizationAccountAccessRole",
        RoleSessionName="test",
    )["Credentials"]
    iam = boto3.client(
        "iam",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    if enabled:
        enable_mfa(iam, user)
    else:
        (device,) = iam.list_mfa_devices(UserName=user)["MFADevices"]
        iam.deactivate_mfa_device(UserName=user, SerialNumber=device["SerialNumber"])


def console_users(iam: Any, account: Any, index: int) -> list[str]:
    """A console user without MFA and one with it, in every account."""
    for name in ("gains-mfa", "loses-mfa"):
        iam.create_user(UserName=name)
        iam.create_login_profile(UserName=name, Password="Test-password-1!")
    return ["gains-mfa", "loses-mfa"]


def test_a_user_gaining_mfa_and_another_losing_it_are_one_resolved_and_one_new_finding(
    stack: Resources,
) -> None:
    # Given two accounts whose console users both lack MFA, but one of them
    # gets MFA before the first run
    org = seed_organization(1, ous={}, users=console_users)
    watched = sorted(org.ids())[0]
    set_mfa(watched, "loses-mfa", enabled=True)
    pipeline = LocalPipeline(stack)
    first, _ = run_to_the_end(pipeline, org.ids(), scheduled_at="2026-11-23T02:00:00Z")

    # When, before the next scheduled run, one user gains MFA and the other loses it
    set_mfa(watched, "gains-mfa", enabled=True)
    set_mfa(watched, "loses-mfa", enabled=False)
    second, _ = run_to_the_end(pipeline, org.ids(), scheduled_at="2026-11-24T02:00:00Z")

    # Then the second run's summary lists one resolved and one new finding
    stored = summary_of(stack, second["run_id"])
    assert stored["previous_run_id"] == first["run_id"]
    assert (stored["new_count"], stored["resolved_count"]) == (1, 1)
    ((new,), (resolved,)) = stored["new"], stored["resolved"]
    assert (new["check"], new["account_id"], new["user"]) == ("console-mfa", watched, "loses-mfa")
    assert (resolved["check"], resolved["account_id"], resolved["user"]) == (
        "console-mfa",
        watched,
        "gains-mfa",
    )
    assert new["finding_id"] != resolved["finding_id"]
