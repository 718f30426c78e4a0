"""The call analysis behind the policy test finds calls the way the code makes them,
so a policy test that passes means something."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.infra.code_calls import Project

ADAPTERS = """
from typing import Any

class Store:
    SERVICE = "s3"

    def __init__(self, bucket: str, client: Any = None) -> None:
        self._client = client

    def put(self, key: str) -> None:
        self._client.put_object(Bucket="b", Key=key)

    def exists(self, key: str) -> bool:
        self._client.head_object(Bucket="b", Key=key)
        return True

    def keys(self) -> list[str]:
        return [p for p in self._client.get_paginator("list_objects_v2").paginate(Bucket="b")]


class Queue:
    SERVICE = "sqs"

    def __init__(self, url: str, client: Any = None) -> None:
        self._client = client

    def send_all(self, bodies: list[str]) -> None:
        self._client.send_message_batch(QueueUrl="q", Entries=[])

    def depth(self) -> int:
        return self._client.get_queue_attributes(QueueUrl="q")


class Organization:
    SERVICE = "organizations"

    def __init__(self, client: Any = None) -> None:
        self._client = client

    def _pages(self, operation: str) -> list[Any]:
        return list(self._client.get_paginator(operation).paginate())

    def accounts(self) -> list[Any]:
        return self._pages("list_accounts")
"""


def _project(tmp_path: Path, logic: str, handler: str) -> Project:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "adapters.py").write_text(ADAPTERS)
    (package / "logic.py").write_text(textwrap.dedent(logic))
    (tmp_path / "handler").mkdir()
    (tmp_path / "handler" / "__init__.py").write_text("")
    (tmp_path / "handler" / "app.py").write_text(textwrap.dedent(handler))
    return Project(tmp_path)


def test_typed_receivers_count_only_the_methods_called(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        """
        from dataclasses import dataclass
        from pkg.adapters import Queue, Store

        @dataclass
        class Service:
            store: Store
            queue: Queue

            def run(self) -> None:
                self.store.put("k")
                self.queue.send_all(["x"])

        def build() -> Service:
            return Service(store=Store("b"), queue=Queue("q"))
        """,
        """
        from pkg import logic

        def lambda_handler(event, context):
            logic.build().run()
        """,
    )

    usage = project.usage("handler.app.lambda_handler")

    assert usage.operations == {("s3", "PutObject"), ("sqs", "SendMessageBatch")}
    assert usage.actions() == {"s3:PutObject", "sqs:SendMessage"}


def test_unknown_receivers_count_every_method_of_that_name(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        """
        def check(store, key):
            return store.exists(key)
        """,
        """
        from pkg.logic import check

        def lambda_handler(event, context):
            return check(event["store"], "k")
        """,
    )

    usage = project.usage("handler.app.lambda_handler")

    assert usage.operations == {("s3", "HeadObject")}
    # "Does it exist?" needs ListBucket to tell a missing key from a denied one.
    assert usage.actions() == {"s3:GetObject", "s3:ListBucket"}


def test_operations_passed_to_a_paginator_are_found(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        "",
        """
        from pkg.adapters import Organization, Store

        def lambda_handler(event, context):
            organization = Organization()
            Store("b").keys()
            return organization.accounts()
        """,
    )

    usage = project.usage("handler.app.lambda_handler")

    assert usage.operations == {("organizations", "ListAccounts"), ("s3", "ListObjectsV2")}
    assert usage.actions() == {"organizations:ListAccounts", "s3:ListBucket"}


def test_callbacks_passed_by_name_are_followed(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        "",
        """
        from pkg.adapters import Queue

        def record_handler(record):
            Queue("q").send_all([record])

        def lambda_handler(event, context):
            return process(event, handler=record_handler)
        """,
    )

    assert project.usage("handler.app.lambda_handler").operations == {("sqs", "SendMessageBatch")}


def test_code_the_handler_never_reaches_does_not_count(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        """
        from pkg.adapters import Queue

        def status(queue: Queue) -> int:
            return queue.depth()
        """,
        """
        from pkg import logic

        def lambda_handler(event, context):
            return None
        """,
    )

    assert project.usage("handler.app.lambda_handler").operations == frozenset()


def test_receivers_typed_by_a_protocol_count_the_implementations(tmp_path: Path) -> None:
    # The logic sees adapters through Protocols (credreports.ports), whose
    # methods are stubs: the calls are in the classes that implement them.
    project = _project(
        tmp_path,
        """
        from typing import Protocol

        class Sender(Protocol):
            def send_all(self, bodies: list[str]) -> None: ...

        def enqueue(queue: Sender) -> None:
            queue.send_all(["x"])
        """,
        """
        from pkg.adapters import Queue
        from pkg.logic import enqueue

        def lambda_handler(event, context):
            enqueue(Queue("q"))
        """,
    )

    assert project.usage("handler.app.lambda_handler").operations == {("sqs", "SendMessageBatch")}
