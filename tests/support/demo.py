"""``credreports demo`` as a newcomer runs it: the console script, in a
subprocess, with its own emulator and none of the test session's AWS setup."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


def console_script() -> str:
    found = shutil.which("credreports", path=str(Path(sys.executable).parent))
    assert found, "the credreports console script is not installed in this environment"
    return found


def run_demo(accounts: int, out: Path) -> subprocess.CompletedProcess[str]:
    """The demo's console script in a clean environment: no endpoint or
    credentials of the test session."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "POWERTOOLS_"))
    }
    return subprocess.run(  # noqa: S603 - our own console script
        [console_script(), "demo", "--accounts", str(accounts), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
        env=environment,
        check=False,
    )
