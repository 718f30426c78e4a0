"""The floor of `make scale`: how fast the emulator serves the minimal request
sequence of one account when it is asked as concurrently as the pipeline asks
it. Each of ``processes`` processes (the worker's containers) takes batches of
10 accounts and, per batch, does what a worker invocation cannot do without:
for each of the two deliveries, one ReceiveMessage and one DeleteMessageBatch
(and the batch's one SendMessageBatch), and for each account, in a thread of
its own (the worker's concurrency within a batch): AssumeRole,
GenerateCredentialReport twice (STARTED, then COMPLETE), GetCredentialReport
and PutObject. Nothing else: no settings, no models, no logs.

Run as ``python -m bench.floor`` by :func:`measure`: the process says "ready"
once its clients are built, then reads a JSON request (queue, bucket, account
ids) on stdin and prints the seconds its share took.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3

REPO = Path(__file__).resolve().parent.parent
BATCH = 10


def _account(sts: Any, s3: Any, bucket: str, account_id: str) -> None:
    issued = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/credreports-member", RoleSessionName="floor"
    )["Credentials"]
    iam = boto3.client(
        "iam",
        aws_access_key_id=issued["AccessKeyId"],
        aws_secret_access_key=issued["SecretAccessKey"],
        aws_session_token=issued["SessionToken"],
    )
    iam.generate_credential_report()
    iam.generate_credential_report()
    content = iam.get_credential_report()["Content"]
    s3.put_object(Bucket=bucket, Key=f"floor/{account_id}.csv", Body=content)


def _serve() -> float:
    sts, sqs, s3 = boto3.client("sts"), boto3.client("sqs"), boto3.client("s3")
    boto3.client("iam")  # its model loaded before the clock starts
    print("ready", flush=True)
    request = json.loads(sys.stdin.read())
    queue = request["queue_url"]
    accounts: list[str] = request["accounts"]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=BATCH) as pool:
        for start in range(0, len(accounts), BATCH):
            batch = accounts[start : start + BATCH]
            for _delivery in range(2):
                sqs.send_message_batch(
                    QueueUrl=queue,
                    Entries=[{"Id": str(i), "MessageBody": a} for i, a in enumerate(batch)],
                )
                received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=BATCH).get(
                    "Messages", []
                )
                if received:
                    sqs.delete_message_batch(
                        QueueUrl=queue,
                        Entries=[
                            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                            for i, m in enumerate(received)
                        ],
                    )
            list(pool.map(lambda account: _account(sts, s3, request["bucket"], account), batch))
    return time.perf_counter() - started


def measure(processes: int, bucket: str, accounts: list[str]) -> dict[str, Any]:
    """Accounts a second over ``accounts`` (seeded like the run's, outside its
    organization), split over ``processes`` processes started at once, each
    with a queue of its own."""
    sqs = boto3.client("sqs")
    queues = [
        sqs.create_queue(QueueName=f"floor-{index}")["QueueUrl"] for index in range(processes)
    ]
    shares = [accounts[index::processes] for index in range(processes)]
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.floor"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        for _ in shares
    ]
    for child in children:
        assert child.stdout is not None
        child.stdout.readline()
    started = time.perf_counter()
    for child, share, queue_url in zip(children, shares, queues, strict=True):
        assert child.stdin is not None
        child.stdin.write(json.dumps({"queue_url": queue_url, "bucket": bucket, "accounts": share}))
        child.stdin.close()
    assert all(child.stdout is not None for child in children)
    seconds = [float(child.stdout.read()) for child in children if child.stdout]
    for child in children:
        child.wait()
    wall = time.perf_counter() - started
    return {
        "accounts": len(accounts),
        "processes": processes,
        "wall_seconds": wall,
        "accounts_per_second": len(accounts) / wall,
        "slowest_process_seconds": max(seconds),
    }


if __name__ == "__main__":
    print(_serve())
