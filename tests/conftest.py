"""Shared fixtures: one emulator per test session, a clean slate per test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest

from credreports import dependencies
from credreports.local import emulator as emulator_module
from credreports.local.emulator import Emulator
from tests.support.faults import Faults


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with emulator_module.running() as running:
        yield running


@pytest.fixture
def clean_emulator(emulator: Emulator) -> Emulator:
    """The emulator, emptied of every resource (all accounts, all services)."""
    emulator.reset()
    return emulator


@pytest.fixture(autouse=True)
def cold_start() -> Iterator[None]:
    """Each test starts like a fresh container: no cached settings, clients or
    sessions, and its own environment, restored afterwards."""
    saved = dict(os.environ)
    # Outside the emulator, nothing may reach AWS: a closed local port and
    # dummy credentials (the integration tier points these at the emulator).
    os.environ.setdefault("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    dependencies.reset()
    boto3.setup_default_session()
    yield
    os.environ.clear()
    os.environ.update(saved)
    dependencies.reset()
    boto3.DEFAULT_SESSION = None


@pytest.fixture
def faults(emulator: Emulator) -> Iterator[Faults]:
    """Fault injection in the emulator, in front of moto: it reaches every
    caller, whatever process it runs in (integration, e2e and sql tiers)."""
    with Faults(emulator) as injected:
        yield injected
