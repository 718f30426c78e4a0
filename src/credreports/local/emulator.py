"""The embedded AWS emulator: a moto server on 127.0.0.1, started by the program.

Everything local (demo, tests, benchmarks) talks to it over real HTTP with real
botocore, so the code under test is the code that runs on Lambda. Nothing here
can reach real AWS: the endpoint and dummy credentials are forced into the
environment for the lifetime of the emulator.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import ssl
import threading
import urllib.request
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from credreports.local import moto_sqs

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


Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
#: A layer sees every request before moto does: it answers it itself, or
#: passes it on to the next application (the third argument) and may look at
#: or change what comes back. tests/support/faults.py injects faults this way,
#: so that they reach every caller, whatever process it runs in.
Layer = Callable[[dict[str, Any], Callable[..., Any], Wsgi], Iterable[bytes]]


@dataclass(frozen=True)
class TlsFiles:
    """A self-signed certificate for 127.0.0.1 and its key (PEM files). The
    certificate is its own CA: clients trust it through ``AWS_CA_BUNDLE``."""

    certificate: Path
    key: Path


def self_signed(folder: Path, days: int = 1) -> TlsFiles:
    """Make a certificate for 127.0.0.1 and localhost under ``folder``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "credreports local emulator")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(certificate=folder / "emulator.pem", key=folder / "emulator-key.pem")
    files.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    files.key.chmod(0o600)
    return files


class Server:
    """moto's WSGI application on a threaded werkzeug server of 127.0.0.1
    (moto's ThreadedMotoServer, with TLS and layers)."""

    def __init__(self, tls: TlsFiles | None = None) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        self._moto: Wsgi = DomainDispatcherApplication(create_backend_app)
        self.layers: list[Layer] = []
        self._server = make_server(
            "127.0.0.1",
            0,
            self._application,
            threaded=True,
            request_handler=MotoRequestHandler,
            ssl_context=(str(tls.certificate), str(tls.key)) if tls else None,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="emulator", daemon=True
        )
        scheme = "https" if tls else "http"
        host, port = self._server.server_address[:2]
        self.endpoint_url = f"{scheme}://{host!s}:{port}"

    def _application(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        application = self._moto
        for layer in reversed(self.layers):
            application = functools.partial(_call_layer, layer, application)
        return application(environ, start_response)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def _call_layer(
    layer: Layer, following: Wsgi, environ: dict[str, Any], start_response: Callable[..., Any]
) -> Iterable[bytes]:
    return layer(environ, start_response, following)


@dataclass(frozen=True)
class Emulator:
    """A running moto server and the endpoint to reach it."""

    endpoint_url: str
    server: object
    # The certificate clients must trust (AWS_CA_BUNDLE), when served over TLS.
    ca_bundle: Path | None = None

    def reset(self) -> None:
        """Forget every resource (all accounts, all services)."""
        request = urllib.request.Request(  # noqa: S310 - always 127.0.0.1
            f"{self.endpoint_url}/moto-api/reset", method="POST"
        )
        context = ssl.create_default_context(cafile=self.ca_bundle) if self.ca_bundle else None
        with urllib.request.urlopen(request, timeout=30, context=context) as response:  # noqa: S310
            response.read()

    def intercept(self, layer: Layer) -> Callable[[], None]:
        """Put ``layer`` in front of moto (see :data:`Layer`); returns the
        function that takes it out again. Only for an emulator of this process."""
        if not isinstance(self.server, Server):
            raise TypeError("only an emulator running in this process can be intercepted")
        layers = self.server.layers
        layers.append(layer)
        return lambda: layers.remove(layer) if layer in layers else None


def serve(tls: TlsFiles | None = None) -> tuple[Server, str]:
    """Start a moto server on a free port of 127.0.0.1 (over TLS with ``tls``);
    returns it and its endpoint. Only loopback: nothing else can reach it."""
    # The access log prints one line per request; the demo and the tests have
    # their own output.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # moto's CloudFormation skips the Athena and Glue resources of
    # template.yaml, warning on every stack: known, and their SQL is tested
    # with DuckDB instead (make sql-test).
    warnings.filterwarnings(
        "ignore", message=r"Tried to parse AWS::(Athena|Glue)::", category=UserWarning
    )
    moto_sqs.apply()
    server = Server(tls)
    server.start()
    return server, server.endpoint_url


def start(tls: TlsFiles | None = None) -> Emulator:
    """Start the emulator (``serve``) and point boto3 at it (trusting its
    certificate, with ``tls``)."""
    server, endpoint_url = serve(tls)
    for name in _CLEARED:
        os.environ.pop(name, None)
    os.environ.update(_LOCAL_ENVIRONMENT)
    os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    if tls is not None:
        os.environ["AWS_CA_BUNDLE"] = str(tls.certificate)
    return Emulator(
        endpoint_url=endpoint_url, server=server, ca_bundle=tls.certificate if tls else None
    )


def stop(emulator: Emulator) -> None:
    """Stop the server and take the endpoint out of the environment."""
    emulator.server.stop()  # type: ignore[attr-defined]
    os.environ.pop("AWS_ENDPOINT_URL", None)
    if emulator.ca_bundle is not None:
        os.environ.pop("AWS_CA_BUNDLE", None)


@contextmanager
def running(tls: TlsFiles | None = None) -> Iterator[Emulator]:
    """Run the emulator for the duration of a ``with`` block."""
    emulator = start(tls)
    try:
        yield emulator
    finally:
        stop(emulator)
