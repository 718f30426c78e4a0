"""Headless Chromium (Debian's package), with the network cut: what the
browser tests and ``make screenshot`` render pages with.

Every launch gets a fresh profile and a proxy on a dead port, so a page that
tried to load anything from outside would fail to; the background-networking
flags keep Chromium's own connections quiet on this machine's closed network.

``python -m tests.support.browser SRC.html OUT.png [WIDTH,HEIGHT]`` takes a screenshot.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FLAGS = (
    "--headless",
    "--no-sandbox",  # runs as root in CI
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    # Nothing listens on port 9: every request the page makes fails.
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
)
WINDOW = "1100,1700"
TIMEOUT_SECONDS = 60


class BrowserMissing(RuntimeError):
    """Chromium is not installed (.ci/run installs Debian's ``chromium``)."""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise BrowserMissing(
            "chromium is not installed: apt-get install -y chromium (.ci/run does it)"
        )
    return found


def _run(page: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        return subprocess.run(  # noqa: S603 - the system's chromium, our own page
            [
                chromium(),
                *FLAGS,
                f"--user-data-dir={profile}",
                *arguments,
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=True,
            env={**os.environ, "HOME": profile},
        )


def dump_dom(page: Path) -> str:
    """The page's DOM after it loaded (and ran whatever it would run), as HTML."""
    return _run(page, "--dump-dom").stdout


def screenshot(page: Path, out: Path, window: str = WINDOW) -> Path:
    """A PNG of the page in a window of ``window`` ("width,height") pixels."""
    out.parent.mkdir(parents=True, exist_ok=True)
    _run(page, f"--screenshot={out.resolve()}", f"--window-size={window}", "--hide-scrollbars")
    return out


if __name__ == "__main__":
    source, target = (Path(argument) for argument in sys.argv[1:3])
    print(screenshot(source, target, *sys.argv[3:4]))
