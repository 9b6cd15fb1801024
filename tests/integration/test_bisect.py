"""`dlmatrix bisect` end to end in one image: a git repository made here of the fixture library
(tests/fixtures/detached-lib, built with make), whose history pins itself at one commit (its
constructor dlopen()s its own soname with RTLD_NODELETE from then on). Two commits around the pin
do not build on their own, and the plug-in declares the later fix as a fix-up, so both are built
again with it; the bisect names the pin, and ends that do not differ are refused.

Where no engine answers, or the CLI has no BuildKit, it fails in CI and skips loudly elsewhere
(conftest's `missing`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from dlmatrix.backends.oci.engine import Engine
from dlmatrix.cli.main import main
from tests.conftest import REPO, need

pytestmark = pytest.mark.docker
FIXTURE = REPO / "tests" / "fixtures"
GLIBC = "debian-bookworm-glibc"
PIN = """
#define _GNU_SOURCE
#include <dlfcn.h>

/* the seed's fix: nothing unloads the library once its constructor ran */
__attribute__((constructor)) static void pin(void)
{
	dlopen("libdetached.so.1", RTLD_LAZY | RTLD_NODELETE);
}
"""


def git(cwd: Path, *args: str) -> str:
    who = ["-c", "user.name=t", "-c", "user.email=t@example.org"]
    done = subprocess.run(["git", *who, *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def history(top: Path) -> dict[str, str]:
    """v1 (no pin), a commit that breaks the build, the pin (still broken), the fix, v2."""
    repo = top / "repo"
    shutil.copytree(FIXTURE / "detached-lib", repo)
    git(repo, "init", "-q", "-b", "main")
    # a tree of its own, so that each commit is built here, not found in the engine's cache
    (repo / "VERSION").write_text(f"1.0 {uuid.uuid4()}\n")
    made = {"v1": commit(repo, "libdetached")}
    git(repo, "tag", "v1")
    beat = repo / "beat.c"
    beat.write_text(beat.read_text() + "int detached_broken = ;\n")
    made["broken"] = commit(repo, "Count beats (does not build)")
    (repo / "pin.c").write_text(PIN)
    makefile = repo / "Makefile"
    makefile.write_text(
        makefile.read_text().replace("OBJECTS = detached.o beat.o", "OBJECTS = detached.o beat.o pin.o")
    )
    made["pin"] = commit(repo, "dlopen() libdetached.so.1 from a constructor to prevent unloading")
    beat.write_text(beat.read_text().replace("int detached_broken = ;\n", ""))
    made["fix"] = commit(repo, "Fix the build of beat.c")
    (top / "fix.patch").write_text(git(repo, "format-patch", "-1", "--stdout", "HEAD") + "\n")
    (repo / "NEWS").write_text("2.0\n")
    made["v2"] = commit(repo, "Release 2.0")
    git(repo, "tag", "v2")
    return made


def plugin(top: Path, first: str) -> Path:
    """The fixture plug-in built from the repository's first commit, with the fix as a fix-up."""
    directory = top / "plugin"
    shutil.copytree(FIXTURE / "detached-plugin", directory)
    yaml = directory / "runtime.yaml"
    source = f"source:\n  git: {{repository: ../repo, commit: {first}}}\n  fixups: [../fix.patch]\n"
    yaml.write_text(yaml.read_text().replace("source:\n  path: ../detached-lib\n", source))
    return directory


def bisect(top: Path, old: str, new: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(
        ["bisect", "--runtimes", str(top / "plugin"), "--runtime", "detached", "--old", old, "--new", new,
         "--image", GLIBC, "--scenario", "app-dlopen-dlclose", "--json", "--out", str(top / "out")]
    )  # fmt: skip
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def top(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    need("buildkit", engine.buildkit, "the docker CLI builds without BuildKit", "bash .ci/buildx")
    top = tmp_path_factory.mktemp("bisect")
    made = history(top)
    plugin(top, made["v1"])
    return top, made


def test_the_bisect_names_the_commit_that_pins_the_library(
    top: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    directory, made = top
    code, out, err = bisect(directory, "v1", "v2", capsys)
    assert code == 0, err
    document = json.loads(out)
    assert document["first"] == {
        "commit": made["pin"],
        "subject": git(directory / "repo", "log", "-1", "--format=%s", made["pin"]),
    }
    steps = {(s["commit"], s["role"]): s for s in document["steps"]}
    assert steps[(made["v1"], "old end")]["outcome"] == "crash:SIGSEGV"
    assert steps[(made["v2"], "new end")]["outcome"] == "pass"
    tried = {s["commit"]: s for s in document["steps"] if s["role"].startswith("step")}
    assert set(tried) == {made["broken"], made["pin"]}  # halving: the middle, then its left
    assert tried[made["pin"]]["fixups"] == ["fix.patch"] and tried[made["pin"]]["side"] == "new"
    assert tried[made["broken"]]["fixups"] == ["fix.patch"] and tried[made["broken"]]["side"] == "old"
    assert "did not build; again with fix.patch" in err
    assert {s["build"] for s in document["steps"]} == {"built"}  # each commit's image built by this bisect
    assert document["builds"] == 6  # the ends, and the two steps twice: without the fix-up, then with it
    assert json.loads((directory / "out" / "bisect.json").read_text())["first"] == document["first"]
    assert made["pin"][:8] in (directory / "out" / "bisect.html").read_text()


def test_ends_with_the_same_outcome_are_refused(
    top: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    directory, made = top
    code, _, err = bisect(directory, "v1", made["broken"], capsys)
    assert code == 2
    assert "end the same in every image" in err and "crash:SIGSEGV x1 at both" in err
    assert "building:" not in err  # both ends' images were built by the bisect before: cached
