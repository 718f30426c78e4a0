"""The e2e tier: the command line as an operator runs it, against a stack
created in the emulator the way the demo creates it (from template.yaml)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from credreports import cli
from credreports.local.demo import provision, stack_available
from credreports.local.emulator import Emulator
from credreports.local.pipeline import LocalPipeline
from credreports.local.resources import Resources
from credreports.local.seed import SeededOrganization, seed_organization
from tests.support.faults import Faults

STACK_NAME = "e2e"


@pytest.fixture(autouse=True)
def clean_emulator(emulator: Emulator) -> Iterator[None]:
    emulator.reset()
    yield


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Deployed:
    """A stack in the emulator, its organization, and how the CLI names it."""

    resources: Resources
    organization: SeededOrganization
    target: list[str]

    def pipeline(self, **settings: str) -> LocalPipeline:
        """The deployed functions, run by the local event-source loop."""
        return LocalPipeline(self.resources, settings)


def target_options(resources: Resources) -> list[str]:
    if stack_available():
        return ["--stack", STACK_NAME]
    # Until template.yaml and credreports.local.stack land, the resources have
    # no CloudFormation stack: name them explicitly (the override path).
    return [
        "--queue-url",
        resources.work_queue_url,
        "--dlq-url",
        resources.dead_letter_queue_url,
        "--bucket",
        resources.bucket,
    ]


@pytest.fixture
def deployed(faults: Faults) -> Deployed:
    organization = seed_organization(7, suspended=1, ous={"Workloads": {"Prod": {}}})
    resources = provision(organization, {"RetryDelaySeconds": "0"}, stack_name=STACK_NAME)
    return Deployed(resources, organization, target_options(resources))


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> object:
    def run(*argv: str) -> Result:
        capsys.readouterr()
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
