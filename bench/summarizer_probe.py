"""Run by the summarizer benchmark in a process of its own: one run check on
stdin, the summarizer invoked once, its wall time and peak RSS printed (JSON,
last line). The parent set the environment (emulator endpoint, the
function's settings), so this process holds what a Lambda summarizer holds."""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    request = json.loads(sys.stdin.read())
    from bench.memory_probe import current_rss_mb, peak_rss_mb
    from credreports.local import checkout
    from credreports.local.event_source import LocalContext, sqs_event

    lambda_handler = checkout.lambda_handler("summarizer.app.lambda_handler")
    message = {
        "MessageId": "bench-check",
        "ReceiptHandle": "bench",
        "Body": request["body"],
        "Attributes": {"ApproximateReceiveCount": "1"},
        "MD5OfBody": "",
    }
    event = sqs_event([message], request["queue_arn"], "us-east-1")
    before = peak_rss_mb()
    started = time.perf_counter()
    cpu = time.process_time()
    context = LocalContext(function_name="summarizer", memory_limit_in_mb=1024, timeout_seconds=900)
    response = lambda_handler(event, context)
    print(
        json.dumps(
            {
                "wall_seconds": time.perf_counter() - started,
                # The function's own work: on Lambda, CPU is in proportion to memory.
                "cpu_seconds": time.process_time() - cpu,
                "peak_rss_mb": peak_rss_mb(),
                "rss_after_imports_mb": before,
                "rss_after_mb": current_rss_mb(),
                "failed": len(response["batchItemFailures"]),
            }
        )
    )


if __name__ == "__main__":
    main()
