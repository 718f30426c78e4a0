"""The demo on the embedded emulator: an organization worth looking at, the
stack's resources from template.yaml, and one full run through the real
handlers. The CLI's ``demo`` command renders what this returns.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from credreports import aws, layout
from credreports.adapters.queue import Queue
from credreports.adapters.storage import ReportStore
from credreports.ledger import RunLedger, outcome_keys, read_ledger
from credreports.local import stack
from credreports.local.pipeline import LocalPipeline
from credreports.local.realistic import RealisticReports, realistic_reports
from credreports.local.resources import Resources
from credreports.local.seed import SeededAccount, SeededOrganization, seed_organization

STACK_NAME = "credreports"
# Every account's report is STARTED on the first poll and COMPLETE on the
# second (moto), so each account waits one retry delay: keep it short.
RETRY_DELAY_SECONDS = 1
# Accounts in this OU are out of scope, as sandboxes often are.
EXCLUDED_OU = "Sandbox"
# The handlers' own logs and metrics would drown the demo's output.
QUIET_ENVIRONMENT = {
    "LOG_LEVEL": "WARNING",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_DISABLED": "true",
}
PROGRESS_INTERVAL_SECONDS = 0.25


def demo_users(iam: Any, account: SeededAccount, index: int) -> list[str]:
    """IAM users in the states a credential report exists to find.

    Every account has a console user with MFA and a deploy user with two
    active access keys (one never rotated away); the others vary by account:
    console users without MFA, an unused key, a deactivated key. moto cannot
    backdate a key's creation or last use: credreports.local.realistic gives
    them their ages (by these names)."""
    users: list[str] = []

    def user(name: str) -> str:
        iam.create_user(UserName=name, Tags=[{"Key": "account", "Value": account.name}])
        users.append(name)
        return name

    def console(name: str, mfa: bool) -> None:
        # A password of users in the emulator only; moto does not check it.
        iam.create_login_profile(UserName=name, Password="Demo-password-1!")  # noqa: S106
        if mfa:
            serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=f"{name}-mfa")[
                "VirtualMFADevice"
            ]["SerialNumber"]
            iam.enable_mfa_device(
                UserName=name,
                SerialNumber=serial,
                AuthenticationCode1="123456",
                AuthenticationCode2="654321",
            )

    console(user("alice.admin"), mfa=True)
    iam.create_access_key(UserName="alice.admin")
    deploy = user("ci-deploy")
    iam.create_access_key(UserName=deploy)
    iam.create_access_key(UserName=deploy)  # the second key: rotation never finished
    if index % 2 == 0:
        console(user("bob.developer"), mfa=False)
        iam.create_access_key(UserName="bob.developer")  # created with the user, never used
    if index % 3 == 0:
        iam.create_access_key(UserName=user("legacy-backup"))  # created, never used
    if index % 4 == 1:
        old = user("former-contractor")
        console(old, mfa=False)
        key = iam.create_access_key(UserName=old)["AccessKey"]["AccessKeyId"]
        iam.update_access_key(UserName=old, AccessKeyId=key, Status="Inactive")
    return users


def resources_from_outputs(outputs: Mapping[str, str]) -> Resources:
    """The pipeline's resources named by the stack's outputs."""
    return Resources(
        work_queue_url=outputs["WorkQueueUrl"],
        dead_letter_queue_url=outputs["DeadLetterQueueUrl"],
        bucket=outputs["ReportBucketName"],
        topic_arn=outputs["NotificationTopicArn"],
        prefix=outputs.get("ReportPrefix", ""),
    )


def provision(
    organization: SeededOrganization, parameters: Mapping[str, str], stack_name: str = STACK_NAME
) -> Resources:
    """Create the stack's resources in the emulator from template.yaml."""
    organization_id = aws.client("organizations").describe_organization()["Organization"]["Id"]
    outputs = stack.deploy(
        {
            "OrganizationId": organization_id,
            "OrganizationRootId": organization.root_id,
            **parameters,
        },
        stack_name=stack_name,
    )
    return resources_from_outputs(outputs)


@dataclass(frozen=True)
class Progress:
    enqueued: int
    reports: int
    failures: int
    visible: int
    in_flight: int
    delayed: int

    @property
    def outstanding(self) -> int:
        return max(0, self.enqueued - self.reports - self.failures)


@dataclass(frozen=True)
class DemoResult:
    run_id: str
    producer_summary: dict[str, Any]
    ledger: RunLedger
    organization: SeededOrganization
    files_written: list[Path]
    elapsed_seconds: float
    store: ReportStore | None = None  # the run's bucket, while the emulator runs


def export(store: ReportStore, ledger: RunLedger, out_dir: Path) -> list[Path]:
    """Copy the run's reports, failure records and manifest under ``out_dir``,
    at the same keys as in the bucket."""
    keys = [*ledger.reports.values(), *(f.key for f in ledger.failures.values())]
    if ledger.manifest is not None:
        keys.append(layout.manifest_key(store.prefix, ledger.run_id))
    written = []
    for key in keys:
        path = out_dir / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(store.read(key))
        written.append(path)
    return written


def run_demo(
    accounts: int,
    out_dir: Path,
    on_progress: Callable[[Progress], None] | None = None,
    timeout_seconds: float = 300,
) -> DemoResult:
    """Seed an organization of ``accounts`` accounts (the management account
    included), create the stack, run the pipeline once and export the result.
    The emulator must be running (in this process: its reports are made
    realistic, see credreports.local.realistic)."""
    with realistic_reports() as realism:
        return _run_demo(accounts, out_dir, on_progress, timeout_seconds, realism)


def _run_demo(
    accounts: int,
    out_dir: Path,
    on_progress: Callable[[Progress], None] | None,
    timeout_seconds: float,
    realism: RealisticReports,
) -> DemoResult:
    started = time.monotonic()
    os.environ.update(QUIET_ENVIRONMENT)
    from credreports.observability import logger

    logger.setLevel("WARNING")
    suspended = max(1, accounts // 10) if accounts >= 4 else 0
    organization = seed_organization(accounts - 1, suspended=suspended, users=demo_users)
    excluded_ou = organization.ou_ids[EXCLUDED_OU]
    realism.add(in_scope(organization))
    settings = {
        "EXCLUDE_OU_IDS": excluded_ou,
        "RETRY_DELAY_SECONDS": str(RETRY_DELAY_SECONDS),
    }
    stack_resources = provision(
        organization,
        {"ExcludeOuIds": excluded_ou, "RetryDelaySeconds": str(RETRY_DELAY_SECONDS)},
    )
    pipeline = LocalPipeline(stack_resources, settings)
    summary = pipeline.start()
    run_id = str(summary["run_id"])
    store = ReportStore(stack_resources.bucket, stack_resources.prefix)
    work_queue = Queue(stack_resources.work_queue_url)
    last = 0.0

    def report_progress() -> None:
        nonlocal last
        if on_progress is None or time.monotonic() - last < PROGRESS_INTERVAL_SECONDS:
            return
        last = time.monotonic()
        reports, failures = outcome_keys(store, run_id)
        depths = work_queue.depths()
        on_progress(
            Progress(
                enqueued=int(summary["enqueued"]),
                reports=len(reports),
                failures=len(set(failures) - set(reports)),
                visible=depths.visible,
                in_flight=depths.in_flight,
                delayed=depths.delayed,
            )
        )

    pipeline.drain(timeout_seconds=timeout_seconds, on_progress=report_progress)
    last = 0.0
    report_progress()
    ledger = read_ledger(store, run_id)
    written = export(store, ledger, out_dir)
    return DemoResult(
        run_id=run_id,
        producer_summary=summary,
        ledger=ledger,
        organization=organization,
        files_written=written,
        elapsed_seconds=time.monotonic() - started,
        store=store,
    )


def in_scope(organization: SeededOrganization) -> list[str]:
    """The accounts a run of the demo collects: active, outside the excluded
    OU; the management account first."""
    management = organization.management_account_id
    chosen = organization.ids() - organization.under(EXCLUDED_OU) - {management}
    return [management, *sorted(chosen)]
