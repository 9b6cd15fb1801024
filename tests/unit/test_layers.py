"""The wings' layering (pyproject.toml [tool.importlinter]) holds, and an upward import breaks it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


def lint_imports(package_root: Path, config: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports on the package found under package_root, with the project's contracts."""
    command = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    env = {**os.environ, "PYTHONPATH": str(package_root)}
    return subprocess.run(
        [command, "--no-cache", str(config)], capture_output=True, text=True, env=env, check=False
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The package and its contracts, copied so that a test may add a module to it."""
    shutil.copytree(REPO / "src" / "dlmatrix", tmp_path / "src" / "dlmatrix")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_layers_hold(copy: Path) -> None:
    done = lint_imports(copy / "src", copy / "pyproject.toml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "upward"),
    [
        ("model/upward.py", "from dlmatrix.report.grid import build_grid"),
        ("config/upward.py", "import dlmatrix.backends.registry"),
        ("results/upward.py", "from dlmatrix.cli import main"),
        ("report/upward.py", "from dlmatrix.backends.oci import engine"),  # siblings stay apart
    ],
)
def test_an_upward_import_breaks_them(copy: Path, module: str, upward: str) -> None:
    (copy / "src" / "dlmatrix" / module).write_text(f'"""An import against the layers."""\n\n{upward}\n')
    done = lint_imports(copy / "src", copy / "pyproject.toml")
    assert done.returncode != 0
    assert "BROKEN" in done.stdout
    assert f"dlmatrix.{module.removesuffix('.py').replace('/', '.')}" in done.stdout
