"""What `dlmatrix init` writes, built and run natively: the fixture library (tests/fixtures/
detached-lib) as a maintainer's repository, init's plug-in with its TODOs filled in (the fixture's
provider, its wake), on this host's glibc and musl. The plug-in lives inside the tree it builds."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from dlmatrix.cli.main import main
from tests.conftest import REPO, Recorder

pytestmark = pytest.mark.native
FIXTURE = REPO / "tests" / "fixtures"


def test_the_plugin_init_writes_builds_the_repository_and_runs(tmp_path, monkeypatch):
    repo = tmp_path / "mylib"
    shutil.copytree(FIXTURE / "detached-lib", repo)
    for command in (
        ["init", "-q"],
        ["add", "."],
        ["-c", "user.name=t", "-c", "user.email=t@e.org", "commit", "-qm", "l"],
    ):
        subprocess.run(["git", *command], cwd=repo, check=True, capture_output=True)
    monkeypatch.chdir(repo)
    monkeypatch.setenv("DLMATRIX_ROOT", str(REPO))  # the catalog, from outside the checkout
    monkeypatch.setenv("DLMATRIX_PROJECT", "none")  # --runtimes below, once, whether or not it is read
    assert main(["init", "--ci", "none"], log=Recorder()) == 0
    # the maintainer's part: the provider, and the wait for a thread that wakes on its own
    shutil.copy(FIXTURE / "detached-plugin" / "provider.c", repo / ".dlmatrix" / "provider.c")
    plugin = yaml.safe_load((repo / ".dlmatrix" / "runtime.yaml").read_text())
    plugin |= {
        "starts": "its constructor",
        "wake": {"sleep_ms": 100},
        "scenarios": ["app-linked", "app-dlopen-dlclose"],
    }
    (repo / ".dlmatrix" / "runtime.yaml").write_text(yaml.safe_dump(plugin))

    out = tmp_path / "report"
    log = Recorder()
    code = main(
        ["run", "--backend", "host", "--out", str(out), "--runtimes", ".dlmatrix", "--runtime", "detached"],
        log=log,
    )
    cells = json.loads((out / "results.json").read_text())["cells"]
    assert code in (0, 1), log.messages()
    assert {(c["image"], c["scenario"]) for c in cells} == {
        (image, scenario) for image in ("host-glibc", "host-musl") for scenario in plugin["scenarios"]
    }
    for cell in cells:
        assert cell["verdict"] not in ("build-error", "error", "skipped"), cell
        assert cell["evidence"]["elf_soname"] == "libdetached.so.1", cell["evidence"]
        assert cell["evidence"]["source"] == "path:mylib", cell["evidence"]["source"]  # the repository
    # musl unloads nothing: the library is still mapped after the provider's dlclose()
    [musl] = [c for c in cells if c["image"] == "host-musl" and c["scenario"] == "app-dlopen-dlclose"]
    assert musl["outcome"] == "pass" and musl["evidence"]["mapped@after-close"] in (True, "true", "1")
