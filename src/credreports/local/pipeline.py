"""The whole pipeline on the emulator: the real handlers (from the checkout's
src/, see credreports.local.checkout), wired by the local event-source loop:
the worker on the work queue, the dlq_handler on the dead-letter queue, the
summarizer on the control queue, each invocation in a process of its own
(credreports.local.containers), as many at once as the template's event
source mappings allow (the worker: WorkerMaximumConcurrency's default). The
producer is invoked in this process (a direct invocation, so a test can set
its clock). A drain ends when every queue is empty, so when the run has been
summarized and announced. Used by the demo, the tests and the benchmarks."""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from credreports import dependencies
from credreports.local import checkout
from credreports.local.announcements import AnnouncementCapture
from credreports.local.containers import ContainerPool
from credreports.local.event_source import EventSourceLoop, LocalContext, LoopStats
from credreports.local.resources import Resources

# The functions' timeouts in template.yaml (tests/infra checks they agree): the
# local loop fails an invocation still running then, as Lambda does.
PRODUCER_TIMEOUT_SECONDS = 900
WORKER_TIMEOUT_SECONDS = 120
DLQ_HANDLER_TIMEOUT_SECONDS = 60
SUMMARIZER_TIMEOUT_SECONDS = 900


@dataclass(frozen=True)
class Deployed:
    """What template.yaml gives a function: its memory and how many of its
    invocations its event source runs at once."""

    memory_mb: int
    concurrency: int


@functools.cache
def deployed() -> dict[str, Deployed]:
    """By function name ("worker", ...), from the checkout's template.yaml:
    MemorySize (or the Globals'), and the event source mapping's
    MaximumConcurrency (a parameter's default where it refers to one)."""
    yaml_parse = importlib.import_module("samtranslator.yaml_helper").yaml_parse
    template = yaml_parse(checkout.TEMPLATE_PATH.read_text(encoding="utf-8"))
    parameters = template["Parameters"]
    resources = template["Resources"]
    default_memory = int(template["Globals"]["Function"]["MemorySize"])

    def value(item: Any) -> int:
        if isinstance(item, dict) and "Ref" in item:
            return int(parameters[item["Ref"]]["Default"])
        return int(item)

    found: dict[str, Deployed] = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        name = properties["Handler"].split(".")[0]
        concurrency = 1
        for mapping in resources.values():
            target = mapping.get("Properties", {}).get("FunctionName", {})
            if mapping["Type"] == "AWS::Lambda::EventSourceMapping" and target == {
                "Ref": logical_id
            }:
                concurrency = value(mapping["Properties"]["ScalingConfig"]["MaximumConcurrency"])
        found[name] = Deployed(value(properties.get("MemorySize", default_memory)), concurrency)
    return found


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
    # One check at a time, as the template's event source mapping delivers them.
    summarizer_batch_size: int = 1
    summarizer_timeout_seconds: float = SUMMARIZER_TIMEOUT_SECONDS
    # Worker invocations at once; None: the template's WorkerMaximumConcurrency.
    worker_concurrency: int | None = None
    loop: EventSourceLoop = field(init=False)
    # The functions' containers, by function name.
    containers: dict[str, ContainerPool] = field(init=False, default_factory=dict)
    # What the runs announced (SNS and EventBridge), as a subscriber receives it.
    announcements: AnnouncementCapture = field(init=False)

    def __post_init__(self) -> None:
        self.configure(**self.environment)
        topic = self.resources.topic_arn.rsplit(":", 1)[-1]
        self.announcements = AnnouncementCapture(self.resources.topic_arn, f"{topic}-announced")
        self.loop = EventSourceLoop()
        template = deployed()
        for name, queue_url, batch_size, timeout, window, concurrency in (
            (
                "worker",
                self.resources.work_queue_url,
                self.worker_batch_size,
                self.worker_timeout_seconds,
                self.worker_batching_window_seconds,
                self.worker_concurrency or template["worker"].concurrency,
            ),
            (
                "dlq_handler",
                self.resources.dead_letter_queue_url,
                self.dlq_batch_size,
                self.dlq_timeout_seconds,
                self.dlq_batching_window_seconds,
                template["dlq_handler"].concurrency,
            ),
            (
                "summarizer",
                self.resources.control_queue_url,
                self.summarizer_batch_size,
                self.summarizer_timeout_seconds,
                0,
                template["summarizer"].concurrency,
            ),
        ):
            pool = ContainerPool(
                handler=f"{name}.app.lambda_handler",
                function_name=name,
                limit=concurrency,
                memory_mb=template[name].memory_mb,
            )
            self.containers[name] = pool
            self.loop.subscribe(
                queue_url,
                pool,
                name,
                batch_size,
                timeout_seconds=timeout,
                batching_window_seconds=window,
                concurrency=concurrency,
            )

    def configure(self, **overrides: str) -> None:
        """Set the functions' environment (this process's, which containers
        start with), as a deployment would, and start cold: the next
        invocation of each function starts a new container."""
        self.environment = self.resources.environment(**{**self.environment, **overrides})
        os.environ.update(self.environment)
        dependencies.reset()
        for pool in self.containers.values():
            pool.stop()

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
