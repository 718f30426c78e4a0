"""A stack deployed in the emulator, as the e2e tier drives it through the CLI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from credreports.local.pipeline import LocalPipeline
from credreports.local.resources import Resources
from credreports.local.seed import SeededOrganization


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


# What the e2e tier's ``run_cli`` fixture is: argv in, exit code and output out.
RunCli = Callable[..., Result]
