"""`dlmatrix init` in a library's repository: the build system and soname it guesses from the files,
the files it refuses to overwrite, and a plug-in that the real loader reads (or refuses, naming
the key, while the soname is still a TODO)."""

from __future__ import annotations

import os
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from dlmatrix.cli.main import main
from dlmatrix.config.load import load_matrix
from dlmatrix.config.plugins import plugin_runtime, read
from dlmatrix.errors import DlmatrixError
from dlmatrix.runtimes.guess import build_system, soname
from dlmatrix.runtimes.scaffold import GITHUB_WORKFLOW, GITLAB_CI, InitRequest, write_init
from tests.conftest import REPO, Recorder

FIXTURE_LIB = REPO / "tests" / "fixtures" / "detached-lib"


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Path]:
    """An empty repository, the current directory while the test runs."""
    root = tmp_path / "mylib"
    root.mkdir()
    cwd = Path.cwd()
    os.chdir(root)
    yield root
    os.chdir(cwd)


def files(root: Path, **texts: str) -> Path:
    for name, text in texts.items():
        (root / name.replace("__", ".")).write_text(text)
    return root


@pytest.mark.parametrize(
    ("present", "system"),
    [
        (["configure__ac", "Makefile__am"], "autotools"),
        (["configure", "Makefile"], "autotools"),  # a configured autotools tree
        (["CMakeLists__txt", "Makefile"], "cmake"),  # a tree cmake configured in place
        (["meson__build"], "meson"),
        (["Makefile"], "make"),
        (["GNUmakefile"], "make"),
        (["README"], None),
    ],
)
def test_the_build_system_is_guessed_from_the_files(repo, present, system):
    files(repo, **{name: "" for name in present})
    guess = build_system(repo)
    assert guess.value == system
    assert (present[0].replace("__", ".") in guess.evidence) if system else "CMakeLists.txt" in guess.evidence


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (
            {"Makefile": "lib:\n\t$(CC) -shared -Wl,-soname,libfoo.so.3 -o libfoo.so.3.1 foo.c\n"},
            "libfoo.so.3",
        ),
        (
            {"CMakeLists__txt": "add_library(bar SHARED bar.c)\nset_target_properties(bar SOVERSION 2)\n"},
            "libbar.so.2",
        ),
        ({"CMakeLists__txt": "project(baz C)\nadd_library(${PROJECT_NAME} SHARED baz.c)\n"}, "libbaz.so"),
        (
            {"meson__build": "project('q', 'c')\nshared_library('qux', 'q.c', soversion : '4')\n"},
            "libqux.so.4",
        ),
        (
            {"Makefile__am": "lib_LTLIBRARIES = libzap.la\nlibzap_la_LDFLAGS = -version-info 5:2:3\n"},
            "libzap.so.2",
        ),
        ({"Makefile__am": "lib_LTLIBRARIES = libzap.la\n"}, "libzap.so.0"),
        ({"CMakeLists__txt": "add_library(${NAME} SHARED x.c)\n"}, None),  # needs cmake to know
        ({"Makefile": "SONAME = $(NAME).so.$(MAJOR)\nlib:\n\t$(CC) -Wl,-soname,$(SONAME)\n"}, None),
    ],
)
def test_the_soname_is_guessed_when_a_file_states_it(repo, texts, expected):
    files(repo, **texts)
    assert soname(repo).value == expected


def test_init_writes_a_source_plugin_that_the_loader_reads(repo):
    shutil.copytree(FIXTURE_LIB, repo, dirs_exist_ok=True)
    assert main(["init", "--ci", "github"], log=Recorder()) == 0
    loaded = read(repo, repo / ".dlmatrix")
    assert loaded.problem is None, loaded.problem
    assert loaded.source is not None and Path(loaded.source.location) == repo.resolve()
    assert loaded.source.system == "autotools"  # configure is there
    runtime, rules = plugin_runtime(loaded)
    assert runtime.name == "detached" and runtime.plugin is not None
    assert runtime.plugin.sonames == ("libdetached.so.1",) and runtime.plugin.libs == "-ldetached"
    assert [rule.libc for rule in rules] == ["glibc"]
    # with the catalog: every scenario it names exists, so it is usable in a run
    matrix = load_matrix(REPO, runtime_dirs=[repo / ".dlmatrix"])
    [mine] = [r for r in matrix.runtimes if r.name == "detached"]
    assert mine.problem is None and mine.plugin is not None and mine.plugin.source is not None
    project = tomllib.loads((repo / "dlmatrix.toml").read_text())
    assert project == {"runtimes": [".dlmatrix"], "select": {"runtime": ["detached"]}}
    assert (repo / GITHUB_WORKFLOW).is_file() and not (repo / GITLAB_CI).exists()


def test_without_a_soname_the_loader_names_the_key_to_fill_in(repo):
    files(repo, meson__build="project('nolib', 'c')\n")
    write_init(InitRequest(repo, name="nolib"))
    text = (repo / ".dlmatrix" / "runtime.yaml").read_text()
    assert 'soname: "TODO' in text and "readelf -d" in text
    loaded = read(repo, repo / ".dlmatrix")
    assert loaded.problem is not None
    assert loaded.problem.startswith(".dlmatrix/runtime.yaml: soname: 'TODO"), loaded.problem
    assert "DT_SONAME" in loaded.problem


def test_without_a_build_file_it_writes_a_build_script_to_fill_in(repo):
    files(repo, **{"foo.c": "int foo(void) { return 0; }\n"})
    written = write_init(InitRequest(repo, plugin_dir=Path("ci/dlmatrix"), ci="none"))
    script = repo / "ci" / "dlmatrix" / "build.sh"
    assert script in written and os.access(script, os.X_OK)
    data = yaml.safe_load((repo / "ci" / "dlmatrix" / "runtime.yaml").read_text())
    assert data["source"] == {"path": "../.."} and data["build"]["system"] == "script"
    assert data["build"]["script"] == "build.sh" and data["name"] == "mylib"
    assert not (repo / ".github").exists()
    assert tomllib.loads((repo / "dlmatrix.toml").read_text())["runtimes"] == ["ci/dlmatrix"]
    data["soname"] = "libmylib.so.1"  # once filled in, the script is the source's build
    (repo / "ci" / "dlmatrix" / "runtime.yaml").write_text(yaml.safe_dump(data))
    loaded = read(repo, repo / "ci" / "dlmatrix")
    assert loaded.problem is None and loaded.source is not None
    assert loaded.source.script == str(script.resolve())


def test_the_guess_can_be_overridden(repo):
    files(repo, Makefile="all:\n")
    write_init(InitRequest(repo, build_system="cmake", name="other", ci="gitlab"))
    data = yaml.safe_load((repo / ".dlmatrix" / "runtime.yaml").read_text())
    assert data["build"]["system"] == "cmake" and data["name"] == "other"
    gitlab = yaml.safe_load((repo / GITLAB_CI).read_text())
    assert gitlab["include"][0]["file"] == "ci/gitlab/dlmatrix.gitlab-ci.yml"
    assert gitlab["dlmatrix"]["extends"] == ".dlmatrix"
    assert (REPO / gitlab["include"][0]["file"]).is_file()


def test_init_refuses_to_overwrite_and_writes_nothing(repo, capsys):
    (repo / "dlmatrix.toml").write_text("runtimes = []\n")
    assert main(["init"], log=Recorder()) == 2
    assert not (repo / ".dlmatrix").exists() and not (repo / ".github").exists()
    assert (repo / "dlmatrix.toml").read_text() == "runtimes = []\n"
    with pytest.raises(DlmatrixError, match=r"dlmatrix.toml already exists; nothing was written") as refused:
        write_init(InitRequest(repo))
    assert "--force" in refused.value.fix
    written = write_init(InitRequest(repo, force=True))
    assert repo / "dlmatrix.toml" in written
    assert 'runtimes = [".dlmatrix"]' in (repo / "dlmatrix.toml").read_text()


def test_init_refuses_a_bad_name_and_a_bad_build_system(repo):
    log = Recorder()
    assert main(["init", "--name", "My Lib"], log=log) == 2
    assert "cannot name a runtime" in log.buffer.getvalue()
    assert not (repo / ".dlmatrix").exists()
    with pytest.raises(SystemExit) as exited:
        main(["init", "--build-system", "bazel"])
    assert exited.value.code == 2
    with pytest.raises(DlmatrixError, match="--ci jenkins: unknown"):
        write_init(InitRequest(repo, ci="jenkins"))


def test_a_pipeline_of_your_own_is_kept_and_the_include_suggested(repo):
    (repo / ".gitlab-ci.yml").write_text("test:\n  script: [make check]\n")
    with pytest.raises(DlmatrixError, match=r"\.gitlab-ci\.yml already exists") as refused:
        write_init(InitRequest(repo, ci="gitlab"))
    assert "include ci/gitlab/dlmatrix.gitlab-ci.yml in your .gitlab-ci.yml" in refused.value.fix
    assert (repo / ".gitlab-ci.yml").read_text() == "test:\n  script: [make check]\n"
    assert write_init(InitRequest(repo, ci="none"))  # the plug-in and the project file, no CI file


@pytest.mark.parametrize("into", ["../elsewhere", "ABSOLUTE", "a/../../elsewhere"])
def test_init_refuses_a_plug_in_directory_outside_the_repository(repo, into):
    into = str(repo.parent / "elsewhere") if into == "ABSOLUTE" else into
    log = Recorder()
    assert main(["init", "--into", into], log=log) == 2
    assert "outside the repository" in log.buffer.getvalue()
    assert not (repo.parent / "elsewhere").exists() and not (repo / "dlmatrix.toml").exists()
