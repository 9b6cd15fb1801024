"""The CI files run for real, in a repository that `dlmatrix init` prepared, on one model cell so
that each takes a minute (their own commands are under test, not the matrix). The GitHub Action
(action.yml) as GitHub runs it: each `run:` step's script with bash, its expressions replaced by
the values GitHub would give, $GITHUB_OUTPUT, $GITHUB_ENV and $GITHUB_PATH carried between steps;
the steps that use other actions (setup-python, cache, upload-artifact) checked for their inputs
only. The GitLab template's job as a shell executor runs it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from dlmatrix.cli.main import main
from dlmatrix.runtimes.build import source_files
from tests.conftest import REPO

pytestmark = pytest.mark.docker

ACTION = REPO / "action.yml"
EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")
# the inputs of the actions it uses (their action.yml), so that a misspelt one fails here
USED_INPUTS = {
    "actions/setup-python": {"python-version", "python-version-file", "cache", "architecture"},
    "actions/cache/restore": {"path", "key", "restore-keys", "fail-on-cache-miss", "lookup-only"},
    "actions/cache/save": {"path", "key", "upload-chunk-size"},
    "actions/upload-artifact": {"name", "path", "if-no-files-found", "retention-days", "overwrite"},
}
SELECTION = "--runtime unpinned --scenario app-dlopen-dlclose"
IMAGE = "debian-bookworm-musl"


@dataclass
class Runner:
    """What GitHub gives a composite action's steps: its contexts, and the files steps write to."""

    workspace: Path
    temp: Path
    inputs: dict[str, str]
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)  # step id -> its outputs
    env: dict[str, str] = field(default_factory=dict)  # from $GITHUB_ENV
    path: list[str] = field(default_factory=list)  # from $GITHUB_PATH, the last first

    def value(self, expression: str) -> str:
        context = {
            "github.action_path": str(REPO),
            "github.sha": "0" * 40,
            "runner.temp": str(self.temp),
            "runner.os": "Linux",
            "runner.arch": "X64",
        }
        if expression in context:
            return context[expression]
        if expression.startswith("inputs."):
            return self.inputs[expression.removeprefix("inputs.")]
        step = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expression)
        if step:
            return self.outputs.get(step.group(1), {}).get(step.group(2), "")
        raise AssertionError(f"action.yml uses ${{{{ {expression} }}}}, which this test cannot give")

    def substitute(self, text: str) -> str:
        return EXPRESSION.sub(lambda match: self.value(match.group(1)), text)

    def run(self, number: int, step: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        assert "if" not in step, f"step {number}: a run step with `if:` needs this test to evaluate it"
        assert step["shell"] == "bash", step
        files = {name: self.temp / f"step-{number}.{name}" for name in ("output", "env", "path", "summary")}
        for file in files.values():
            file.write_text("")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DLMATRIX_ROOT", "DLMATRIX_PROJECT"))}
        env |= self.env | {k: self.substitute(str(v)) for k, v in step.get("env", {}).items()}
        env |= {
            "GITHUB_OUTPUT": str(files["output"]),
            "GITHUB_ENV": str(files["env"]),
            "GITHUB_PATH": str(files["path"]),
            "GITHUB_STEP_SUMMARY": str(files["summary"]),
            "RUNNER_TEMP": str(self.temp),
            "PATH": os.pathsep.join([*self.path, env["PATH"]]),
        }
        script = self.temp / f"step-{number}.sh"
        script.write_text(self.substitute(step["run"]))
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=self.workspace, env=env, capture_output=True, text=True, timeout=1800,
        )  # fmt: skip
        self.outputs[step.get("id", str(number))] = dict(pairs(files["output"]))
        self.env |= dict(pairs(files["env"]))
        self.path = [line for line in files["path"].read_text().splitlines()[::-1] if line] + self.path
        return done


def pairs(file: Path) -> list[tuple[str, str]]:
    """The name=value lines a step wrote to one of GitHub's files."""
    return [
        (name, value) for name, _, value in (line.partition("=") for line in file.read_text().splitlines())
    ]


def check_uses(runner: Runner, step: dict[str, Any]) -> None:
    """A step that uses another action: known inputs, each expression one this test can give."""
    action = step["uses"].split("@")[0]
    assert action in USED_INPUTS, f"{action}: add its inputs to USED_INPUTS"
    assert set(step.get("with", {})) <= USED_INPUTS[action], (action, step["with"])
    for value in step.get("with", {}).values():
        runner.substitute(str(value))
    for name in re.findall(r"inputs\.([\w-]+)", step.get("if", "")):
        assert name in runner.inputs, (action, name)


def run_action(runner: Runner) -> list[tuple[str, subprocess.CompletedProcess[str]]]:
    steps = yaml.safe_load(ACTION.read_text())["runs"]["steps"]
    ran = []
    for number, step in enumerate(steps):
        if "uses" in step:
            check_uses(runner, step)
            continue
        done = runner.run(number, step)
        ran.append((step.get("name", str(number)), done))
        if done.returncode != 0:
            break
    return ran


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A library's repository (the fixture library, built with make) after `dlmatrix init`, without
    the project file, so that the plug-in comes in through the action's runtimes input."""
    repo = tmp_path / "mylib"
    shutil.copytree(REPO / "tests" / "fixtures" / "detached-lib", repo)
    cwd = Path.cwd()
    os.chdir(repo)
    try:
        assert main(["init", "--ci", "github"]) == 0
    finally:
        os.chdir(cwd)
    (repo / "dlmatrix.toml").unlink()
    for command in (
        ["init", "-q"],
        ["add", "."],
        ["-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "lib"],
    ):
        subprocess.run(["git", *command], cwd=repo, check=True, capture_output=True)
    return repo


def tar_tags(tar: Path) -> set[str]:
    """The image tags a `docker save` tar holds (its manifest.json)."""
    names = subprocess.run(
        ["tar", "-xOf", str(tar), "manifest.json"], capture_output=True, text=True, check=True
    )
    return {tag for entry in json.loads(names.stdout) for tag in entry["RepoTags"]}


def staged(repository: Path) -> set[str]:
    """What a source `path:` of the repository copies (the library's tree, not dlmatrix's files)."""
    return {path.as_posix() for path in source_files(repository)}


def test_the_action_runs_dlmatrix_and_reports_its_exit_code(repository, tmp_path):
    action = yaml.safe_load(ACTION.read_text())
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    inputs |= {"runtimes": ".dlmatrix", "images": IMAGE, "args": SELECTION, "out": "report"}
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    runner = Runner(repository, temp, inputs)
    ran = run_action(runner)
    failed = [(name, done.stdout[-3000:], done.stderr[-3000:]) for name, done in ran if done.returncode]
    assert not failed, failed
    assert [name for name, _ in ran][-1] == "the verdict"

    # the exit code, the report and the results are outputs; the summary went to the job's page
    outputs = runner.outputs["run"]
    assert outputs["exit-code"] == "0", ran
    assert outputs["report"] == str(repository / "report" / "index.html")
    assert Path(outputs["report"]).is_file()
    results = json.loads(Path(outputs["results"]).read_text())
    cells = results["cells"]
    assert {(c["image"], c["scenario"], c["runtime"]) for c in cells} == {
        (IMAGE, "app-dlopen-dlclose", "unpinned")
    }
    run = dict(ran)["dlmatrix run"]
    assert f"--runtimes .dlmatrix --image {IMAGE} --arch native {SELECTION}" in run.stdout, run.stdout
    assert "cannot be used" not in run.stdout + run.stderr  # init's plug-in loaded, though not selected
    assert (repository / "report" / "results.json").is_file()
    assert not any(path.startswith("report/") for path in staged(repository)), staged(repository)

    # the images were kept: the image it ran and its base, in one tar under the key's directory
    saved = runner.outputs["save"]
    assert saved["changed"] == "true" and saved["key"].startswith("dlmatrix-images-Linux-X64-1-")
    kept = temp / "dlmatrix-images" / "images.tar"
    tags = tar_tags(kept)
    assert tags == {results["run"]["images"][IMAGE], "dlmatrix-base/debian:bookworm"}, tags

    # the next run restores that key: it loads the tar and saves nothing new
    runner.outputs = {"restore": {"cache-matched-key": saved["key"]}}
    again = run_action(runner)
    assert not [name for name, done in again if done.returncode], again
    load = dict(again)["load the images of the last run"]
    assert f"image: {results['run']['images'][IMAGE]}\n" in load.stdout, load.stdout
    assert "MISSING" not in load.stdout and "loaded in" in load.stdout
    assert runner.outputs["save"] == {"changed": "false"}
    assert "nothing to save" in dict(again)["keep the images for the next run"].stdout
    assert (repository / ".git" / "info" / "exclude").read_text().count("/report/") == 1

    # cache: bases keeps the base alone, under a key of its own
    steps = yaml.safe_load(ACTION.read_text())["runs"]["steps"]
    [(number, save)] = [(n, step) for n, step in enumerate(steps) if step.get("id") == "save"]
    runner.inputs["cache"] = "bases"
    done = runner.run(number, save)
    assert done.returncode == 0 and runner.outputs["save"]["changed"] == "true", done.stdout + done.stderr
    assert runner.outputs["save"]["key"] != saved["key"]
    assert tar_tags(kept) == {"dlmatrix-base/debian:bookworm"}


GITLAB_TEMPLATE = REPO / "ci" / "gitlab" / "dlmatrix.gitlab-ci.yml"


def gitlab_job(repository: Path, variables: dict[str, str], part: str) -> subprocess.CompletedProcess[str]:
    """One part of the template's job (before_script and script, or after_script: GitLab runs it in
    a shell of its own) with bash, as a shell executor would, in the project directory."""
    job = yaml.safe_load(GITLAB_TEMPLATE.read_text())[".dlmatrix"]
    lines = job["after_script"] if part == "after" else job["before_script"] + job["script"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DLMATRIX_ROOT", "DLMATRIX_PROJECT"))}
    env |= {k: str(v) for k, v in job["variables"].items()} | variables | {"CI_PROJECT_DIR": str(repository)}
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", "\n".join(lines)],
        cwd=repository, env=env, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip


def test_the_gitlab_template_runs_dlmatrix_and_keeps_the_images(repository, tmp_path):
    variables = {
        "DLMATRIX_VERSION": str(REPO),
        "DLMATRIX_VENV": str(tmp_path / "venv"),
        "DLMATRIX_RUNTIMES": ".dlmatrix",
        "DLMATRIX_IMAGES": IMAGE,
        "DLMATRIX_ARGS": SELECTION,
        "DLMATRIX_ROOT": str(REPO),  # the catalog: a wheel of this checkout does not carry it
    }
    done = gitlab_job(repository, variables, "script")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"--runtimes .dlmatrix --image {IMAGE} --arch native {SELECTION}" in done.stdout
    report = repository / "dlmatrix-report"
    assert (report / "index.html").is_file() and (report / "junit.xml").is_file()  # the artifacts
    saved = gitlab_job(repository, variables, "after")
    assert saved.returncode == 0, saved.stdout + saved.stderr
    kept = repository / ".dlmatrix-cache" / "images.tar"
    tags = tar_tags(kept)
    ran = json.loads((report / "results.json").read_text())["run"]["images"][IMAGE]
    assert tags == {ran, "dlmatrix-base/debian:bookworm"}, tags
    assert gitlab_job(repository, variables | {"DLMATRIX_CACHE": "bases"}, "after").returncode == 0
    assert tar_tags(kept) == {"dlmatrix-base/debian:bookworm"}
    assert gitlab_job(repository, variables, "after").returncode == 0

    assert not any(p.startswith(("dlmatrix-report/", ".dlmatrix-cache/")) for p in staged(repository))

    # the next job loads the tar; one that ends without results leaves it as it was restored
    shutil.rmtree(report)
    before = kept.stat()
    done = gitlab_job(repository, variables | {"DLMATRIX_ARGS": "--no-such-option"}, "script")
    assert done.returncode == 2 and f"image: {ran}\n" in done.stdout, done.stdout + done.stderr
    assert gitlab_job(repository, variables, "after").returncode == 0
    assert kept.stat().st_mtime_ns == before.st_mtime_ns and kept.stat().st_size == before.st_size
