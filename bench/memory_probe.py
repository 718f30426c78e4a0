"""Run by the memory benchmarks in a process of its own: read a request on
stdin, run the worker's code, print RSS figures (JSON, last line).

The parent set the environment (emulator endpoint, CA bundle, the function's
settings), so this process holds what a Lambda worker holds: the runtime,
boto3, Powertools, pydantic, and the batch in flight.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"no {field} in /proc/self/status")


def peak_rss_mb() -> float:
    # VmHWM, not getrusage's ru_maxrss: on Linux ru_maxrss survives exec, so a
    # child of a large parent would report the parent's size.
    return _status_mb("VmHWM")


def current_rss_mb() -> float:
    return _status_mb("VmRSS")


def open_sockets() -> int:
    """Sockets this process holds open (pooled connections among them)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except FileNotFoundError:  # the listing's own descriptor, closed since
            continue
    return count


def batches(request: dict[str, Any]) -> dict[str, Any]:
    """``events``: SQS events for the worker. The first is the batch whose peak
    is reported; the rest show whether a warm worker keeps growing as it sees
    more accounts. With ``dynamic_mmap_threshold`` the worker leaves glibc's
    threshold alone (the ablation of credreports.memory); ``cached_clients``
    replaces the IAM adapter's cache size (an ablation too)."""
    from credreports import dependencies, memory
    from credreports.adapters import credential_report
    from credreports.local import checkout
    from credreports.local.event_source import LocalContext

    lambda_handler = checkout.lambda_handler("worker.app.lambda_handler")

    if request.get("dynamic_mmap_threshold"):
        memory.return_freed_buffers_to_the_os = lambda: False  # type: ignore[assignment]
    if request.get("cached_clients"):
        credential_report.CACHED_CLIENTS = int(request["cached_clients"])
    dependencies.worker()
    before = peak_rss_mb()
    failed = 0
    figures: dict[str, Any] = {}
    for index, event in enumerate(request["events"]):
        context = LocalContext(function_name="worker", memory_limit_in_mb=128)
        failed += len(lambda_handler(event, context)["batchItemFailures"])
        if index == 0:
            figures["peak_rss_mb"] = peak_rss_mb()
            figures["rss_after_batch_mb"] = current_rss_mb()
    figures.update(
        rss_after_imports_mb=before,
        rss_after_all_batches_mb=current_rss_mb(),
        peak_rss_all_batches_mb=peak_rss_mb(),
        batches=len(request["events"]),
        failed=failed,
        open_sockets=open_sockets(),
        cached_clients_limit=credential_report.CACHED_CLIENTS,
    )
    return figures


def clients(request: dict[str, Any]) -> dict[str, Any]:
    """``accounts``: one IAM client each, made and used (one
    GenerateCredentialReport) by the worker's own adapter, one account after
    another. RSS after the first client (the IAM service model loaded, the
    first connection made) and after each further ``step`` clients: what one
    more cached client costs. Past the adapter's cache size, clients are
    dropped as new ones come."""
    from credreports import dependencies
    from credreports.adapters import credential_report
    from credreports.logic.worker.policy import AccountCollector

    collector = dependencies.worker().collector
    assert isinstance(collector, AccountCollector)
    reports = collector.reports
    assert isinstance(reports, credential_report.CredentialReports)
    rss: dict[str, float] = {"0": current_rss_mb()}
    step = int(request["step"])
    for count, account in enumerate(request["accounts"], start=1):
        reports.generate(account, request["run_id"])
        if count == 1 or count % step == 0:
            rss[str(count)] = current_rss_mb()
    sockets = open_sockets()
    held = idle_connections(int(request["connections"]))
    return {
        "rss_after_clients_mb": rss,
        "cached_clients_limit": credential_report.CACHED_CLIENTS,
        "open_sockets": sockets,
        "mb_per_idle_connection": held,
        "peak_rss_mb": peak_rss_mb(),
    }


def idle_connections(count: int) -> float:
    """RSS per connection held open after its handshake (TLS or not, as the
    endpoint is), in MB. The emulator's server closes every connection after
    its response (werkzeug); on AWS a cached client keeps its connection, so
    this is what each cached client adds there beyond its context."""
    import socket
    import ssl
    from urllib.parse import urlsplit

    endpoint = urlsplit(os.environ["AWS_ENDPOINT_URL"])
    host, port = endpoint.hostname or "127.0.0.1", endpoint.port or 443
    context = None
    if endpoint.scheme == "https":
        context = ssl.create_default_context(cafile=os.environ["AWS_CA_BUNDLE"])
    before = current_rss_mb()
    held: list[socket.socket] = []
    for _ in range(count):
        connection = socket.create_connection((host, port))
        if context is not None:
            connection = context.wrap_socket(connection, server_hostname=host)
        held.append(connection)
    per_connection = (current_rss_mb() - before) / count
    for connection in held:
        connection.close()
    return per_connection


def invocation(request: dict[str, Any]) -> dict[str, Any]:
    """``handler`` (module.function under src/) invoked once on ``event``, with
    a context of ``memory_limit_in_mb`` and ``timeout_seconds``."""
    import time

    from credreports.local import checkout
    from credreports.local.event_source import LocalContext

    lambda_handler = checkout.lambda_handler(request["handler"])
    before = peak_rss_mb()
    started = time.perf_counter()
    cpu = time.process_time()
    context = LocalContext(
        function_name=request["handler"].split(".")[0],
        memory_limit_in_mb=int(request["memory_limit_in_mb"]),
        timeout_seconds=float(request["timeout_seconds"]),
    )
    response = lambda_handler(request["event"], context)
    return {
        "peak_rss_mb": peak_rss_mb(),
        "rss_after_imports_mb": before,
        "wall_seconds": time.perf_counter() - started,
        # On Lambda, CPU comes in proportion to memory.
        "cpu_seconds": time.process_time() - cpu,
        "response": response,
    }


def main() -> None:
    """stdin: {"mode": "batches" | "clients" | "invocation", ...}: see each mode."""
    request = json.loads(sys.stdin.read())
    modes = {"batches": batches, "clients": clients, "invocation": invocation}
    print(json.dumps(modes[request.get("mode", "batches")](request)))


if __name__ == "__main__":
    main()
