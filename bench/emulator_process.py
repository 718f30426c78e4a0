"""A moto server in a process of its own, for the benchmarks that time the
worker: in the bench's own process, the server's request handling competes
with the worker's threads for the GIL, and the figure would time the emulator.

Run as ``python -m bench.emulator_process``: starts ``ThreadedMotoServer`` on a
free port of 127.0.0.1, prints the endpoint (one JSON line), and serves until
its stdin closes (the parent exits or calls ``stop``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from credreports.local import emulator
from credreports.local.emulator import Emulator

REPO = Path(__file__).resolve().parent.parent


def serve() -> None:
    server, endpoint_url = emulator.serve()
    print(json.dumps({"endpoint_url": endpoint_url}), flush=True)
    sys.stdin.read()  # until the parent closes the pipe
    server.stop()


@contextmanager
def separate_emulator() -> Iterator[Emulator]:
    """Point boto3 at a moto server in a child process for the ``with`` block;
    the in-process emulator's endpoint is restored afterwards."""
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.emulator_process"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert child.stdout is not None and child.stdin is not None
    try:
        endpoint_url = json.loads(child.stdout.readline())["endpoint_url"]
        saved = os.environ["AWS_ENDPOINT_URL"]
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
        try:
            yield Emulator(endpoint_url=endpoint_url, server=child)
        finally:
            os.environ["AWS_ENDPOINT_URL"] = saved
    finally:
        child.stdin.close()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


if __name__ == "__main__":
    serve()
