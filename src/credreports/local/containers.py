"""Lambda's execution environments, locally: each invocation of a function
runs in a process of its own ("container"), one invocation at a time, and a
container is reused for the next invocation while it lives, as Lambda reuses
a warm sandbox. So the functions' module state (cached clients, credentials,
settings, Powertools' logger and metrics) is never shared between concurrent
invocations nor with the caller, and a function's memory is its own process's
(VmHWM, reported with every answer).

A container is a new Python process (``python -m
credreports.local.containers``) with the function's environment: it imports
the handler from the checkout (credreports.local.checkout), as a cold start
does, and serves invocations sent over a socket pair. An
invocation still running at the function's timeout is stopped by killing its
container (Lambda tears the sandbox down); one whose process dies fails as a
crashed runtime does. What a function logs (Powertools' JSON lines on stdout)
comes back to this process and is logged here under
``credreports.local.<function>``, as CloudWatch Logs would receive it.
"""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from credreports.local.event_source import InvocationTimeout, LocalContext

_START_TIMEOUT_SECONDS = 60.0


class ContainerCrashed(RuntimeError):
    """The function's process died during an invocation (Runtime.ExitError)."""


class HandlerError(RuntimeError):
    """The handler raised; the message names the exception, as Lambda's
    errorType and errorMessage do."""


# --- in the container ---------------------------------------------------------


class _LogStream(io.TextIOBase):
    """The container's stdout: each line goes to the caller."""

    def __init__(self, connection: Connection, lock: threading.Lock) -> None:
        self._connection = connection
        self._lock = lock
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            *lines, self._pending = self._pending.split("\n")
            for line in lines:
                self._connection.send(("log", line))
        return len(text)


def _serve(connection: Connection, handler_name: str, function_name: str, memory_mb: int) -> None:
    """A container's main loop: cold start, then one invocation at a time
    until the caller closes its end."""
    lock = threading.Lock()
    sys.stdout = _LogStream(connection, lock)
    from credreports.local import checkout

    handler = checkout.lambda_handler(handler_name)
    with lock:
        connection.send(("ready", peak_rss_mb()))
    while True:
        try:
            event, timeout_seconds, request_id = connection.recv()
        except EOFError:
            return
        context = LocalContext(
            function_name=function_name,
            timeout_seconds=timeout_seconds,
            aws_request_id=request_id,
            memory_limit_in_mb=memory_mb,
        )
        try:
            answer: tuple[Any, ...] = ("result", handler(event, context))
        except BaseException as exc:  # reported to the caller, as Lambda does
            answer = ("error", f"{type(exc).__name__}: {exc}", traceback.format_exc())
        sys.stdout.flush()
        with lock:
            connection.send((*answer, peak_rss_mb()))


def peak_rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


# --- in the caller ------------------------------------------------------------


def relay(function_name: str, line: str) -> None:
    """Log a line the function wrote, here: a Powertools JSON line as a record
    of ``credreports.local.<function>`` with its keys, anything else as is."""
    logger = logging.getLogger(f"credreports.local.{function_name}")
    try:
        fields = json.loads(line)
    except ValueError:
        fields = None
    if not isinstance(fields, dict) or "level" not in fields or "message" not in fields:
        print(line, file=sys.stderr)
        return
    level = logging.getLevelName(str(fields["level"]).upper())
    record = logger.makeRecord(
        logger.name,
        level if isinstance(level, int) else logging.INFO,
        fields.get("location", function_name),
        0,
        str(fields["message"]),
        (),
        None,
    )
    for key, value in fields.items():
        if key not in record.__dict__ and key not in ("message", "asctime"):
            record.__dict__[key] = value
    logger.handle(record)


class Container:
    """One process of a function, serving one invocation at a time."""

    def __init__(
        self,
        handler: str,
        function_name: str,
        environment: Mapping[str, str],
        memory_mb: int = 256,
    ) -> None:
        self.function_name = function_name
        mine, theirs = socket.socketpair()
        self._process = subprocess.Popen(  # noqa: S603 - this interpreter, this module
            [
                sys.executable,
                "-m",
                "credreports.local.containers",
                str(theirs.fileno()),
                handler,
                function_name,
                str(memory_mb),
            ],
            env=dict(environment),
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self._connection = Connection(mine.detach())
        self.peak_rss_mb = 0.0
        message = self._receive(time.monotonic() + _START_TIMEOUT_SECONDS)
        if message[0] != "ready":
            raise ContainerCrashed(f"{function_name} did not start: {message}")
        self.peak_rss_mb = float(message[-1])

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def invoke(self, event: dict[str, Any], context: LocalContext) -> Any:
        """The handler's answer; HandlerError if it raised, InvocationTimeout
        (the container is killed) if it runs past ``context``'s time."""
        deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000
        self._connection.send((event, context.timeout_seconds, context.aws_request_id))
        kind, *rest = self._receive(deadline)
        self.peak_rss_mb = max(self.peak_rss_mb, float(rest[-1]))
        if kind == "error":
            _, problem, trace = rest
            logging.getLogger(f"credreports.local.{self.function_name}").debug(
                "handler raised:\n%s", trace
            )
            raise HandlerError(problem)
        return rest[0]

    def _receive(self, deadline: float) -> tuple[Any, ...]:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self._connection.poll(min(left, 1.0)):
                if left <= 0 or not self.alive:
                    self.stop()
                    if left <= 0:
                        raise InvocationTimeout(f"Task timed out ({self.function_name})")
                    raise ContainerCrashed(f"{self.function_name}: the process exited")
                continue
            try:
                message: tuple[Any, ...] = self._connection.recv()
            except (EOFError, OSError) as exc:
                self.stop()
                raise ContainerCrashed(f"{self.function_name}: the process exited") from exc
            if message[0] == "log":
                relay(self.function_name, message[1])
                continue
            return message

    def stop(self) -> None:
        """Kill the process (a sandbox torn down)."""
        if self.alive:
            self._process.kill()
        self._process.wait(timeout=10)
        self._connection.close()


@dataclass
class ContainerPool:
    """A function's containers: at most ``limit`` at once, each reused while
    it is warm. ``invoke`` is the function as the event source calls it."""

    handler: str  # the template's Handler: "worker.app.lambda_handler"
    function_name: str
    # A container's environment; None: this process's, when the container starts.
    environment: dict[str, str] | None = None
    limit: int = 1
    memory_mb: int = 256
    # The highest VmHWM any of the function's containers reached.
    peak_rss_mb: float = 0.0
    cold_starts: int = 0
    _idle: list[Container] = field(default_factory=list, repr=False)
    _busy: int = field(default=0, repr=False)
    _lock: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def __post_init__(self) -> None:
        # Containers die with their pool, as idle sandboxes are reclaimed.
        weakref.finalize(self, _stop_all, self._idle)

    def __call__(self, event: dict[str, Any], context: LocalContext) -> Any:
        return self.invoke(event, context)

    def invoke(self, event: dict[str, Any], context: LocalContext) -> Any:
        container = self._acquire()
        try:
            return container.invoke(event, context)
        finally:
            self._release(container)

    def _acquire(self) -> Container:
        with self._lock:
            while not self._idle and self._busy >= self.limit:
                self._lock.wait()
            self._busy += 1
            while self._idle:
                container = self._idle.pop()
                if container.alive:
                    return container
        try:
            container = Container(
                self.handler,
                self.function_name,
                dict(os.environ) if self.environment is None else self.environment,
                self.memory_mb,
            )
        except BaseException:
            with self._lock:
                self._busy -= 1
                self._lock.notify()
            raise
        with self._lock:
            self.cold_starts += 1
        return container

    def _release(self, container: Container) -> None:
        with self._lock:
            self._busy -= 1
            self.peak_rss_mb = max(self.peak_rss_mb, container.peak_rss_mb)
            if container.alive:
                self._idle.append(container)
            self._lock.notify()

    def stop(self) -> None:
        """Stop the idle containers (a new deployment: the next invocation
        starts cold with the environment then)."""
        with self._lock:
            _stop_all(self._idle)


def _stop_all(containers: list[Container]) -> None:
    while containers:
        containers.pop().stop()


if __name__ == "__main__":
    _fd, _handler, _function, _memory = sys.argv[1:5]
    _serve(Connection(int(_fd)), _handler, _function, int(_memory))
