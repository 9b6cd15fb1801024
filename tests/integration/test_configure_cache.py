"""build-source.sh's configure cache (build.configure-cache-from), run natively in sh on a tree whose
configure records what it was given: the seed's results are where the next build's configure
starts, each build leaves its own, a seeded configure that fails runs again without them, and
without DLM_CONFIGURE_CACHES (the host) configure is run as it always was."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import REPO

BUILD_SOURCE = REPO / "src" / "c" / "source" / "build-source.sh"
# configure: --cache-file=F is read (fails if it holds REFUSE) and F gets this build's answer
CONFIGURE = """#!/bin/sh
cache="" prefix=""
for arg in "$@"; do
  case $arg in
    --cache-file=*) cache=${arg#--cache-file=} ;;
    --prefix=*) prefix=${arg#--prefix=} ;;
  esac
done
echo "configure $*" >>"$LOG"
if [ -n "$cache" ]; then
  if [ -s "$cache" ]; then
    grep -q REFUSE "$cache" && exit 1
    echo "started from: $(cat "$cache")" >>"$LOG"
  fi
  echo "ac_cv_answer=$NAME" >"$cache"
fi
printf 'all:\\n\\ttouch libfake.so\\n' >Makefile
printf 'install:\\n\\tmkdir -p %s/lib && cp libfake.so %s/lib/\\n' "$prefix" "$prefix" >>Makefile
"""


def staged(top: Path, name: str, seed: str = "") -> Path:
    """A staged plug-in directory (runtimes/build.py's layout) of an autotools tree."""
    directory = top / "plugins" / name
    (directory / "source").mkdir(parents=True)
    (directory / "source" / "configure").write_text(CONFIGURE)
    (directory / "source" / "configure").chmod(0o755)
    (directory / "build.env").write_text(
        "SYSTEM=autotools\n" + (f"CONFIGURE_CACHE_FROM={seed}\n" if seed else "")
    )
    (directory / "configure.args").write_text("")
    return directory


def build(top: Path, name: str, caches: Path | None) -> str:
    """Builds the staged name into top/built/name; configure's log."""
    log = top / f"{name}.configure.log"
    env = {**os.environ, "CC": "cc", "LOG": str(log), "NAME": name}
    env.pop("DLM_CONFIGURE_CACHES", None)
    env |= {"DLM_CONFIGURE_CACHES": str(caches)} if caches else {}
    prefix = top / "built" / name
    subprocess.run(["sh", str(BUILD_SOURCE), str(top / "plugins" / name), str(prefix)], env=env, check=True)
    assert not (prefix / "BUILD-FAILED").exists(), (prefix / "BUILD-FAILED").read_text()
    return log.read_text()


def test_a_build_starts_from_its_seed_s_configure_results_and_leaves_its_own(tmp_path: Path) -> None:
    caches = tmp_path / "caches"
    staged(tmp_path, "newest")
    staged(tmp_path, "older", seed="newest")
    first = build(tmp_path, "newest", caches)
    assert "--cache-file=config.cache" in first and "started from" not in first
    assert (caches / "newest.cache").read_text() == "ac_cv_answer=newest\n"
    # its preprocessor choices are its own (made with its compiler flags): not handed on
    with (caches / "newest.cache").open("a") as cache:
        cache.write("ac_cv_prog_CPP='gcc -E'\nac_cv_prog_CXXCPP='g++ -std=c++11 -E'\n")
    second = build(tmp_path, "older", caches)
    assert "started from: ac_cv_answer=newest" in second and "ac_cv_prog" not in second
    assert (caches / "older.cache").read_text() == "ac_cv_answer=older\n"
    said = (tmp_path / "built" / "older" / "build.log").read_text()
    assert f"configure starts from newest's results ({caches}/newest.cache), but its preprocessors" in said


def test_a_seeded_configure_that_fails_runs_again_without_the_seed(tmp_path: Path) -> None:
    caches = tmp_path / "caches"
    caches.mkdir()
    (caches / "newest.cache").write_text("REFUSE\n")  # a variable that changed, as configure says
    staged(tmp_path, "older", seed="newest")
    log = build(tmp_path, "older", caches)
    assert log.count("configure ") == 2 and "started from" not in log
    assert (
        "configure failed from newest's results: again without them"
        in (tmp_path / "built" / "older" / "build.log").read_text()
    )
    assert (caches / "older.cache").read_text() == "ac_cv_answer=older\n"


def test_without_a_cache_directory_configure_gets_no_cache(tmp_path: Path) -> None:
    staged(tmp_path, "older", seed="newest")
    log = build(tmp_path, "older", None)
    assert "--cache-file" not in log


def test_a_marker_stage_still_leaves_the_directory_the_stages_after_copy(tmp_path: Path) -> None:
    caches = tmp_path / "caches"
    directory = tmp_path / "plugins" / "newest"
    directory.mkdir(parents=True)
    (directory / "NOT-SELECTED").write_text("not selected\n")
    env = {**os.environ, "DLM_CONFIGURE_CACHES": str(caches)}
    subprocess.run(["sh", str(BUILD_SOURCE), str(directory), str(tmp_path / "built")], env=env, check=True)
    assert caches.is_dir() and (tmp_path / "built" / "NOT-SELECTED").exists()
