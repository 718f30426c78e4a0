"""A moto server in a process of its own, for the benchmarks that time the
worker: in the bench's own process, the server's request handling competes
with the worker's threads for the GIL, and the figure would time the emulator.

Run as ``python -m bench.emulator_process [--tls]``: serves moto on a free port
of 127.0.0.1 (over HTTPS with ``--tls``, with a self-signed certificate made
now in a temporary folder), prints the endpoint (one JSON line), then answers
calls, one JSON line each, until its stdin closes (the parent exits or leaves
``separate_emulator``). A call runs a function of the bench in the server's
process: what reaches into moto's backend (``fixtures.serve_synthetic_reports``)
only works there.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botocore.httpsession import get_cert_path

from credreports.local import emulator
from credreports.local.emulator import Emulator

REPO = Path(__file__).resolve().parent.parent


def trusted_bundle(certificate: Path, folder: Path) -> Path:
    """The emulator's certificate appended to the CA bundle botocore uses by
    default. Every botocore client loads its whole CA bundle into a TLS
    context of its own: with the emulator's certificate alone, each context
    would be smaller than on Lambda, and the memory figures flattered."""
    bundle = folder / "ca-bundle.pem"
    default = Path(get_cert_path(True)).read_text()
    bundle.write_text(default.rstrip("\n") + "\n" + certificate.read_text())
    return bundle


def serve(tls: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="credreports-emulator-") as folder:
        files = emulator.self_signed(Path(folder)) if tls else None
        server, endpoint_url = emulator.serve(files)
        ready: dict[str, Any] = {"endpoint_url": endpoint_url}
        if files is not None:
            ready["ca_bundle"] = str(trusted_bundle(files.certificate, Path(folder)))
        print(json.dumps(ready), flush=True)
        for line in sys.stdin:  # until the parent closes the pipe
            print(json.dumps(_answer(json.loads(line))), flush=True)
        server.stop()


def _answer(request: dict[str, Any]) -> dict[str, Any]:
    module, _, name = request["call"].partition(":")
    try:
        function = getattr(importlib.import_module(module), name)
        return {"result": function(**request["kwargs"])}
    except Exception as exc:  # reported to the parent, which raises it
        return {"error": f"{type(exc).__name__}: {exc}"}


@contextmanager
def separate_emulator(tls: bool = False) -> Iterator[Emulator]:
    """Point boto3 at a moto server in a child process for the ``with`` block
    (over HTTPS with ``tls``: ``AWS_CA_BUNDLE`` names its certificate); the
    previous endpoint and CA bundle are restored afterwards."""
    flags = ["--tls"] if tls else []
    child = subprocess.Popen(  # noqa: S603 - this interpreter, this module, fixed flags
        [sys.executable, "-m", "bench.emulator_process", *flags],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert child.stdout is not None and child.stdin is not None
    try:
        ready = json.loads(child.stdout.readline())
        ca_bundle = Path(ready["ca_bundle"]) if "ca_bundle" in ready else None
        with _pointed_at(Emulator(ready["endpoint_url"], server=child, ca_bundle=ca_bundle)) as e:
            yield e
    finally:
        child.stdin.close()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@contextmanager
def tls_in_this_process() -> Iterator[Emulator]:
    """A second server of this process's moto, over HTTPS, for the ``with``
    block: the same backends as the emulator of this process (what reaches into
    them, seeding and the bench's shortcuts, works), reached over TLS."""
    with tempfile.TemporaryDirectory(prefix="credreports-emulator-") as folder:
        files = emulator.self_signed(Path(folder))
        server, endpoint_url = emulator.serve(files)
        try:
            bundle = trusted_bundle(files.certificate, Path(folder))
            with _pointed_at(Emulator(endpoint_url, server=server, ca_bundle=bundle)) as e:
                yield e
        finally:
            server.stop()


@contextmanager
def _pointed_at(target: Emulator) -> Iterator[Emulator]:
    """boto3 (this process's and its children's) pointed at ``target``,
    trusting its certificate; the previous endpoint and bundle restored after."""
    saved = {name: os.environ.get(name) for name in ("AWS_ENDPOINT_URL", "AWS_CA_BUNDLE")}
    os.environ["AWS_ENDPOINT_URL"] = target.endpoint_url
    if target.ca_bundle is not None:
        os.environ["AWS_CA_BUNDLE"] = str(target.ca_bundle)
    else:
        os.environ.pop("AWS_CA_BUNDLE", None)
    try:
        yield target
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def call(target: Emulator, function: Callable[..., Any], **kwargs: Any) -> Any:
    """``function(**kwargs)`` in the emulator's process (JSON in, JSON out): in
    the child of ``separate_emulator``, or here for the emulator of this process."""
    if not isinstance(target.server, subprocess.Popen):
        return function(**kwargs)
    child = target.server
    assert child.stdin is not None and child.stdout is not None
    request = {"call": f"{function.__module__}:{function.__name__}", "kwargs": kwargs}
    child.stdin.write(json.dumps(request) + "\n")
    child.stdin.flush()
    answer = json.loads(child.stdout.readline())
    if "error" in answer:
        raise RuntimeError(f"in the emulator's process: {answer['error']}")
    return answer["result"]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.emulator_process")
    parser.add_argument("--tls", action="store_true", help="serve over HTTPS")
    serve(parser.parse_args().tls)
