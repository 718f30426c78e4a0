"""The e2e tier: the command line as an operator runs it, against a stack
created in the emulator the way the demo creates it (from template.yaml)."""

from __future__ import annotations

import pytest

from credreports import cli
from credreports.local.demo import provision
from credreports.local.emulator import Emulator
from credreports.local.seed import seed_organization
from tests.support.deployed import Deployed, Result
from tests.support.faults import Faults

STACK_NAME = "e2e"


@pytest.fixture(autouse=True)
def _every_test_starts_empty(clean_emulator: Emulator) -> None:
    """Every e2e test starts with an empty emulator."""


@pytest.fixture
def deployed(faults: Faults) -> Deployed:
    organization = seed_organization(7, suspended=1, ous={"Workloads": {"Prod": {}}})
    resources = provision(organization, {"RetryDelaySeconds": "0"}, stack_name=STACK_NAME)
    return Deployed(resources, organization, ["--stack", STACK_NAME])


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> object:
    def run(*argv: str) -> Result:
        capsys.readouterr()
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
