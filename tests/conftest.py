"""Shared fixtures: a private copy of the project to edit, and the repository root."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


@pytest.fixture(scope="session")
def engine() -> Engine:
    """The Docker engine the docker and fault tests use; they skip, loudly, only without one."""
    engine = Engine()
    try:
        engine.server_version()
    except DlmatrixError as missing:
        pytest.skip(f"NO DOCKER ENGINE, docker and fault-injection tests not run: {missing}")
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
    """Docker tests may skip only where no engine answers, and then nobody may miss it."""
    skipped = terminalreporter.stats.get("skipped", [])
    if any("NO DOCKER ENGINE" in str(report.longrepr) for report in skipped):
        terminalreporter.write_sep(
            "!", "DOCKER TESTS SKIPPED: no Docker engine answered; see the skip reasons", red=True, bold=True
        )
