"""The embedded AWS emulator: a moto server on 127.0.0.1, started by the program.

Everything local (demo, tests, benchmarks) talks to it over real HTTP with real
botocore, so the code under test is the code that runs on Lambda. Nothing here
can reach real AWS: the endpoint and dummy credentials are forced into the
environment for the lifetime of the emulator.
"""

from __future__ import annotations

import logging
import os
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

REGION = "us-east-1"

# Dummy credentials: moto accepts anything, and real AWS would reject these.
_LOCAL_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    # Powertools: no X-Ray daemon locally.
    "POWERTOOLS_TRACE_DISABLED": "true",
}
# Variables that could point boto3 at a real account or profile.
_CLEARED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


@dataclass(frozen=True)
class Emulator:
    """A running moto server and the endpoint to reach it."""

    endpoint_url: str
    server: object

    def reset(self) -> None:
        """Forget every resource (all accounts, all services)."""
        request = urllib.request.Request(  # noqa: S310 - always http://127.0.0.1
            f"{self.endpoint_url}/moto-api/reset", method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            response.read()


def serve() -> tuple[Any, str]:
    """Start a moto server on a free port of 127.0.0.1; returns it and its
    endpoint. Only loopback: nothing else can reach it."""
    from moto.server import ThreadedMotoServer

    # The access log prints one line per request; the demo and the tests have
    # their own output.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # moto's CloudFormation skips the Athena and Glue resources of
    # template.yaml, warning on every stack: known, and their SQL is tested
    # with DuckDB instead (make sql-test).
    warnings.filterwarnings(
        "ignore", message=r"Tried to parse AWS::(Athena|Glue)::", category=UserWarning
    )
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def start() -> Emulator:
    """Start the emulator (``serve``) and point boto3 at it."""
    server, endpoint_url = serve()
    for name in _CLEARED:
        os.environ.pop(name, None)
    os.environ.update(_LOCAL_ENVIRONMENT)
    os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    return Emulator(endpoint_url=endpoint_url, server=server)


def stop(emulator: Emulator) -> None:
    """Stop the server and take the endpoint out of the environment."""
    emulator.server.stop()  # type: ignore[attr-defined]
    os.environ.pop("AWS_ENDPOINT_URL", None)


@contextmanager
def running() -> Iterator[Emulator]:
    """Run the emulator for the duration of a ``with`` block."""
    emulator = start()
    try:
        yield emulator
    finally:
        stop(emulator)
