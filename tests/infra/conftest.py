"""Fixtures of the infrastructure tests (issue 4): templates, tools, the emulator stack.

The command-line tools (cfn-lint, sam, checkov) live in their own virtual
environments, built by ``make test-infra`` (infra.mk) and found under build/
or through CREDREPORTS_CFN_LINT / CREDREPORTS_SAM / CREDREPORTS_CHECKOV. Run
outside make without them, their tests are skipped with the command to run;
with CREDREPORTS_INFRA_STRICT=1 (set by make) a missing tool fails instead.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
BUCKET_TEMPLATE = REPO / "templates" / "report-bucket.yaml"
SRC = REPO / "src"

# These tests run in build/venv-infra (`make test-infra`), which has
# aws-sam-translator; the project's .venv may not (it needs pydantic<2.14).
# There, a plain `pytest` leaves this directory out instead of failing on the
# import; under make (CREDREPORTS_INFRA_STRICT=1) a missing package fails.
if importlib.util.find_spec("samtranslator") is None:
    if os.environ.get("CREDREPORTS_INFRA_STRICT") == "1":
        raise ImportError("aws-sam-translator is missing from the infra environment")
    collect_ignore_glob = ["test_*.py"]

_TOOLS = {
    "cfn-lint": ("CREDREPORTS_CFN_LINT", REPO / "build" / "venv-infra" / "bin" / "cfn-lint"),
    "sam": ("CREDREPORTS_SAM", REPO / "build" / "venv-sam" / "bin" / "sam"),
    "checkov": ("CREDREPORTS_CHECKOV", REPO / "build" / "venv-checkov" / "bin" / "checkov"),
}


def tool(name: str) -> Path:
    """Path of a command-line tool; skips (or fails under make) when absent."""
    variable, default = _TOOLS[name]
    path = Path(os.environ.get(variable, default))
    if not path.is_file():
        message = f"{name} not found at {path}: run `make test-infra` (it installs the tools)"
        if os.environ.get("CREDREPORTS_INFRA_STRICT") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """A template as data, with !Ref/!Sub/... as their long forms."""
    from samtranslator.yaml_helper import yaml_parse

    template: dict[str, Any] = yaml_parse(path.read_text(encoding="utf-8"))
    return template


def handler_modules() -> dict[str, str]:
    """Logical id -> handler module ("producer.app"), for every function of template.yaml."""
    resources = load_template(TEMPLATE)["Resources"]
    return {
        name: resource["Properties"]["Handler"].rpartition(".")[0]
        for name, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def pip(*arguments: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """This machine's pip (the infra venvs, made by uv, have none); fails on an error."""
    return subprocess.run(  # noqa: S603 - this machine's pip, our arguments
        [
            shutil.which("python3") or "python3",
            "-m",
            "pip",
            "--quiet",
            "--disable-pip-version-check",
            *arguments,
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def tool_environment() -> dict[str, str]:
    """Environment for the tools: no AWS endpoint, profile or telemetry."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") and key != "PYTHONPATH"
    }
    environment.update(
        SAM_CLI_TELEMETRY="0",
        AWS_DEFAULT_REGION="us-east-1",
        # checkov: no calls home (it has no network here anyway).
        BC_SKIP_MAPPING="TRUE",
        CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false",
    )
    return environment


def statements(items: list[Any]) -> Iterator[dict[str, Any]]:
    """The statements of a policy, every branch of each Fn::If as its own
    (the policy holds the union of what any deployment gets)."""
    for item in items:
        if isinstance(item, dict) and "Fn::If" in item:
            yield from statements(item["Fn::If"][1:])
        elif item != {"Ref": "AWS::NoValue"}:
            yield item
