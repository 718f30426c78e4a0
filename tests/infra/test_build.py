"""Issue 4, item 2 (build part): `sam build` produces python3.13 artifacts that
hold everything the handlers import.

How a python3.13 build is imported here, where the interpreter is 3.11: the
artifact's pure-Python code (handler, credreports, Powertools, pydantic,
boto3, ...) runs on 3.11 as it is; only compiled extension modules are tied to
the interpreter. So each artifact is copied, every ``*.cpython-313-*.so`` in
it is replaced by the 3.11 build of the *same distribution and version* (from
this environment when it has that version, else from that version's cp311
wheel, fetched by pip from PyPI), and the handler is imported by
``python -I -S`` with the artifact as the only entry of sys.path besides the
standard library. A module missing from the artifact, a
wrong version or a broken import fails the test. Where a python3.13
interpreter exists (pyenv has one on the CI machine), the artifact is also
imported untouched by it, as Lambda would.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from tests.infra.conftest import (
    REPO,
    SRC,
    TEMPLATE,
    handler_modules,
    load_template,
    pip,
    tool,
    tool_environment,
)

_EXTENSION = re.compile(r"\.cpython-(?P<tag>\d+)-[^/]*\.so$")


FUNCTIONS = handler_modules()


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build = tmp_path_factory.mktemp("sam") / "build"
    result = subprocess.run(  # noqa: S603 - our own tool, fixed arguments
        [
            str(tool("sam")),
            "build",
            "--template",
            str(TEMPLATE),
            "--build-dir",
            str(build),
            "--cache-dir",
            str(build.parent / "cache"),
        ],
        cwd=REPO,
        env=tool_environment(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return build


def test_sam_build_builds_every_function_for_python313(build_dir: Path) -> None:
    built = load_template(build_dir / "template.yaml")
    defaults = built.get("Globals", {}).get("Function", {})

    for name, handler_module in FUNCTIONS.items():
        properties = {**defaults, **built["Resources"][name]["Properties"]}
        assert properties["Runtime"] == "python3.13"
        artifact = build_dir / properties["CodeUri"]
        assert (artifact / Path(*handler_module.split("."))).with_suffix(".py").is_file()
        tags = {m["tag"] for p in artifact.rglob("*.so") if (m := _EXTENSION.search(p.name))}
        assert tags == {"313"}, f"{name}: compiled modules for {tags}, not only CPython 3.13"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_artifact_holds_its_own_handler_only(build_dir: Path, name: str) -> None:
    handlers = {module.partition(".")[0] for module in FUNCTIONS.values()}
    own = FUNCTIONS[name].partition(".")[0]

    present = {entry.name for entry in (build_dir / name).iterdir()}

    assert own in present
    assert "credreports" in present
    assert not (handlers - {own}) & present
    assert not {"tests", "__pycache__"} & present


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_artifact_leaves_out_the_command_line_and_the_local_emulator(
    build_dir: Path, name: str
) -> None:
    package = build_dir / name / "credreports"
    shipped = {path.relative_to(package).as_posix() for path in package.rglob("*")}

    assert {"__init__.py", "adapters"} <= shipped
    assert not {"cli", "local"} & shipped


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_import_of_the_shipped_code_resolves_inside_the_artifact(
    build_dir: Path, name: str
) -> None:
    """Also the imports inside functions, which importing the handler does not run:
    a shipped module reaching for something left out would fail only on Lambda."""
    artifact = build_dir / name
    own = FUNCTIONS[name].partition(".")[0]
    imported = {
        module
        for directory in ("credreports", own)
        for path in (artifact / directory).rglob("*.py")
        for module in _imported_modules(artifact, path)
    }

    left_out = {
        module
        for module in imported
        if _is_module(SRC, module) and not _is_module(artifact, module)
    }

    assert imported & {"credreports.dependencies", "credreports.settings"}
    assert left_out == set()


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("wheels")


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_built_function_imports_its_handler_under_local_python(
    build_dir: Path, tmp_path: Path, wheels: Path, name: str
) -> None:
    artifact = tmp_path / name
    shutil.copytree(build_dir / name, artifact)
    replaced = _use_local_extension_modules(artifact, wheels)

    result = _import_handler(sys.executable, artifact, FUNCTIONS[name])

    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "lambda_handler"
    assert "pydantic-core" in replaced


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_built_function_imports_its_handler_under_python313(build_dir: Path, name: str) -> None:
    python313 = _python313()
    if python313 is None:
        pytest.skip("no python3.13 interpreter on this machine")

    result = _import_handler(python313, build_dir / name, FUNCTIONS[name])

    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "lambda_handler"


def test_artifacts_ship_the_project_dependencies_at_the_locked_versions(
    build_dir: Path,
) -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    locked = _pins(REPO / "constraints.txt")

    for name in FUNCTIONS:
        shipped = {
            _normalise(metadata.metadata["Name"]): metadata.version
            for metadata in (
                importlib.metadata.PathDistribution(info)
                for info in (build_dir / name).glob("*.dist-info")
            )
        }
        for dependency in project["project"]["dependencies"]:
            requirement = Requirement(dependency)
            assert _normalise(requirement.name) in shipped, f"{name} lacks {requirement.name}"
        different = {
            dist: (version, locked[dist])
            for dist, version in shipped.items()
            if dist in locked and locked[dist] != version
        }
        assert different == {}, f"{name}: (shipped, locked) differ"


# ----------------------------------------------------------------- helpers
def _imported_modules(root: Path, path: Path) -> set[str]:
    """Every module an import statement of ``path`` names, as a dotted name (and,
    for ``from M import n``, also ``M.n``, which may be a submodule)."""
    package = path.relative_to(root).with_suffix("").parts[:-1]
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join([*base, *([node.module] if node.module else [])])
            modules.add(module)
            modules.update(f"{module}.{alias.name}" for alias in node.names)
    return modules


def _is_module(root: Path, dotted: str) -> bool:
    path = root.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _import_handler(python: str, artifact: Path, module: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys, importlib\n"
        f"sys.path.insert(0, {str(artifact)!r})\n"
        f"handler = importlib.import_module({module!r}).lambda_handler\n"
        f"assert callable(handler)\n"
        "for name, loaded in list(sys.modules.items()):\n"
        "    path = getattr(loaded, '__file__', None) or ''\n"
        "    if 'site-packages' in path or 'dist-packages' in path:\n"
        "        raise SystemExit(f'{name} came from outside the artifact: {path}')\n"
        "print(handler.__name__)\n"
    )
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        # What Lambda sets; the handlers must import without any AWS access.
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "import-check",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    return subprocess.run(  # noqa: S603 - our interpreter, fixed code
        [python, "-I", "-S", "-c", code],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _use_local_extension_modules(artifact: Path, wheels: Path) -> set[str]:
    """Swap the artifact's 3.13 extension modules for this interpreter's build of
    the same distribution version; returns the distributions touched."""
    owners = _record_owners(artifact)
    local_tag = f"{sys.version_info.major}{sys.version_info.minor}"
    replaced: set[str] = set()
    for extension in artifact.rglob("*.so"):
        match = _EXTENSION.search(extension.name)
        if match is None or match["tag"] == local_tag:
            continue
        relative = extension.relative_to(artifact).as_posix()
        distribution, version = owners[relative]
        prefix = relative[: len(relative) - len(extension.name) + match.start()]
        local_prefix = f"{prefix}.cpython-{local_tag}-"
        content = _local_extension(distribution, version, local_prefix)
        if content is None:
            content = _wheel_extension(distribution, version, local_prefix, wheels)
        extension.unlink()
        suffix = extension.name[match.end("tag") + 1 :]
        (artifact / (local_prefix + suffix)).write_bytes(content)
        replaced.add(_normalise(distribution))
    return replaced


def _local_extension(distribution: str, version: str, prefix: str) -> bytes | None:
    try:
        installed = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    if installed.version != version:
        return None
    (file,) = [f for f in installed.files or [] if str(f).startswith(prefix)]
    return Path(str(file.locate())).read_bytes()


def _wheel_extension(distribution: str, version: str, prefix: str, wheels: Path) -> bytes:
    target = wheels / f"{_normalise(distribution)}-{version}"
    if not target.exists():
        pip(
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            f"{sys.version_info.major}.{sys.version_info.minor}",
            "--platform",
            "manylinux2014_x86_64",
            "--dest",
            str(target),
            f"{distribution}=={version}",
        )
    (wheel,) = target.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.startswith(prefix)]
        return archive.read(name)


def _record_owners(artifact: Path) -> dict[str, tuple[str, str]]:
    owners: dict[str, tuple[str, str]] = {}
    for record in artifact.glob("*.dist-info/RECORD"):
        metadata = importlib.metadata.PathDistribution(record.parent)
        name, version = metadata.metadata["Name"], metadata.version
        for line in record.read_text(encoding="utf-8").splitlines():
            owners[line.split(",", 1)[0]] = (name, version)
    return owners


def _python313() -> str | None:
    candidates: list[Any] = [shutil.which("python3.13")]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(pyenv_root.glob("versions/3.13*/bin/python3.13"))
    for candidate in candidates:
        if not candidate:
            continue
        probe = subprocess.run(  # noqa: S603
            [str(candidate), "-c", "import sys; print(sys.version_info[:2] == (3, 13))"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == "True":
            return str(candidate)
    return None


def _pins(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        if specifier.operator == "==":
            pins[_normalise(requirement.name)] = specifier.version
    return pins


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
