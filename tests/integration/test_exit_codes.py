"""The driver's exit codes and a scenario's requires, with the real programs built on this host:
a helper's named cause becomes the driver's exit code (src/c/exits.h), any other failure of a
helper is "helper", and a cell whose scenario needs a program this environment lacks is skipped
without its driver running."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dlmatrix.config.load import load_matrix
from dlmatrix.suite.bundle import catalog_input, write_bundle
from tests.conftest import edit_yaml
from tests.unit.test_exit_codes import c_codes

pytestmark = [
    pytest.mark.native,
    pytest.mark.needs("native", shutil.which("gcc"), "gcc is not installed", "apt-get install gcc libc6-dev"),
]
WARN = ["-Wall", "-Wextra", "-Werror", "-O1"]
CODES = {name: code for name, (code, _) in c_codes().items()}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dlm-suite and dlm-driver built from the bundle, laid out as build.sh does for one variant
    (rt/pinned) that holds only the driver: the tests below run helpers, not the runtime."""
    tmp = tmp_path_factory.mktemp("exits")
    bundle = write_bundle(load_matrix(), tmp / "bundle")
    root = tmp / "root"
    rt = root / "rt" / "pinned"
    for directory in (root / "bin", rt / "bin", rt / "lib"):
        directory.mkdir(parents=True)
    (rt / "env").write_text("")
    suite, driver = sorted((bundle / "suite").glob("*.c")), sorted((bundle / "driver").glob("*.c"))
    subprocess.run(["gcc", *WARN, f"-I{bundle}", "-o", root / "bin" / "dlm-suite", *suite], check=True)
    subprocess.run(
        ["gcc", *WARN, f"-I{bundle}", "-o", rt / "bin" / "dlm-driver", *driver, "-pthread", "-ldl"],
        check=True,
    )
    return root


def helper(root: Path, name: str, body: str) -> None:
    script = root / "rt" / "pinned" / "bin" / name
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)


def drive(root: Path, *steps: str) -> subprocess.CompletedProcess[str]:
    rt = root / "rt" / "pinned"
    env = {**os.environ, "DLM_LIBDIR": str(rt / "lib")}
    return subprocess.run(
        [rt / "bin" / "dlm-driver", *steps], env=env, capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize("cause", ["no-sessiond", "refused", "no-events"])
def test_a_helper_that_names_its_cause_ends_the_driver_with_it(root, cause):
    helper(root, "names-cause", f'echo "@ registered false"\nexit {CODES[cause]}')
    run = drive(root, "run:names-cause", "run:never")
    assert run.returncode == CODES[cause], run.stderr
    assert "@ registered false" in run.stdout  # its evidence is the driver's
    assert f"names-cause exited {CODES[cause]}" in run.stderr


@pytest.mark.parametrize(
    "body", ["exit 1", "exit 3", f"exit {CODES['dlfcn']}", "kill -KILL $$", "exec /nonexistent/program"]
)
def test_any_other_failure_of_a_helper_is_helper_not_a_cause_it_did_not_name(root, body):
    """exit 3 would read as "bound exceeded": a helper's `set -e` passes on whatever its command
    returned, so only the helpers' own codes pass through."""
    helper(root, "fails", body)
    run = drive(root, "run:fails")
    assert run.returncode == CODES["helper"], run.stderr


def test_a_helper_that_succeeds_lets_the_steps_go_on(root):
    helper(root, "succeeds", "exit 0")
    assert drive(root, "run:succeeds", "sleep:1").returncode == CODES["pass"] == 0


def test_a_dlopen_that_fails_is_dlfcn(root):
    run = drive(root, "open:a")  # rt/pinned/lib holds no provider
    assert run.returncode == CODES["dlfcn"] and "dlopen(" in run.stderr


def test_a_scenario_whose_program_is_missing_is_skipped_without_running(root, project, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    helper(root, "mark", f'touch "{marks}/$DLM_MARK"')

    def add(data: dict[str, Any]) -> None:
        for name, needs in (("needs-missing", ["sh", "dlm-no-such-program"]), ("needs-sh", ["sh"])):
            env = {"DLM_MARK": name}
            data["scenarios"].append(
                {"name": name, "description": "d", "requires": needs, "env": env, "steps": ["run:mark"]}
            )

    edit_yaml(project, "scenarios.yaml", add)
    skipped_rule = {"scenario": "needs-missing", "runtime": "*", "libc": "*", "outcome": "skipped"}
    skipped_rule["reason"] = "Not applicable: it needs a program no environment has"
    edit_yaml(project, "expectations.yaml", lambda d: d["expectations"].insert(0, skipped_rule))
    run = subprocess.run(
        [
            root / "bin" / "dlm-suite",
            "--json",
            "--scenario",
            "needs-*",
            "--runtime",
            "pinned",
            "--suite",
            "-",
        ],
        input=catalog_input(load_matrix(project)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    cells = {r["scenario"]: r for r in map(json.loads, run.stdout.splitlines()) if r["type"] == "cell"}
    assert cells["needs-sh"]["result"] == "pass", cells["needs-sh"]
    skipped = cells["needs-missing"]
    assert skipped["result"] == "skipped" and skipped["verdict"] == "skipped"
    assert "not applicable" in skipped["stderr"] and "dlm-no-such-program" in skipped["stderr"]
    assert sorted(p.name for p in marks.iterdir()) == ["needs-sh"]  # the skipped cell's driver never ran
