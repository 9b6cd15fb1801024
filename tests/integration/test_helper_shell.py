"""The driver's DLM_HELPER_SHELL, with the real driver built on this host: a foreign image names the
build machine's shell there, so that its helpers run natively instead of under qemu-user. It runs
only a script whose first line is exactly "#!/bin/sh", and where it cannot start the script's own
line decides, so the image still works on a host of its own architecture."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.integration.test_exit_codes import helper, pytestmark, root  # noqa: F401 (root: a fixture)

__all__ = ["pytestmark"]


def drive(root: Path, shell: str, step: str) -> subprocess.CompletedProcess[str]:  # noqa: F811
    rt = root / "rt" / "pinned"
    env = {**os.environ, "DLM_LIBDIR": str(rt / "lib"), "DLM_HELPER_SHELL": shell}
    driver = rt / "bin" / "dlm-driver"
    return subprocess.run([driver, step], env=env, capture_output=True, text=True, timeout=30)


@pytest.fixture
def shell(tmp_path: Path) -> Path:
    """A shell that says it ran, then runs the script with /bin/sh."""
    path = tmp_path / "helper-shell"
    path.write_text('#!/bin/sh\necho "@ ran_by helper-shell $1"\nexec /bin/sh "$@"\n')
    path.chmod(0o755)
    return path


def test_a_posix_sh_helper_runs_in_the_helper_shell(root, shell):  # noqa: F811
    helper(root, "posix", 'echo "@ ran posix"')
    run = drive(root, str(shell), "run:posix")
    assert run.returncode == 0, run.stderr
    script = root / "rt" / "pinned" / "lib" / ".." / "bin" / "posix"  # the driver's run:NAME path
    assert f"@ ran_by helper-shell {script}\n@ ran posix\n" == run.stdout


def test_a_helper_shell_that_cannot_start_leaves_the_scripts_own_line(root, tmp_path):  # noqa: F811
    helper(root, "posix", 'echo "@ ran posix"')
    foreign = tmp_path / "foreign-shell"  # what an x86-64 shell is on an arm64 host: not executable here
    foreign.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(57))
    foreign.chmod(0o755)
    for missing in ("/nonexistent/sh", str(foreign)):
        run = drive(root, missing, "run:posix")
        assert run.returncode == 0, run.stderr
        assert "@ ran posix" in run.stdout and "cannot run" not in run.stderr


@pytest.mark.parametrize("line", ["#!/bin/sh -e", "#!/usr/bin/env sh", "#!/bin/bash"])
def test_a_script_of_another_first_line_runs_by_that_line(root, shell, line):  # noqa: F811
    script = root / "rt" / "pinned" / "bin" / "other"
    script.write_text(f'{line}\necho "@ ran other"\n')
    script.chmod(0o755)
    run = drive(root, str(shell), "run:other")
    assert run.returncode == 0, run.stderr
    assert "@ ran other" in run.stdout and "helper-shell" not in run.stdout
