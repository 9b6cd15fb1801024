"""Where the catalog is found (config.root), and what an installed catalog never has: committed
Dockerfiles, published reports/, a commit, a place to write."""

from __future__ import annotations

import importlib.metadata
import shutil
from pathlib import Path

import pytest

from dlmatrix.backends.oci.dockerfiles import generated_dir, outdated_committed
from dlmatrix.cli.main import main
from dlmatrix.cli.report_set import previous_results
from dlmatrix.config import root as where
from dlmatrix.config.load import load_matrix
from dlmatrix.errors import DlmatrixError
from dlmatrix.results.metadata import git_commit
from tests.conftest import REPO, Recorder


@pytest.fixture
def outside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory, no checkout above it, no DLMATRIX_ROOT, a private cache."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    monkeypatch.delenv("DLMATRIX_ROOT", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("DLMATRIX_PROJECT", "none")
    return empty


@pytest.fixture
def wheel_layout(outside: Path, project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """As installed from the wheel: not imported from a checkout, the catalog in dlmatrix/data."""
    data = project.parent / "site-packages" / "dlmatrix" / "data"
    data.parent.mkdir(parents=True)
    shutil.move(project, data)
    shutil.rmtree(data / "dockerfiles")
    shutil.copytree(REPO / "dockerfiles" / "templates", data / "dockerfiles" / "templates")
    monkeypatch.setattr(where, "SOURCE_CHECKOUT", outside / "no-checkout")
    monkeypatch.setattr(where, "DATA", data)
    return data


def tree(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


def test_dlmatrix_root_wins_and_must_hold_a_catalog(outside, project, monkeypatch):
    monkeypatch.setenv("DLMATRIX_ROOT", str(project))
    assert where.find_root() == project.resolve()
    monkeypatch.setenv("DLMATRIX_ROOT", str(outside))
    with pytest.raises(DlmatrixError, match=r"holds no matrix/scenarios\.yaml") as raised:
        where.find_root()
    assert "DLMATRIX_ROOT" in raised.value.fix


def test_a_checkout_above_the_working_directory_is_used(outside, project, monkeypatch):
    below = project / "matrix" / "runtimes"
    monkeypatch.chdir(below)
    assert where.find_root() == project.resolve()
    assert not where.installed(project)


def test_an_editable_install_uses_the_checkouts_own_files(outside):
    """tox installs dlmatrix editable: from an empty directory it is this checkout's catalog."""
    assert where.find_root() == REPO
    assert load_matrix().root == REPO
    assert where.checkout_root() == REPO


def test_installed_the_packages_data_is_the_catalog(wheel_layout):
    assert where.find_root() == wheel_layout
    assert where.installed(wheel_layout)
    assert where.checkout_root() is None
    assert {i.name for i in load_matrix().images} >= {"debian-bookworm-glibc", "debian-bookworm-musl"}


def test_no_catalog_anywhere_names_the_fixes(outside, monkeypatch):
    monkeypatch.setattr(where, "SOURCE_CHECKOUT", outside / "no-checkout")
    monkeypatch.setattr(where, "DATA", outside / "no-data")
    with pytest.raises(DlmatrixError, match="no matrix/ directory found") as raised:
        where.find_root()
    assert "pipx install" in raised.value.fix and "DLMATRIX_ROOT" in raised.value.fix


def test_installed_there_is_no_commit_no_published_results_no_committed_dockerfiles(wheel_layout, outside):
    (wheel_layout / "reports").mkdir()
    shutil.copyfile(REPO / "reports" / "results.json", wheel_layout / "reports" / "results.json")
    matrix = load_matrix()
    assert git_commit(wheel_layout) is None
    assert previous_results(outside / "out", None, Recorder()) == (None, None)
    assert outdated_committed(matrix) == []  # none committed: what a run builds is rendered in memory
    assert generated_dir(matrix) == outside.parent / "cache" / "dlmatrix" / "dockerfiles"


def test_a_fresh_out_in_a_checkout_compares_with_nothing_published_either(project, outside):
    (project / "reports").mkdir()
    shutil.copyfile(REPO / "reports" / "results.json", project / "reports" / "results.json")
    assert previous_results(outside / "out", None, Recorder()) == (None, None)


def test_render_installed_writes_into_the_work_directory_or_into_and_never_the_package(
    wheel_layout, outside, capsys
):
    before = tree(wheel_layout)
    assert main(["render"]) == 0
    cache = outside.parent / "cache" / "dlmatrix" / "dockerfiles"
    assert (cache / "debian-bookworm-glibc" / "Dockerfile").is_file()
    assert main(["render", "--into", "df"]) == 0
    assert "wrote df/debian-bookworm-glibc/Dockerfile" in capsys.readouterr().out
    assert main(["render", "--check", "--into", "df"]) == 0
    (outside / "df" / "debian-bookworm-glibc" / "Dockerfile").write_text("FROM scratch\n")
    assert main(["render", "--check", "--into", "df"]) == 2
    assert tree(wheel_layout) == before


def test_explain_installed_without_results_says_to_name_them(wheel_layout, capsys):
    assert main(["explain", "debian-bookworm-glibc/app-dlopen-dlclose/unpinned"]) == 2
    assert "--results PATH" in capsys.readouterr().err


def test_version_is_the_package_metadata(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"dlmatrix {importlib.metadata.version('dlmatrix')}"
