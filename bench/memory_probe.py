"""Run by the memory benchmark in a process of its own: read an SQS event on
stdin, invoke the worker once, print the peak RSS (JSON, last line).

The parent set the environment (emulator endpoint, the function's settings),
so this process holds what a Lambda worker holds: the runtime, boto3,
Powertools, pydantic, and the batch in flight.
"""

from __future__ import annotations

import json
import sys


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


def main() -> None:
    """stdin: {"events": [...], "dynamic_mmap_threshold": bool}. The first
    event is the batch whose peak is reported; the rest show whether a warm
    worker keeps growing as it sees more accounts. With
    ``dynamic_mmap_threshold`` the worker leaves glibc's threshold alone (the
    ablation of credreports.memory)."""
    request = json.loads(sys.stdin.read())
    from credreports import dependencies, memory
    from credreports.local import checkout
    from credreports.local.event_source import LocalContext

    lambda_handler = checkout.lambda_handler("worker.app.lambda_handler")

    if request.get("dynamic_mmap_threshold"):
        memory.return_freed_buffers_to_the_os = lambda: False  # type: ignore[assignment]
    dependencies.collector()
    before = peak_rss_mb()
    failed = 0
    figures: dict[str, float] = {}
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
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
