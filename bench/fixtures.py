"""What the benchmarks run against: organizations seeded straight into moto's
backend (in the emulator's process), synthetic credential reports, and
SQS events for calling the worker directly."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.reports import COLUMNS

from credreports.local.event_source import sqs_event
from credreports.models.codes import Trigger
from credreports.models.messages import WorkMessage

REGION = "us-east-1"
# The 22 columns of IAM's credential report, in AWS's order.
REPORT_COLUMNS = ",".join(COLUMNS)


def synthetic_report(account_id: str, users: int, seed: int = 0) -> str:
    """A credential report in the real 22-column format, root row first, with
    the value shapes IAM writes (N/A, no_information, ISO timestamps)."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    base = datetime(2024, 1, 1, tzinfo=UTC)

    def when() -> str:
        return (base + timedelta(seconds=rng.randrange(60_000_000))).strftime(
            "%Y-%m-%dT%H:%M:%S+00:00"
        )

    rows = [REPORT_COLUMNS]
    rows.append(
        f"<root_account>,arn:aws:iam::{account_id}:root,{when()},not_supported,{when()},"
        "not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,"
        "false,N/A,false,N/A"
    )
    for index in range(users):
        password = rng.random() < 0.6
        key1 = rng.random() < 0.7
        key2 = rng.random() < 0.1
        name = f"user-{index:05d}.{rng.choice(['ops', 'dev', 'ci', 'svc'])}"
        rows.append(
            ",".join(
                [
                    name,
                    f"arn:aws:iam::{account_id}:user/team-{index % 40}/{name}",
                    when(),
                    str(password).lower(),
                    when() if password else "N/A",
                    when() if password else "N/A",
                    "N/A",
                    str(password and rng.random() < 0.8).lower(),
                    str(key1).lower(),
                    when() if key1 else "N/A",
                    when() if key1 else "N/A",
                    "us-east-1" if key1 else "N/A",
                    "s3" if key1 else "N/A",
                    str(key2).lower(),
                    when() if key2 else "N/A",
                    "no_information" if key2 else "N/A",
                    "N/A",
                    "N/A",
                    "false",
                    "N/A",
                    "false",
                    "N/A",
                ]
            )
        )
    return "\n".join(rows) + "\n"


def serve_synthetic_reports(reports: dict[str, str]) -> None:
    """Make moto's GetCredentialReport answer ``reports[account]`` for those
    accounts, and mark their reports generated (COMPLETE on the first poll)."""
    from moto.backends import get_backend
    from moto.iam.models import IAMBackend

    original = IAMBackend.get_credential_report
    if not getattr(original, "bench_patched", False):

        def get_credential_report(self: IAMBackend) -> str:
            served = SYNTHETIC.get(self.account_id)
            if served is not None and self.credential_report:
                return served
            return original(self)

        get_credential_report.bench_patched = True  # type: ignore[attr-defined]
        IAMBackend.get_credential_report = get_credential_report  # type: ignore[method-assign]
    SYNTHETIC.update(reports)
    for account_id in reports:
        get_backend("iam")[account_id]["global"].generate_report()


SYNTHETIC: dict[str, str] = {}


def serve_generated_reports(specs: list[tuple[str, int, int]]) -> dict[str, int]:
    """``serve_synthetic_reports`` for reports made here, each
    ``synthetic_report(account, users, seed)`` of ``specs``: called in the
    emulator's process, which may be another than the bench's (JSON in and
    out). Returns each report's size in bytes."""
    reports = {account: synthetic_report(account, users, seed) for account, users, seed in specs}
    serve_synthetic_reports(reports)
    return {account: len(report.encode()) for account, report in reports.items()}


def random_account_ids(count: int, rng: random.Random) -> list[str]:
    """Fresh account ids: moto lets any account assume a role and have its own
    IAM, so the worker benchmarks need no organization."""
    return [f"{rng.randrange(10**11, 10**12):012d}" for _ in range(count)]


def work_body(account_id: str, run_id: str) -> str:
    """A first-attempt work message, as the producer sends it."""
    return WorkMessage(
        account_id=account_id,
        run_id=run_id,
        attempt=0,
        trigger=Trigger.SCHEDULE,
        enqueued_at=datetime.now(UTC),
    ).to_body()


def worker_event(account_ids: list[str], run_id: str, queue_arn: str) -> dict[str, Any]:
    """The SQS event Lambda would deliver for first-attempt messages."""
    messages = []
    for account_id in account_ids:
        body = work_body(account_id, run_id)
        messages.append(
            {
                "MessageId": str(uuid.uuid4()),
                "ReceiptHandle": uuid.uuid4().hex,
                "Body": body,
                "MD5OfBody": "0" * 32,
                "Attributes": {"ApproximateReceiveCount": "1"},
            }
        )
    return sqs_event(messages, queue_arn, REGION)


def dumps(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True)
