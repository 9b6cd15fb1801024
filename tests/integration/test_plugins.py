"""A runtime plug-in added from outside the repository, exactly as docs/runtimes.md tells a new user:
`dlmatrix new-runtime`, the runtime.yaml and provider.c printed in the docs, `dlmatrix run --runtimes`,
`dlmatrix explain`.  Beside it, three bad plug-ins that must cost only their own cells.

Skipped, loudly (see conftest's summary), only where no engine answers.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dlmatrix.backends.oci.engine import Engine
from tests.conftest import REPO

pytestmark = pytest.mark.docker
IMAGE = "debian-bookworm-glibc"


def docs_block(language: str, section: str = "## A library from packages") -> str:
    """The first fenced block of that language in that section of docs/runtimes.md: what its
    example has a user write."""
    text = (REPO / "docs" / "runtimes.md").read_text()
    assert section in text, f"docs/runtimes.md has no section {section!r}"
    found = re.search(rf"```{language}\n(.*?)```", text[text.index(section) :], re.S)
    assert found, f"docs/runtimes.md has no {language} block"
    return found.group(1)


def dlmatrix(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dlmatrix", *args], cwd=cwd, capture_output=True, text=True, timeout=1800
    )


def walkthrough_with(directory: Path, packages: str) -> None:
    """The docs' walkthrough plug-in, named after directory, its packages line replaced."""
    directory.mkdir()
    yaml = docs_block("yaml").replace("name: my-openmp", f"name: {directory.name}")
    (directory / "runtime.yaml").write_text(yaml.replace("apt: [libgomp1]", packages))
    (directory / "provider.c").write_text(docs_block("c"))


@pytest.fixture(scope="module")
def run(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    plugins = tmp_path_factory.mktemp("plugins")
    made = dlmatrix("new-runtime", "my-openmp", "--into", str(plugins))
    assert made.returncode == 0, made.stderr
    mine = plugins / "my-openmp"
    (mine / "runtime.yaml").write_text(docs_block("yaml"))
    (mine / "provider.c").write_text(docs_block("c"))
    # a provider that does not compile
    broken = plugins / "my-broken-build"
    broken.mkdir()
    (broken / "runtime.yaml").write_text(
        docs_block("yaml").replace("name: my-openmp", "name: my-broken-build").replace("[libgomp1]", "[]")
    )
    (broken / "provider.c").write_text("int dlm_provider_fire(void) { return undeclared_name; }\n")
    walkthrough_with(plugins / "my-yum", "yum: [libgomp]")  # a package manager that does not exist
    # a package the archive does not have: the image installs every plug-in's packages at once,
    # then, that failing, each plug-in's own (my-openmp's libgomp1 still installs)
    walkthrough_with(plugins / "my-absent-package", "apt: [dlmatrix-no-such-package]")
    out = tmp_path_factory.mktemp("out")
    ran = dlmatrix(
        "run", "--backend", "docker", "--image", IMAGE, "--runtimes", str(plugins),
        "--runtime", "my-*", "--scenario", "app-*", "--out", str(out),
    )  # fmt: skip
    results = json.loads((out / "results.json").read_text())
    return {"process": ran, "out": out, "cells": {(c["runtime"], c["scenario"]): c for c in results["cells"]}}


def test_the_walkthrough_runtime_has_its_cells_with_evidence(run: dict[str, Any]) -> None:
    cells = run["cells"]
    linked, seed = cells[("my-openmp", "app-linked")], cells[("my-openmp", "app-dlopen-dlclose")]
    assert (linked["outcome"], linked["verdict"]) == ("pass", "ok")
    assert (seed["outcome"], seed["signal"], seed["verdict"]) == ("crash", "SIGSEGV", "ok")
    assert seed["family"] == "library"
    assert seed["evidence"]["elf_soname"] == "libgomp.so.1"
    assert seed["evidence"]["package"].startswith("libgomp1 12.")
    assert seed["evidence"]["elf_nodelete"] is False
    # the loader's account: the provider's dlclose() finalized libgomp to unload it (the line
    # glibc logs after the munmap can be lost when a libgomp thread faults first)
    close = next(step for step in seed["loader"]["steps"] if step["step"] == "close:a")
    assert "libgomp.so.1" in close["fini"]
    assert "LD_DEBUG" not in seed["stderr"] and "calling fini" not in seed["stderr"]


def test_bad_plugins_cost_only_their_own_cells(run: dict[str, Any]) -> None:
    cells = run["cells"]
    build = cells[("my-broken-build", "app-dlopen-dlclose")]
    assert build["outcome"] == "build-error"
    assert "undeclared_name" in build["stderr"]
    yum = cells[("my-yum", "app-dlopen-dlclose")]
    assert yum["outcome"] == "build-error"
    assert "packages" in yum["stderr"] and "'yum'" in yum["stderr"] and "apt, apk or dnf" in yum["stderr"]
    absent = cells[("my-absent-package", "app-dlopen-dlclose")]
    assert absent["outcome"] == "build-error"
    assert "Unable to locate package dlmatrix-no-such-package" in absent["stderr"]
    assert "runtime my-yum cannot be used" in run["process"].stderr
    assert run["process"].returncode == 1  # build errors are unexpected: the run says so, and ran the rest


def test_explain_prints_the_cell_as_the_docs_say(run: dict[str, Any]) -> None:
    shown = dlmatrix("explain", f"{IMAGE}/app-dlopen-dlclose/my-openmp", "--results", str(run["out"]))
    assert shown.returncode == 0, shown.stderr
    for words in (
        "crash SIGSEGV",
        "DF_1_NODELETE: no",
        "package: libgomp1",
        "close:a: fini",
    ):
        assert words in shown.stdout
    assert "libgomp.so.1: unmapped at close:a" in shown.stdout or (
        "libgomp.so.1: finalized for unloading at close:a" in shown.stdout
    )
    missing = dlmatrix("explain", f"{IMAGE}/no-such-scenario/my-openmp", "--results", str(run["out"]))
    assert missing.returncode == 2 and "no cell of these results matches" in missing.stderr
