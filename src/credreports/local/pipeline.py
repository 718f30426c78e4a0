"""The whole pipeline on the emulator: the real handlers (from the checkout's
src/, see credreports.local.checkout), wired by the local event-source loop.
Used by the demo, the tests and the benchmarks."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from credreports import dependencies
from credreports.local import checkout
from credreports.local.event_source import EventSourceLoop, LocalContext, LoopStats
from credreports.local.resources import Resources

# The functions' timeouts in template.yaml (tests/infra checks they agree): the
# local loop fails an invocation still running then, as Lambda does.
PRODUCER_TIMEOUT_SECONDS = 900
WORKER_TIMEOUT_SECONDS = 120
DLQ_HANDLER_TIMEOUT_SECONDS = 60


@dataclass
class LocalPipeline:
    resources: Resources
    environment: dict[str, str] = field(default_factory=dict)
    worker_batch_size: int = 10
    dlq_batch_size: int = 10
    worker_timeout_seconds: float = WORKER_TIMEOUT_SECONDS
    dlq_timeout_seconds: float = DLQ_HANDLER_TIMEOUT_SECONDS
    # MaximumBatchingWindowInSeconds of each event source; 0 by default so the
    # tests do not wait for batches to fill.
    worker_batching_window_seconds: float = 0
    dlq_batching_window_seconds: float = 0
    loop: EventSourceLoop = field(init=False)

    def __post_init__(self) -> None:
        self.configure(**self.environment)
        dlq_handler = checkout.lambda_handler("dlq_handler.app.lambda_handler")
        worker = checkout.lambda_handler("worker.app.lambda_handler")

        self.loop = EventSourceLoop()
        self.loop.subscribe(
            self.resources.work_queue_url,
            worker,
            "worker",
            self.worker_batch_size,
            timeout_seconds=self.worker_timeout_seconds,
            batching_window_seconds=self.worker_batching_window_seconds,
        )
        self.loop.subscribe(
            self.resources.dead_letter_queue_url,
            dlq_handler,
            "dlq_handler",
            self.dlq_batch_size,
            timeout_seconds=self.dlq_timeout_seconds,
            batching_window_seconds=self.dlq_batching_window_seconds,
        )

    def configure(self, **overrides: str) -> None:
        """Set the functions' environment, as a deployment would, and start cold."""
        self.environment = self.resources.environment(**{**self.environment, **overrides})
        os.environ.update(self.environment)
        dependencies.reset()

    def start(self, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Invoke the producer (a full run with no event)."""
        producer = checkout.lambda_handler("producer.app.lambda_handler")
        context = LocalContext(function_name="producer", timeout_seconds=PRODUCER_TIMEOUT_SECONDS)
        result: dict[str, Any] = producer(event or {}, context)
        return result

    def drain(
        self, timeout_seconds: float = 120, on_progress: Callable[[], None] | None = None
    ) -> LoopStats:
        """Deliver messages until every queue is empty."""
        return self.loop.run_until_idle(timeout_seconds=timeout_seconds, on_progress=on_progress)
