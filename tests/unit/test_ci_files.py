"""The CI files a library's repository uses: the GitHub Action (action.yml), the workflow and the
GitLab file `dlmatrix init` writes, and the GitLab template; each against its schema (the ones
check-jsonschema vendors, offline) and against each other (inputs, step ids, variables)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from dlmatrix.runtimes.scaffold import ACTION, GITHUB_WORKFLOW, GITLAB_CI, InitRequest, write_init
from tests.conftest import REPO

ACTION_FILE = REPO / "action.yml"
GITLAB_TEMPLATE = REPO / "ci" / "gitlab" / "dlmatrix.gitlab-ci.yml"


def check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    tool = Path(sys.executable).with_name("check-jsonschema")
    return subprocess.run(
        [str(tool), "--builtin-schema", schema, *map(str, files)], capture_output=True, text=True, timeout=120
    )


def action() -> dict[str, Any]:
    data = yaml.safe_load(ACTION_FILE.read_text())
    assert isinstance(data, dict)
    return data


def test_the_action_follows_the_schema_of_actions():
    checked = check_jsonschema("vendor.github-actions", ACTION_FILE)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert action()["runs"]["using"] == "composite"


def test_the_action_names_only_its_own_inputs_and_earlier_steps():
    data = action()
    text = ACTION_FILE.read_text()
    assert set(re.findall(r"inputs\.([\w-]+)", text)) <= set(data["inputs"])
    seen: set[str] = set()
    for step in data["runs"]["steps"]:
        named = set(re.findall(r"steps\.([\w-]+)\.outputs", yaml.safe_dump(step)))
        assert named <= seen, (step.get("name") or step["uses"], named - seen)
        seen.add(step.get("id", ""))
        if "run" in step:  # inputs reach scripts through env:, never spliced into the script's text
            assert "${{" not in step["run"], step["name"]
    for output in data["outputs"].values():
        [step] = re.findall(r"steps\.([\w-]+)\.outputs", output["value"])
        assert step in seen


def test_the_workflow_init_writes_follows_the_schema_and_the_action(tmp_path):
    write_init(InitRequest(tmp_path, name="mylib"))
    workflow = tmp_path / GITHUB_WORKFLOW
    checked = check_jsonschema("vendor.github-workflows", workflow)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    steps = yaml.safe_load(workflow.read_text())["jobs"]["dlmatrix"]["steps"]
    [uses] = [step for step in steps if step.get("uses") == ACTION]
    assert set(uses["with"]) <= set(action()["inputs"])


def test_the_gitlab_template_and_the_file_init_writes_follow_the_schema(tmp_path):
    write_init(InitRequest(tmp_path, name="mylib", ci="gitlab"))
    checked = check_jsonschema("vendor.gitlab-ci", GITLAB_TEMPLATE, tmp_path / GITLAB_CI)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    job = yaml.safe_load(GITLAB_TEMPLATE.read_text())[".dlmatrix"]
    scripts = "\n".join(job["before_script"] + job["script"] + job["after_script"])
    used = set(re.findall(r"\$\{?(DLMATRIX_[A-Z_]+)", scripts))
    assert used <= set(job["variables"]), used - set(job["variables"])
    assert set(yaml.safe_load((tmp_path / GITLAB_CI).read_text())["dlmatrix"]["variables"]) <= set(
        job["variables"]
    )
    assert job["cache"]["paths"] == [".dlmatrix-cache/"] and "cache export .dlmatrix-cache" in scripts


def test_the_gitlab_template_installs_no_bare_package_name():
    """DLMATRIX_VERSION has no default: a bare `dlmatrix` would install whatever an index serves."""
    job = yaml.safe_load(GITLAB_TEMPLATE.read_text())[".dlmatrix"]
    assert job["variables"]["DLMATRIX_VERSION"] == ""
    [check] = [step for step in job["before_script"] if "DLMATRIX_VERSION is empty" in step]
    empty = subprocess.run(
        ["bash", "-c", check], env={"DLMATRIX_VERSION": ""}, capture_output=True, text=True
    )
    assert empty.returncode == 2 and "fix: set it to the dlmatrix you trust" in empty.stderr
    named = subprocess.run(["bash", "-c", check], env={"DLMATRIX_VERSION": "x.whl"}, capture_output=True)
    assert named.returncode == 0
