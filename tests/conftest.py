"""Shared fixtures: a private copy of the project to edit, the repository root, and the one way a
tier's missing prerequisite (an engine, a compiler, a browser) ends a test: a failure in CI or
where DLMATRIX_REQUIRE names it, a loud skip on a developer's machine."""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import pytest
import yaml
from rich.console import Console

from dlmatrix.backends.oci.engine import Engine
from dlmatrix.errors import DlmatrixError
from dlmatrix.log import Logger

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of matrix/, src/c/ and dockerfiles/ that a test may edit freely."""
    root = tmp_path / "project"
    shutil.copytree(REPO / "matrix", root / "matrix")
    shutil.copytree(REPO / "src" / "c", root / "src" / "c")
    shutil.copytree(REPO / "dockerfiles", root / "dockerfiles")
    return root


# What each tier may find missing, by the name DLMATRIX_REQUIRE gives it.
PREREQUISITES = {
    "docker": "a Docker engine that answers (the docker, fault and scale tests)",
    "native": "the host's compilers, gcc and musl-gcc (the native tests)",
    "browser": "Debian's chromium and playwright (the report page's tests)",
    "podman": "podman (the scale tests' second engine kind)",
    "private-engine": "root and dockerd, for a private second engine (the fault and scale tests)",
    "root": "root and setpriv, to run dlmatrix as another user (the fault tests)",
    "mmdebstrap": "mmdebstrap, which builds a base image offline (the fault tests)",
    "sources": "the upstream LTTng-UST snapshots (the docker tests' source-built cells)",
    "buildkit": "BuildKit for the docker CLI, its buildx plug-in (the compiler cache's docker test)",
    "ccache": "ccache on the host (the compiler cache's native test)",
}
MISSING = "MISSING PREREQUISITE"  # what every such skip says, for the summary's banner
FALSE = ("", "0", "false", "no", "off")  # a CI variable set to one of these is no CI


def named() -> set[str]:
    """What DLMATRIX_REQUIRE says, a comma list."""
    return {name.strip() for name in os.environ.get("DLMATRIX_REQUIRE", "").split(",") if name.strip()}


def required_names() -> set[str]:
    """The prerequisites DLMATRIX_REQUIRE names (`all` names every one)."""
    return set(PREREQUISITES) if "all" in named() else named()


def required(prerequisite: str) -> str | None:
    """Why a missing prerequisite fails the test here, or None where it may skip: a developer's run."""
    if prerequisite in required_names():
        return f"DLMATRIX_REQUIRE={os.environ['DLMATRIX_REQUIRE']}"
    if os.environ.get("CI", "").strip().lower() not in FALSE:
        return f"CI={os.environ['CI']}"
    return None


def missing(prerequisite: str, what: str, fix: str) -> NoReturn:
    """The one end of a test whose tier lacks a prerequisite: a failure where the tier is required
    (CI, DLMATRIX_REQUIRE), so that a green run means it ran; else a skip the summary shouts."""
    assert prerequisite in PREREQUISITES, prerequisite  # a name DLMATRIX_REQUIRE can give
    message = f"{MISSING} {prerequisite}: {what}; fix: {fix}"
    why = required(prerequisite)
    if why is not None:
        pytest.fail(f"{message} (required here, {why}: this tier never skips)", pytrace=False)
    pytest.skip(f"{message} (CI=true or DLMATRIX_REQUIRE={prerequisite} makes this a failure)")


def need(prerequisite: str, present: object, what: str, fix: str) -> None:
    """Goes on only where present is true; else `missing`."""
    if not present:
        missing(prerequisite, what, fix)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "needs(prerequisite, present, what, fix): `need` before the test (a parameter's mark)"
    )
    unknown = named() - {"all", *PREREQUISITES}
    if unknown:  # a misspelt name would require nothing, silently
        raise pytest.UsageError(
            f"DLMATRIX_REQUIRE names {', '.join(sorted(unknown))}, which no tier needs; "
            f"fix: name some of {', '.join(PREREQUISITES)}, or all"
        )


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("needs"):
        need(*mark.args)


@pytest.fixture(scope="session")
def engine() -> Engine:
    """The Docker engine the docker and fault tests use; without one they fail or skip (`missing`)."""
    engine = Engine()
    problem = None
    try:
        engine.server_version()
    except DlmatrixError as failure:
        problem = failure  # ended outside the handler: the engine's error is the message, not a traceback
    if problem is not None:
        missing("docker", problem.cause, problem.fix or "bash .ci/setup")
    return engine


class Recorder(Logger):
    """What a run logs (its steps, stages and warnings) as a log, kept for a test to read."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        super().__init__(Console(file=self.buffer, width=400, force_terminal=False), stderr=self.buffer)

    def messages(self) -> list[str]:
        return [re.sub(r"^\s*\d+s ", "", line) for line in self.buffer.getvalue().splitlines()]

    def clear(self) -> None:
        self.buffer.seek(0)
        self.buffer.truncate()


def edit_yaml(root: Path, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = root / "matrix" / name
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """A tier may skip only outside CI, for a missing prerequisite, and then nobody may miss it."""
    skipped = terminalreporter.stats.get("skipped", [])
    names = {m for r in skipped for m in re.findall(rf"{MISSING} ([\w-]+)", str(r.longrepr))}
    if names:
        terminalreporter.write_sep(
            "!",
            f"TESTS SKIPPED, {MISSING}: {', '.join(sorted(names))}; see the skip reasons "
            "(CI=true or DLMATRIX_REQUIRE=all fails instead)",
            red=True,
            bold=True,
        )
