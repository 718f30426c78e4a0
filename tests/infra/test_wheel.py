"""What `pip install credreports` installs: the credreports package (the
command line, the shared logic, the emulator and the demo), not the Lambda
handler packages, whose top-level names (producer, worker, ...) would land in
the user's site-packages; and a demo that, away from a source checkout, says
that it needs one instead of failing on a missing template.yaml."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.infra.conftest import REPO, SRC, handler_modules, pip


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel pip builds from the project's files, copied out first: a build in
    place would leave setuptools' build/ behind and reuse what it holds."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    ignored = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(SRC, source / "src", ignore=ignored)
    out = tmp_path_factory.mktemp("wheel")

    pip("wheel", "--no-deps", "--wheel-dir", str(out), str(source))

    (built,) = out.glob("credreports-*.whl")
    return built


def test_the_wheel_installs_the_credreports_package_and_no_handler_package(wheel: Path) -> None:
    handlers = {module.partition(".")[0] for module in handler_modules().values()}
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    top_level = {name.partition("/")[0] for name in names}
    modules = {name for name in names if name.endswith(".py")}

    assert {"producer", "worker", "dlq_handler"} <= handlers
    assert not handlers & top_level
    assert {name for name in top_level if not name.endswith(".dist-info")} == {"credreports"}
    assert modules == {
        path.relative_to(SRC).as_posix()
        for path in (SRC / "credreports").rglob("*.py")
        if "__pycache__" not in path.parts
    }


def test_the_demo_installed_from_the_wheel_says_it_needs_a_source_checkout(
    wheel: Path, tmp_path: Path
) -> None:
    # Given credreports installed from the wheel, away from any checkout
    site = tmp_path / "site"
    pip("install", "--no-deps", "--target", str(site), str(wheel))

    # When the demo is started (-I: neither PYTHONPATH=src nor the working directory)
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(site)!r})\n"
        "from credreports.cli import main\n"
        f"raise SystemExit(main(['demo', '--out', {str(tmp_path / 'out')!r}]))\n"
    )
    finished = subprocess.run(  # noqa: S603 - our interpreter, fixed code
        [sys.executable, "-I", "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # Then it stops before starting the emulator, with the reason and what to do
    assert finished.returncode == 1, finished.stderr[-3000:]
    assert "credreports demo: error:" in finished.stderr
    assert "source checkout" in finished.stderr
    assert "make demo" in finished.stderr
    assert "Traceback" not in finished.stderr
    assert "embedded AWS emulator" not in finished.stdout
    assert not (tmp_path / "out").exists()
