"""The source checkout that the demo, the tests and the benchmarks run from.

They run the functions as ``sam deploy`` would: the stack comes from the
repository's template.yaml, and the handlers are the template's ``Handler``
modules under src/ (the functions' CodeUri). Neither is in the credreports
wheel: it installs the credreports package only, not template.yaml nor the
top-level handler packages (producer, worker, dlq_handler). So the local
pipeline needs credreports imported from a checkout (``make demo`` and the
tests do that through the editable install of .venv); anywhere else
:func:`require` says so instead of failing on a missing file.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: The checkout that holds this file when credreports is imported from src/.
REPO_ROOT = Path(__file__).resolve().parents[3]
#: The stack that `sam deploy` creates and the demo creates in the emulator.
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
#: The functions' CodeUri: the handler packages and credreports.
CODE_DIR = REPO_ROOT / "src"


class CheckoutNotFoundError(RuntimeError):
    """credreports was not imported from a source checkout."""


def require() -> None:
    """Raise :class:`CheckoutNotFoundError` unless template.yaml and src/ are here."""
    if not (TEMPLATE_PATH.is_file() and CODE_DIR.is_dir()):
        raise CheckoutNotFoundError(
            "the demo runs template.yaml and the Lambda handlers of a source checkout, "
            f"and this credreports is installed outside one ({REPO_ROOT}): clone the "
            "repository and run `make demo` in it"
        )


def lambda_handler(handler: str) -> Callable[..., Any]:
    """The function a template ``Handler`` names ("worker.app.lambda_handler"),
    imported from :data:`CODE_DIR`, never from another package of that name."""
    require()
    module_name, _, function = handler.rpartition(".")
    package_name = module_name.partition(".")[0]
    package = sys.modules.get(package_name)
    if package is None:
        spec = importlib.machinery.PathFinder.find_spec(package_name, [str(CODE_DIR)])
        if spec is None or spec.loader is None:
            raise CheckoutNotFoundError(f"no handler package {package_name}/ in {CODE_DIR}")
        package = importlib.util.module_from_spec(spec)
        sys.modules[package_name] = package
        try:
            spec.loader.exec_module(package)
        except BaseException:
            del sys.modules[package_name]
            raise
    origin = Path(package.__file__ or "").resolve()
    if not origin.is_relative_to(CODE_DIR):
        raise CheckoutNotFoundError(
            f"{package_name} is imported from {origin}, not from the checkout's {CODE_DIR}"
        )
    found: Callable[..., Any] = getattr(importlib.import_module(module_name), function)
    return found
