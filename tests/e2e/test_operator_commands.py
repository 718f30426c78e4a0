"""enqueue, status and replay through the CLI entry point, against a stack in
the emulator, with the pipeline run by the local event-source loop."""

from __future__ import annotations

import json

import boto3
import pytest

from credreports import cli
from credreports.models.codes import Trigger
from tests.support.deployed import Deployed, RunCli
from tests.support.emulator import queue_depth
from tests.support.faults import Faults
from tests.support.ledger import assert_every_account_accounted_for, read_run, run_to_the_end


def members(deployed: Deployed, count: int) -> list[str]:
    return sorted(deployed.organization.ids())[:count]


def test_enqueue_with_one_malformed_id_names_it_and_sends_nothing(
    deployed: Deployed, run_cli: RunCli
) -> None:
    # Given two valid ids and one with 11 digits
    good = members(deployed, 2)

    # When the operator enqueues them
    result = run_cli("enqueue", good[0], "12345678901", good[1], *deployed.target)

    # Then the command fails, names the bad id, and nothing was sent or written
    assert result.code == 2
    assert "'12345678901'" in result.err and "nothing was sent" in result.err
    assert good[0] not in result.err
    assert queue_depth(deployed.resources.work_queue_url) == 0
    keys = boto3.client("s3").list_objects_v2(Bucket=deployed.resources.bucket).get("KeyCount")
    assert keys == 0


def test_enqueued_accounts_get_reports(deployed: Deployed, run_cli: RunCli) -> None:
    # Given two accounts of the organization
    chosen = members(deployed, 2)

    # When the operator enqueues them and the functions run
    result = run_cli("enqueue", *chosen, *deployed.target)
    deployed.pipeline().drain()

    # Then they form a new run, and each has its report
    assert result.code == 0, result.err
    run_id = result.out.split(" in a new run ")[1].split()[0]
    outcome = assert_every_account_accounted_for(deployed.resources.bucket, run_id, set(chosen))
    assert set(outcome.reports) == set(chosen)
    assert outcome.manifest is not None and outcome.manifest.trigger is Trigger.MANUAL
    # ...and status calls the run complete
    assert run_cli("status", "--run", run_id, *deployed.target).code == 0


def test_failures_are_listed_by_reason_and_replay_turns_them_into_reports(
    deployed: Deployed, run_cli: RunCli, faults: Faults
) -> None:
    # Given a run where two accounts deny the member role and one report never completes
    accounts = sorted(deployed.organization.ids())
    denied, stuck = set(accounts[1:3]), accounts[4]
    faults.deny("sts.AssumeRole", denied)
    faults.never_ready({stuck})
    pipeline = deployed.pipeline(MAX_ATTEMPTS="2")
    run_id = pipeline.start()["run_id"]

    # When status is asked while the messages are still queued
    in_flight = run_cli("status", *deployed.target)

    # Then it is not complete, and lists every account as outstanding
    assert in_flight.code == 1
    assert f"Run {run_id}: NOT complete" in in_flight.out
    assert all(account in in_flight.out for account in accounts)

    # When the run has finished
    pipeline.drain()
    finished = run_cli("status", *deployed.target)

    # Then it is complete, and the failed accounts are listed by reason, named
    assert finished.code == 0, finished.out
    manifest = read_run(deployed.resources.bucket, run_id).manifest
    assert manifest is not None
    names = manifest.names()
    listed = " ".join(f"{a} ({names[a]})" for a in sorted(denied))
    assert f"ROLE_ASSUME_DENIED  2: {listed}" in finished.out
    assert f"REPORT_NOT_READY    1: {stuck} ({names[stuck]})" in finished.out
    # ...and the run's summary says how it ended
    assert f"Summary: run {run_id} complete: 7 accounts, 4 reports, 3 failures" in finished.out
    assert_every_account_accounted_for(deployed.resources.bucket, run_id, set(accounts))

    # When the member role is fixed and the operator replays that reason
    faults.clear()
    faults.never_ready({stuck})
    replay = run_cli("replay", "--reason", "ROLE_ASSUME_DENIED", *deployed.target)

    # Then exactly those accounts are sent again, and the run is open until they land
    assert replay.code == 0, replay.err
    assert all(account in replay.out for account in denied) and stuck not in replay.out
    assert run_cli("status", *deployed.target).code == 1
    pipeline.drain()
    after = run_cli("status", *deployed.target)
    assert after.code == 0
    outcome = assert_every_account_accounted_for(deployed.resources.bucket, run_id, set(accounts))
    assert denied <= set(outcome.reports)
    assert set(outcome.failures) == {stuck}

    # When the operator replays again
    again = run_cli("replay", "--reason", "ROLE_ASSUME_DENIED", *deployed.target)

    # Then nothing is sent
    assert again.code == 0
    assert f"Nothing to replay in run {run_id}." in again.out
    assert queue_depth(deployed.resources.work_queue_url) == 0


def test_replay_dry_run_and_second_replay_send_nothing(
    deployed: Deployed, run_cli: RunCli, faults: Faults
) -> None:
    # Given a finished run with one ROLE_ASSUME_DENIED failure
    accounts = sorted(deployed.organization.ids())
    faults.deny("sts.AssumeRole", {accounts[0]})
    pipeline = deployed.pipeline()
    run_id = run_to_the_end(pipeline, set(accounts))[0]["run_id"]

    # When the operator asks for a dry run
    dry = run_cli("replay", "--run", run_id, "--dry-run", *deployed.target)

    # Then it says what it would send, and sends nothing
    assert dry.code == 0
    assert f"Would replay 1 failed account(s) of run {run_id}" in dry.out
    assert accounts[0] in dry.out
    assert queue_depth(deployed.resources.work_queue_url) == 0

    # When it replays for real (the role is still missing) and the run finishes again
    assert run_cli("replay", "--run", run_id, *deployed.target).code == 0
    second = run_cli("replay", "--run", run_id, *deployed.target)
    pipeline.drain()

    # Then the second replay, made while the first was in flight, sent nothing,
    # and the account failed once more: replayable again
    assert "Already replayed, waiting for an outcome" in second.out
    assert_every_account_accounted_for(deployed.resources.bucket, run_id, set(accounts))
    assert read_run(deployed.resources.bucket, run_id).failures[accounts[0]]["replayed_at"] is None
    assert accounts[0] in run_cli("replay", "--dry-run", *deployed.target).out


def test_status_json_matches_the_objects_in_s3(
    deployed: Deployed, run_cli: RunCli, faults: Faults
) -> None:
    # Given a finished run with one failure
    accounts = sorted(deployed.organization.ids())
    faults.deny("sts.AssumeRole", {accounts[3]})
    pipeline = deployed.pipeline()
    run_id = run_to_the_end(pipeline, set(accounts))[0]["run_id"]

    # When the operator asks for the ledger as JSON
    result = run_cli("status", "--json", *deployed.target)

    # Then it is JSON that agrees, object by object, with the bucket
    assert result.code == 0
    ledger = json.loads(result.out)
    s3 = assert_every_account_accounted_for(deployed.resources.bucket, run_id, set(accounts))
    assert ledger["run_id"] == run_id and ledger["complete"] is True
    assert ledger["reports"] == s3.reports
    assert {a: f["reason"] for a, f in ledger["failures"].items()} == {
        a: r["reason"] for a, r in s3.failures.items()
    }
    assert s3.manifest is not None
    assert sorted(ledger["accounts"]) == sorted(s3.manifest.accounts)
    assert ledger["counts"] == {
        "accounts": len(accounts),
        "reports": len(accounts) - 1,
        "failures": 1,
        "outstanding": 0,
        "replaying": 0,
        "failures_by_reason": {"ROLE_ASSUME_DENIED": 1},
    }
    assert ledger["manifest"]["skipped_by_state"] == {"SUSPENDED": 1}
    assert ledger["queues"]["work"] == {"visible": 0, "in_flight": 0, "delayed": 0}
    assert ledger["queues"]["dead_letter"] == {"visible": 0, "in_flight": 0, "delayed": 0}


def test_status_of_a_run_that_does_not_exist_fails_clearly(
    deployed: Deployed, run_cli: RunCli
) -> None:
    # When the operator asks for a run id that left nothing in the bucket
    result = run_cli("status", "--run", "20200101T000000Z", *deployed.target)

    # Then the command fails and says so
    assert result.code == 1
    assert "run 20200101T000000Z has no manifest, reports or failure records" in result.err


def test_commands_need_a_target(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no stack and no explicit resources
    monkeypatch.delenv("CREDREPORTS_STACK", raising=False)

    # When the operator runs status
    result = run_cli("status")

    # Then it names what is missing
    assert result.code == 2
    assert "--bucket" in result.err and "--stack" in result.err


@pytest.mark.parametrize("command", ["demo", "start", "enqueue", "replay", "status"])
def test_every_command_explains_itself_with_an_example(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # When the operator asks a command for help
    with pytest.raises(SystemExit) as exited:
        cli.main([command, "--help"])

    # Then it says what the command does and shows an example
    out = capsys.readouterr().out
    assert exited.value.code == 0
    assert "example:" in out
    assert f"credreports {command}" in out.split("example:")[1]
