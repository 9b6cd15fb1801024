"""dlmatrix as maintainers install it: the wheel built from this repository, in a fresh venv, run
from an empty directory (no checkout anywhere above it): the version, the catalog, a host run and a
docker run with real outcomes, the same image tag as the checkout's, and nothing written into the
installed package.

Without an engine the docker run exits 2 and its test fails: it never skips.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dlmatrix import __version__
from tests.conftest import REPO

pytestmark = pytest.mark.docker
CELLS = ["--scenario", "app-dlopen-dlclose", "--runtime", "unpinned,pinned"]  # a crash and a survivor
IMAGE = "debian-bookworm-glibc"
OUTCOMES = {("pass", None), ("crash", "SIGSEGV"), ("crash", "SIGBUS"), ("crash", "SIGILL")}


@dataclass(frozen=True)
class Installed:
    wheel: Path
    bin: Path  # the venv's bin/
    package: Path  # site-packages/dlmatrix
    empty: Path  # the working directory: no checkout here or above
    env: dict[str, str]

    def dlmatrix(self, *args: str, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / "dlmatrix"), *args],
            cwd=self.empty,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """`pip wheel` of the repository (hatchling from the index), installed into a fresh venv with its
    dependencies."""
    work = tmp_path_factory.mktemp("install")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "-q", "-w", str(work / "dist"), str(REPO)], check=True)
    (wheel,) = (work / "dist").glob("dlmatrix-*.whl")
    venv.create(work / "venv")  # without pip (no ensurepip needed): this pip installs into it
    python = work / "venv" / "bin" / "python"
    subprocess.run([*pip, "--python", str(python), "install", "-q", str(wheel)], check=True)
    package = Path(
        subprocess.run(
            [str(python), "-c", "import dlmatrix, os; print(os.path.dirname(dlmatrix.__file__))"],
            cwd=work,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    empty = work / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DLMATRIX_ROOT", "VIRTUAL_ENV", "PYTHONPATH")}
    env |= {"PATH": f"{work / 'venv' / 'bin'}:{env['PATH']}", "XDG_CACHE_HOME": str(work / "cache")}
    return Installed(wheel, work / "venv" / "bin", package, empty, env)


def tree(directory: Path) -> dict[str, tuple[int, int]]:
    """Every file under directory with its size and modification time."""
    return {
        str(p.relative_to(directory)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def results(directory: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / "results.json").read_text())
    return data


def test_the_wheel_carries_the_catalog_the_sources_and_the_licence(installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for name in (
        "dlmatrix/data/matrix/scenarios.yaml",
        "dlmatrix/data/matrix/runtimes/libzmq/runtime.yaml",
        "dlmatrix/data/dockerfiles/templates/apt-glibc.Dockerfile.j2",
        "dlmatrix/data/src/c/build.sh",
        "dlmatrix/data/src/c/source/build-source.sh",
        "dlmatrix/results/schemas/results.schema.json",
        f"dlmatrix-{__version__}.dist-info/licenses/LICENSE",
    ):
        assert name in names
    assert not any(n.startswith(("dlmatrix/data/dockerfiles/debian-", "reports/")) for n in names)
    metadata = zipfile.ZipFile(installed.wheel).read(f"dlmatrix-{__version__}.dist-info/METADATA").decode()
    assert "License-Expression: MIT" in metadata
    assert "Description-Content-Type: text/markdown" in metadata and "# dlmatrix" in metadata


def test_version_list_and_explain_from_an_empty_directory(installed):
    version = installed.dlmatrix("--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"dlmatrix {__version__}")
    listed = installed.dlmatrix("list", *CELLS, "--image", IMAGE)
    assert listed.returncode == 0, listed.stderr
    assert "app-dlopen-dlclose" in listed.stdout and "unpinned" in listed.stdout
    explained = installed.dlmatrix("explain", f"{IMAGE}/app-dlopen-dlclose/unpinned")
    assert explained.returncode == 2  # no checkout, so no reports/: the message says to name --results
    assert "--results PATH" in explained.stderr + explained.stdout


def test_host_run_from_an_empty_directory(installed):
    run = installed.dlmatrix("run", "--backend", "host", "--out", "out-host", *CELLS)
    assert run.returncode == 0, run.stdout + run.stderr
    data = results(installed.empty / "out-host")
    assert data["run"]["git_commit"] is None  # an installed catalog has no commit
    assert data["run"]["tool_version"] == __version__
    assert {(c["image"], c["runtime"]) for c in data["cells"]} == {
        (host, runtime) for host in ("host-glibc", "host-musl") for runtime in ("unpinned", "pinned")
    }
    for cell in data["cells"]:
        assert (cell["outcome"], cell["signal"]) in OUTCOMES and cell["verdict"] == "ok", cell
    unpinned_glibc = next(
        c for c in data["cells"] if (c["image"], c["runtime"]) == ("host-glibc", "unpinned")
    )
    assert unpinned_glibc["outcome"] == "crash"  # the seed's crash, measured here
    assert not (installed.empty / "out-host" / "previous-results.json").exists()  # nothing to compare


def test_docker_run_installed_builds_the_checkouts_image_and_writes_nothing_into_the_package(
    installed, tmp_path
):
    before = tree(installed.package)
    started = time.monotonic()
    run = installed.dlmatrix("run", "--backend", "docker", "--image", IMAGE, "--out", "out", *CELLS)
    seconds = time.monotonic() - started
    assert run.returncode == 0, run.stdout + run.stderr
    print(f"installed docker run: {seconds:.0f} s")  # the time of an installed run, for the record
    data = results(installed.empty / "out")
    cells = sorted((c["image"], c["runtime"], c["outcome"], c["signal"], c["verdict"]) for c in data["cells"])
    assert cells == [(IMAGE, "pinned", "pass", None, "ok"), (IMAGE, "unpinned", "crash", "SIGSEGV", "ok")]
    rendered = installed.dlmatrix("render")
    assert rendered.returncode == 0, rendered.stderr
    assert (
        Path(installed.env["XDG_CACHE_HOME"]) / "dlmatrix" / "dockerfiles" / IMAGE / "Dockerfile"
    ).is_file()
    into = installed.dlmatrix("render", "--into", "df")
    assert into.returncode == 0 and (installed.empty / "df" / IMAGE / "Dockerfile").is_file()
    assert installed.dlmatrix("render", "--check", "--into", "df").returncode == 0
    assert tree(installed.package) == before, "a run or a render wrote into site-packages"

    # the checkout, same inputs: the same tag, so the engine's cache serves both
    env = {k: v for k, v in installed.env.items() if k != "XDG_CACHE_HOME"}
    checkout = subprocess.run(
        [sys.executable, "-m", "dlmatrix", "run", "--backend", "docker", "--image", IMAGE, *CELLS,
         "--out", str(tmp_path / "checkout")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    assert checkout.returncode == 0, checkout.stdout + checkout.stderr
    assert results(tmp_path / "checkout")["run"]["images"] == data["run"]["images"]
    assert "up to date" in checkout.stdout + checkout.stderr


def test_an_editable_install_copies_nothing_and_uses_the_checkout(tmp_path):
    """tox's `package = editable`: site-packages gets a path to src/, no copy of the catalog (which
    would go stale), and from an empty directory dlmatrix reads the checkout's own files."""
    venv.create(tmp_path / "venv")
    python = tmp_path / "venv" / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", str(python)]
    subprocess.run([*pip, "install", "-q", "-e", str(REPO)], check=True)
    site = next((tmp_path / "venv" / "lib").glob("python3*/site-packages"))
    assert not (site / "dlmatrix").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DLMATRIX_ROOT", "VIRTUAL_ENV", "PYTHONPATH")}
    found = subprocess.run(
        [str(python), "-c", "from dlmatrix.config.load import load_matrix; print(load_matrix().root)"],
        cwd=empty, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert Path(found.stdout.strip()) == REPO
