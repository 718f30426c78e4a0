"""Wiring: the adapters each function uses, built once per container.

Built on first use, never at import, and keyed by the settings so a changed
environment (the local loop, tests) gets fresh clients.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from credreports.adapters.credential_report import CredentialReports, MemberSessions
from credreports.adapters.notifications import Notifier
from credreports.adapters.organization import Organization
from credreports.adapters.queue import Queue
from credreports.adapters.storage import ReportStore
from credreports.logic.dlq_handler import FailureRecorder
from credreports.logic.worker.batch import WorkerBatch
from credreports.logic.worker.policy import AccountCollector, RetryPolicy
from credreports.settings import (
    DlqHandlerSettings,
    ProducerSettings,
    WorkerSettings,
    clear_cache,
    dlq_handler_settings,
    producer_settings,
    worker_settings,
)


@dataclass(frozen=True)
class ProducerDependencies:
    settings: ProducerSettings
    organization: Organization
    queue: Queue
    store: ReportStore


@lru_cache(maxsize=1)
def _producer(settings: ProducerSettings) -> ProducerDependencies:
    return ProducerDependencies(
        settings=settings,
        organization=Organization(),
        queue=Queue(settings.work_queue_url),
        store=ReportStore(settings.report_bucket, settings.report_prefix),
    )


def producer() -> ProducerDependencies:
    return _producer(producer_settings())


@lru_cache(maxsize=1)
def _worker(settings: WorkerSettings) -> WorkerBatch:
    collector = AccountCollector(
        reports=CredentialReports(MemberSessions(settings.member_role_name)),
        store=ReportStore(settings.report_bucket, settings.report_prefix),
        policy=RetryPolicy(
            max_attempts=settings.max_attempts,
            retry_delay_seconds=settings.retry_delay_seconds,
            inline_wait_seconds=settings.inline_wait_seconds,
        ),
    )
    return WorkerBatch(
        collector=collector,
        work_queue=Queue(settings.work_queue_url),
        dead_letters=Queue(settings.dead_letter_queue_url),
    )


def worker() -> WorkerBatch:
    return _worker(worker_settings())


@lru_cache(maxsize=1)
def _failure_recorder(settings: DlqHandlerSettings) -> FailureRecorder:
    return FailureRecorder(
        store=ReportStore(settings.report_bucket, settings.report_prefix),
        notifier=Notifier(settings.notification_topic_arn),
    )


def failure_recorder() -> FailureRecorder:
    return _failure_recorder(dlq_handler_settings())


def reset() -> None:
    """Forget settings, clients and cached sessions, as a cold start would."""
    clear_cache()
    _producer.cache_clear()
    _worker.cache_clear()
    _failure_recorder.cache_clear()
