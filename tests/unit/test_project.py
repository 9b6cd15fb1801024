"""A project's own dlmatrix.toml (or [tool.dlmatrix]): found upward, checked, its plug-ins, its
default selection and its catalog files merged after validation, errors naming the file and key."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
import yaml

from dlmatrix.cli.arguments import Selection
from dlmatrix.cli.main import main
from dlmatrix.config.load import load_matrix
from dlmatrix.config.project import find_project, read_project
from dlmatrix.errors import ConfigError, DlmatrixError
from dlmatrix.model.expectations import expect


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, project: Path) -> Path:
    """A project directory (the working directory) beside a copy of the catalog (DLMATRIX_ROOT)."""
    directory = tmp_path / "mine"
    directory.mkdir()
    monkeypatch.chdir(directory)
    monkeypatch.setenv("DLMATRIX_ROOT", str(project))
    monkeypatch.delenv("DLMATRIX_PROJECT", raising=False)
    return directory


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def yaml_file(path: Path, data: object) -> Path:
    return write(path, yaml.safe_dump(data, sort_keys=False))


def test_the_nearest_file_upward_wins_and_a_pyproject_without_the_table_is_passed_over(here):
    write(here / "dlmatrix.toml", '[select]\nimage = ["debian-*"]\n')
    write(here / "sub" / "pyproject.toml", '[project]\nname = "x"\n')
    found = find_project(here / "sub")
    assert found is not None and found.path == here / "dlmatrix.toml"
    write(
        here / "sub" / "pyproject.toml",
        '[project]\nname = "x"\n[tool.dlmatrix.select]\nimage = ["alpine-*"]\n',
    )
    found = find_project(here / "sub")
    assert found is not None and found.select == {"image": ("alpine-*",)}
    assert found.label.endswith("pyproject.toml [tool.dlmatrix]")


def test_dlmatrix_project_names_the_file_or_none(here, monkeypatch):
    write(here / "dlmatrix.toml", '[select]\nimage = ["debian-*"]\n')
    other = write(here / "elsewhere.toml", '[select]\nimage = ["alpine-*"]\n')
    monkeypatch.setenv("DLMATRIX_PROJECT", "none")
    assert find_project() is None
    monkeypatch.setenv("DLMATRIX_PROJECT", str(other))
    assert find_project().select == {"image": ("alpine-*",)}  # type: ignore[union-attr]
    monkeypatch.setenv("DLMATRIX_PROJECT", str(here / "missing.toml"))
    with pytest.raises(DlmatrixError, match="no such file"):
        find_project()


@pytest.mark.parametrize(
    ("text", "key", "said"),
    [
        ("[select\n", "(syntax)", "not valid TOML"),
        ('[select]\nimag = ["x"]\n', "select", "'imag' was unexpected"),
        ('[select]\nimage = "debian-*"\n', "select.image", "is not of type 'array'"),
        ('runtime = ["x"]\n', "(top level)", "'runtime' was unexpected"),
        ('[catalog]\nexpectations = [""]\n', "catalog.expectations[0]", "should be non-empty"),
    ],
)
def test_a_bad_file_is_refused_naming_the_file_and_key(here, text, key, said):
    write(here / "dlmatrix.toml", text)
    with pytest.raises(ConfigError) as raised:
        find_project()
    assert raised.value.cause.startswith(f"dlmatrix.toml: {key}: ")
    assert said in raised.value.cause
    assert raised.value.fix


def test_an_unknown_key_is_answered_with_the_allowed_ones(here):
    write(here / "dlmatrix.toml", '[select]\nimag = ["x"]\n')
    with pytest.raises(ConfigError) as raised:
        find_project()
    assert "skip-image" in raised.value.fix


def test_paths_are_relative_to_the_file_and_must_exist(here):
    write(here / "plugins" / "x" / "keep", "")
    project = read_project(write(here / "dlmatrix.toml", 'runtimes = ["plugins"]\n'))
    assert project is not None and project.runtimes == (here / "plugins",)
    write(here / "dlmatrix.toml", 'runtimes = ["plugins", "nowhere"]\n')
    with pytest.raises(DlmatrixError, match=r"dlmatrix.toml: runtimes\[1\]: 'nowhere' is no directory"):
        find_project()
    write(here / "dlmatrix.toml", '[catalog]\nimages = ["images.yaml"]\n')
    with pytest.raises(DlmatrixError, match=r"catalog.images\[0\]: 'images.yaml' is no file"):
        find_project()


def test_command_line_includes_replace_the_files_and_excludes_add_to_them(here):
    write(here / "dlmatrix.toml", '[select]\nimage = ["debian-*"]\nskip-runtime = ["lttng-*"]\n')
    project = find_project()
    assert Selection().under(project) == Selection(image=("debian-*",), skip_runtime=("lttng-*",))
    given = Selection(image=("alpine-*",), skip_runtime=("pinned",))
    assert given.under(project) == Selection(image=("alpine-*",), skip_runtime=("lttng-*", "pinned"))
    assert given.under(None) == given
    planned = Selection().under(project)  # plan writes the file's globs into each run's command line
    assert planned.under(project) == planned


def test_the_project_selection_applies_to_list(here, capsys):
    write(here / "dlmatrix.toml", '[select]\nimage = ["debian-bookworm-musl"]\nscenario = ["reopen"]\n')
    assert main(["list", "--runtime", "pinned"]) == 0
    out = capsys.readouterr().out
    assert "debian-bookworm-musl" in out and "reopen" in out
    assert "debian-bookworm-glibc" not in out and "app-dlopen-dlclose" not in out


def test_catalog_files_extend_the_catalog(here, project):
    scenario = yaml.safe_load((project / "matrix" / "scenarios.yaml").read_text())["scenarios"][0]
    yaml_file(here / "scenarios.yaml", {"scenarios": [{**scenario, "name": "my-scenario"}]})
    rule = {
        "scenario": "app-dlopen-dlclose",
        "runtime": "unpinned",
        "libc": "glibc",
        "outcome": "pass",
        "reason": "this project's glibc keeps it mapped",
    }
    yaml_file(here / "expectations.yaml", {"expectations": [rule]})
    image = {"name": "my-bookworm", "template": "apt-glibc", "base": "debian:bookworm", "libc": "glibc"}
    yaml_file(here / "images.yaml", {"images": [image]})
    write(
        here / "dlmatrix.toml",
        '[catalog]\nscenarios = ["scenarios.yaml"]\nexpectations = ["expectations.yaml"]\n'
        'images = ["images.yaml"]\n',
    )
    matrix = load_matrix(project=find_project())
    assert "my-scenario" in [s.name for s in matrix.scenarios]
    assert matrix.image("my-bookworm").template == "apt-glibc"
    assert matrix.project == here / "dlmatrix.toml"
    # the project's rule comes before the catalog's, which declares a crash there
    assert expect(matrix.rules, "app-dlopen-dlclose", "unpinned", "glibc", "2.36").outcome == "pass"
    assert expect(load_matrix().rules, "app-dlopen-dlclose", "unpinned", "glibc", "2.36").outcome != "pass"


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("images", {"images": [{"name": "debian-bookworm-glibc", "template": "apt-glibc",
                                "base": "debian:bookworm", "libc": "glibc"}]},
         "images[0].name: 'debian-bookworm-glibc' is declared already"),
        ("images", {"images": [{"name": "x", "template": "nope", "base": "debian:bookworm",
                                "libc": "glibc"}]},
         "images[0].template: no template dockerfiles/templates/nope.Dockerfile.j2"),
        ("images", {"images": [{"name": "x", "template": "apt-glibc", "base": "debian:bookworm",
                                "libc": "glibc", "arch": "vax"}]},
         "images[0].arch: 'vax' is not in matrix/architectures.yaml"),
        ("expectations", {"expectations": [{"scenario": "no-such-*", "runtime": "*", "libc": "glibc",
                                            "outcome": "pass", "reason": "r"}]},
         "expectations[0].scenario: 'no-such-*' matches no declared scenario"),
        ("expectations", {"expectations": [{"scenario": "*", "runtime": "*", "libc": "glibc",
                                            "outcome": "explode", "reason": "r"}]},
         "expectations[0].outcome"),
        ("scenarios", {"scenarios": [{"name": "s", "description": "d", "steps": ["bogus-step"]}]},
         "scenarios[0].steps[0]"),
    ],
)  # fmt: skip
def test_a_bad_catalog_file_is_refused_naming_it_and_the_key(here, name, content, said):
    yaml_file(here / "more" / f"{name}.yaml", content)
    write(here / "dlmatrix.toml", f'[catalog]\n{name} = ["more/{name}.yaml"]\n')
    with pytest.raises(ConfigError) as raised:
        load_matrix(project=find_project())
    assert raised.value.cause.startswith(f"more/{name}.yaml (catalog.{name} of dlmatrix.toml): ")
    assert said in raised.value.cause


def test_the_projects_plug_ins_are_loaded(here, capsys):
    assert main(["new-runtime", "mylib", "--into", str(here / "plugins")]) == 0
    capsys.readouterr()
    assert main(["list", "--runtime", "mylib", "--image", "debian-bookworm-glibc"]) == 0
    assert "mylib" not in capsys.readouterr().out
    write(here / "dlmatrix.toml", 'runtimes = ["plugins"]\n')
    assert main(["list", "--runtime", "mylib", "--image", "debian-bookworm-glibc"]) == 0
    assert "mylib" in capsys.readouterr().out


def test_render_into_a_directory_renders_and_checks_the_projects_plug_ins_the_committed_ones_not(
    here, project, capsys
):
    plugin = here / "plugins" / "mylibuv"
    shutil.copytree(project / "matrix" / "runtimes" / "libuv", plugin)
    text = (plugin / "runtime.yaml").read_text()
    (plugin / "runtime.yaml").write_text(text.replace("name: libuv", "name: mylibuv"))
    write(here / "dlmatrix.toml", 'runtimes = ["plugins"]\n')
    committed = (project / "dockerfiles" / "debian-bookworm-glibc" / "Dockerfile").read_text()
    assert main(["render", "--into", "out"]) == 0
    assert "mylibuv" in (here / "out" / "debian-bookworm-glibc" / "Dockerfile").read_text()
    assert main(["render", "--check", "--into", "out"]) == 0  # checked against what it rendered
    assert main(["render"]) == 0 and main(["render", "--check"]) == 0
    assert (project / "dockerfiles" / "debian-bookworm-glibc" / "Dockerfile").read_text() == committed
