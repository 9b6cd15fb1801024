"""build-source.sh --bootstrap (a release's bootstrap stage, templates/macros.j2), run natively in
sh on a checkout whose bootstrap script records each run: it leaves DIR/bootstrapped beside an
untouched source/, the build then starts from that tree with its timestamps (make must not make
configure again) and bootstraps nothing; a bootstrap that fails leaves nothing behind, and the
build bootstraps itself; a tree with its configure, a marker or another build system is left as
it is."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.integration.test_configure_cache import CONFIGURE

BUILD_SOURCE = REPO / "src" / "c" / "source" / "build-source.sh"
# bootstrap: says where it ran; fails where FAIL_BOOTSTRAP is set, else writes configure
BOOTSTRAP = f"""echo "bootstrap in $PWD" >>"$BOOTSTRAP_LOG"
[ -z "${{FAIL_BOOTSTRAP:-}}" ] || {{ echo "autoreconf: no such macro" && exit 1; }}
cat >configure <<'EOF'
{CONFIGURE}EOF
chmod 755 configure
"""


def checkout(top: Path, system: str = "autotools") -> Path:
    """A staged plug-in directory (runtimes/build.py's layout) of a checkout: no configure."""
    directory = top / "plugins" / "release"
    (directory / "source").mkdir(parents=True)
    (directory / "source" / "bootstrap").write_text(BOOTSTRAP)
    (directory / "source" / "configure.ac").write_text("AC_INIT([release], [1])\n")
    (directory / "build.env").write_text(f"SYSTEM={system}\n")
    (directory / "configure.args").write_text("")
    return directory


def run(top: Path, *args: str, fail: bool = False) -> str:
    """build-source.sh with args; what the bootstraps logged."""
    log = top / "bootstrap.log"
    env = {**os.environ, "CC": "cc", "BOOTSTRAP_LOG": str(log), "LOG": str(top / "configure.log")}
    env |= {"NAME": "release", "DLM_TREES": str(top / "trees")}
    env.pop("FAIL_BOOTSTRAP", None)
    env |= {"FAIL_BOOTSTRAP": "1"} if fail else {}
    subprocess.run(["sh", str(BUILD_SOURCE), *args], env=env, check=True, timeout=60)
    return log.read_text() if log.exists() else ""


def test_the_bootstrap_stage_makes_configure_once_and_the_build_starts_from_it(tmp_path: Path) -> None:
    directory = checkout(tmp_path)
    logged = run(tmp_path, "--bootstrap", str(directory))
    assert logged == f"bootstrap in {directory}/bootstrapping\n"
    assert os.access(directory / "bootstrapped" / "configure", os.X_OK)
    assert sorted(p.name for p in (directory / "source").iterdir()) == ["bootstrap", "configure.ac"]
    assert not (directory / "bootstrapping").exists()
    prefix = tmp_path / "built" / "release"
    assert run(tmp_path, str(directory), str(prefix)) == logged  # the build bootstrapped nothing
    assert not (prefix / "BUILD-FAILED").exists(), (prefix / "BUILD-FAILED").read_text()
    assert "configure made by the release's bootstrap stage" in (prefix / "build.log").read_text()
    assert (prefix / "lib" / "libfake.so").exists()
    for name in ("configure", "configure.ac"):  # as the bootstrap left them: make sees configure newer
        assert (tmp_path / "trees" / "release" / name).stat().st_mtime_ns == (
            directory / "bootstrapped" / name
        ).stat().st_mtime_ns


def test_a_bootstrap_that_fails_leaves_nothing_and_the_build_bootstraps_itself(tmp_path: Path) -> None:
    directory = checkout(tmp_path)
    run(tmp_path, "--bootstrap", str(directory), fail=True)
    assert sorted(p.name for p in directory.iterdir()) == [
        "bootstrap.log",
        "build.env",
        "configure.args",
        "source",
    ]
    assert "autoreconf: no such macro" in (directory / "bootstrap.log").read_text()
    prefix = tmp_path / "built" / "release"
    logged = run(tmp_path, str(directory), str(prefix))
    assert logged.splitlines()[-1] == f"bootstrap in {tmp_path}/trees/release"
    assert not (prefix / "BUILD-FAILED").exists() and (prefix / "lib" / "libfake.so").exists()


def test_a_second_bootstrap_replaces_the_first_s_tree(tmp_path: Path) -> None:
    directory = checkout(tmp_path)
    run(tmp_path, "--bootstrap", str(directory))
    (directory / "bootstrapped" / "stale").write_text("from the first\n")
    run(tmp_path, "--bootstrap", str(directory))
    assert sorted(p.name for p in (directory / "bootstrapped").iterdir()) == [
        "bootstrap",
        "configure",
        "configure.ac",
    ]


@pytest.mark.parametrize("case", ["configure", "marker", "cmake", "no build.env"])
def test_a_tree_with_its_configure_a_marker_or_another_system_is_left_as_it_is(
    tmp_path: Path, case: str
) -> None:
    directory = checkout(tmp_path, "cmake" if case == "cmake" else "autotools")
    if case == "configure":
        (directory / "source" / "configure").write_text(CONFIGURE)
        (directory / "source" / "configure").chmod(0o755)
    if case == "marker":
        (directory / "NOT-SELECTED").write_text("not built\n")
    if case == "no build.env":  # the build says so; the bootstrap stage never fails the image
        (directory / "build.env").unlink()
    before = sorted(p.relative_to(directory) for p in directory.rglob("*"))
    assert run(tmp_path, "--bootstrap", str(directory)) == ""
    assert sorted(p.relative_to(directory) for p in directory.rglob("*")) == before
