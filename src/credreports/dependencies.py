"""Wiring: the adapters each function uses, built once per container.

Built on first use, never at import, and keyed by the settings so a changed
environment (the local loop, tests) gets fresh clients.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

from credreports import aws
from credreports.adapters.credential_report import CredentialReports, MemberSessions
from credreports.adapters.events import EventBus
from credreports.adapters.notifications import Notifier
from credreports.adapters.organization import Organization
from credreports.adapters.queue import Queue
from credreports.adapters.storage import ReportStore
from credreports.findings.catalogue import Thresholds
from credreports.logic.checks import CheckSender
from credreports.logic.dlq_handler import FailureRecorder
from credreports.logic.summarizer.check import Summarizer, SummarizerConfig
from credreports.logic.worker.batch import WorkerBatch
from credreports.logic.worker.policy import AccountCollector, RetryPolicy
from credreports.settings import (
    DlqHandlerSettings,
    ProducerSettings,
    SummarizerSettings,
    WorkerSettings,
    clear_cache,
    dlq_handler_settings,
    producer_settings,
    summarizer_settings,
    worker_settings,
)

# Kept back from the producer's time for writing the manifest and sending
# 10,000 messages (1,000 SendMessageBatch calls) after the listing.
LISTING_MARGIN_SECONDS = 180.0


@dataclass(frozen=True)
class ProducerDependencies:
    settings: ProducerSettings
    queue: Queue
    checks: CheckSender
    store: ReportStore


@lru_cache(maxsize=1)
def _producer(settings: ProducerSettings) -> ProducerDependencies:
    return ProducerDependencies(
        settings=settings,
        queue=Queue(settings.work_queue_url),
        checks=CheckSender(Queue(settings.control_queue_url), settings.summary_check_seconds),
        store=ReportStore(settings.report_bucket, settings.report_prefix),
    )


def producer() -> ProducerDependencies:
    return _producer(producer_settings())


def organization(time_left: float | None = None) -> Organization:
    """A new Organizations client for each producer invocation: botocore keeps
    its retry quota per client, and a warm container must not carry a quota
    spent by a throttled run into Lambda's retry of it. With ``time_left``
    (seconds), the listing stops LISTING_MARGIN_SECONDS short of it."""
    deadline = None
    if time_left is not None:
        deadline = time.monotonic() + max(0.0, time_left - LISTING_MARGIN_SECONDS)
    return Organization(deadline=deadline)


@lru_cache(maxsize=1)
def _worker(settings: WorkerSettings) -> WorkerBatch:
    collector = AccountCollector(
        reports=CredentialReports(MemberSessions(settings.member_role_name)),
        store=ReportStore(
            settings.report_bucket, settings.report_prefix, client=aws.worker_client("s3")
        ),
        policy=RetryPolicy(
            max_attempts=settings.max_attempts,
            retry_delay_seconds=settings.retry_delay_seconds,
            inline_wait_seconds=settings.inline_wait_seconds,
            inline_poll_seconds=settings.inline_poll_seconds,
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
        interval_seconds=settings.digest_interval_seconds,
        dead_letters=Queue(settings.dead_letter_queue_url),
    )


def failure_recorder() -> FailureRecorder:
    return _failure_recorder(dlq_handler_settings())


@lru_cache(maxsize=1)
def _summarizer(settings: SummarizerSettings) -> Summarizer:
    return Summarizer(
        store=ReportStore(settings.report_bucket, settings.report_prefix),
        checks=Queue(settings.control_queue_url),
        notifier=Notifier(settings.notification_topic_arn),
        events=EventBus(settings.event_bus_name),
        config=SummarizerConfig(
            budget_seconds=settings.deadline_seconds,
            check_seconds=settings.summary_check_seconds,
            thresholds=Thresholds(
                unused_days=settings.unused_days,
                rotation_days=settings.rotation_days,
                root_use_days=settings.root_use_days,
            ),
        ),
    )


def summarizer() -> Summarizer:
    return _summarizer(summarizer_settings())


def reset() -> None:
    """Forget settings, clients and cached sessions, as a cold start would."""
    clear_cache()
    _producer.cache_clear()
    _worker.cache_clear()
    _failure_recorder.cache_clear()
    _summarizer.cache_clear()
