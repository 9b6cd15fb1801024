"""A tier whose prerequisite is missing fails in CI or where DLMATRIX_REQUIRE names it, and skips,
loudly, elsewhere: conftest's `missing`, run by pytest in a child process on a tiny test module
whose three tiers all lack their prerequisite (the Docker engine's socket is nowhere, so it
fails fast and needs no engine)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO

MODULE = """
import pytest

from tests.conftest import need


def test_docker(engine):
    pass


@pytest.mark.needs("browser", False, "no browser here", "install one")
def test_browser():
    pass


def test_native():
    need("native", None, "no compiler here", "install one")
"""
NOWHERE = "unix:///nonexistent/dlmatrix-test.sock"
PYTEST = [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider", "-v", "-rs"]


def run_tiers(tmp_path, **env: str) -> tuple[int, dict[str, str], str]:
    """pytest's exit code, each test's end (PASSED, SKIPPED, FAILED, ERROR), and its output."""
    module = tmp_path / "test_tiny.py"
    module.write_text(MODULE)
    clean = {k: v for k, v in os.environ.items() if k not in ("CI", "DLMATRIX_REQUIRE", "PYTEST_ADDOPTS")}
    done = subprocess.run(
        [*PYTEST, module],
        cwd=REPO, env={**clean, "DOCKER_HOST": NOWHERE, **env}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    ends = dict(re.findall(r"::test_(\w+) (PASSED|SKIPPED|FAILED|ERROR)", done.stdout))
    return done.returncode, ends, done.stdout + done.stderr


def test_outside_ci_every_missing_prerequisite_skips_and_the_summary_says_so(tmp_path):
    code, ends, out = run_tiers(tmp_path, CI="false")
    assert code == 0, out
    assert ends == {"docker": "SKIPPED", "browser": "SKIPPED", "native": "SKIPPED"}, out
    assert "TESTS SKIPPED, MISSING PREREQUISITE: browser, docker, native" in out
    assert "MISSING PREREQUISITE native: no compiler here; fix: install one" in out


@pytest.mark.parametrize("env", [{"CI": "true"}, {"DLMATRIX_REQUIRE": "all"}])
def test_in_ci_every_missing_prerequisite_fails_naming_it_and_the_fix(tmp_path, env):
    code, ends, out = run_tiers(tmp_path, **env)
    assert code == 1, out
    assert ends == {"docker": "ERROR", "browser": "ERROR", "native": "FAILED"}, out
    [why] = env.items()
    assert f"(required here, {why[0]}={why[1]}: this tier never skips)" in out
    assert re.search(r"MISSING PREREQUISITE docker: .*[Dd]ocker.*; fix: ", out), out  # the engine's own words
    assert "MISSING PREREQUISITE browser: no browser here; fix: install one" in out


def test_dlmatrix_require_fails_only_the_tiers_it_names(tmp_path):
    code, ends, out = run_tiers(tmp_path, DLMATRIX_REQUIRE="browser, native")
    assert code == 1, out
    assert ends == {"docker": "SKIPPED", "browser": "ERROR", "native": "FAILED"}, out


def test_a_misspelt_tier_is_refused_rather_than_required_by_nobody(tmp_path):
    code, ends, out = run_tiers(tmp_path, DLMATRIX_REQUIRE="dokcer")
    assert code == pytest.ExitCode.USAGE_ERROR and ends == {}, out
    assert "DLMATRIX_REQUIRE names dokcer, which no tier needs" in out and "docker, native" in out
