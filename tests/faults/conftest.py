"""Fixtures of the fault-injection suite: the real CLI in a child process, a project copy with a
slow scenario, the musl image it runs in, and a private second engine to kill or freeze."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dlmatrix.backends.oci.backend import ContainerBackend
from dlmatrix.backends.oci.engine import Engine
from dlmatrix.backends.oci.tokens import CellBudget
from dlmatrix.config.load import load_matrix
from dlmatrix.model.selector import Selector
from tests.conftest import REPO, Recorder, edit_yaml
from tests.engines import PrivateEngine, need_a_private_engine, private_engine_in, short_root

pytestmark = pytest.mark.faults
IMAGE = "debian-bookworm-musl"
BASE = "dlmatrix-base/debian:bookworm"
SLOW = {"name": "zz-slow", "description": "Sleeps for a minute: a run to stop half-way.",
        "timeout_s": 120, "kinds": ["model"], "steps": ["open:a", "fire:a", "sleep:60000"]}  # fmt: skip


class Run:
    """`dlmatrix ARGS` in a child process, its output read as it comes."""

    def __init__(self, cwd: Path, args: list[str], tmpdir: Path, env: dict[str, str] | None = None) -> None:
        tmpdir.mkdir(parents=True, exist_ok=True)
        self.tmpdir = tmpdir
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dlmatrix", *args],
            cwd=cwd,
            env={**os.environ, "TMPDIR": str(tmpdir), **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self.readers = [
            threading.Thread(target=self._read, args=(stream, lines), daemon=True)
            for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err))
        ]
        for reader in self.readers:
            reader.start()

    @staticmethod
    def _read(stream: object, lines: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.append(line)

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_for_output(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.out + self.err):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"never printed {text!r}:\n{''.join(self.out + self.err)}")
            time.sleep(0.2)

    def finish(self, timeout: float) -> tuple[int, str]:
        code = self.process.wait(timeout=timeout)
        for reader in self.readers:
            reader.join(timeout=10)
        return code, "".join(self.out + self.err)

    def signal(self, signum: int) -> None:
        os.kill(self.pid, signum)


def containers(docker_host: str | None = None, name: str = "dlmatrix-") -> list[str]:
    env = {**os.environ, **({"DOCKER_HOST": docker_host} if docker_host else {})}
    listed = subprocess.run(
        ["docker", "ps", "--all", "--filter", f"name={name}", "--format", "{{.Names}}"],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    return listed.stdout.split()


def wait_for_container(name: str, docker_host: str | None = None, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while name not in containers(docker_host, name):
        if time.monotonic() > deadline:
            raise AssertionError(f"container {name} never appeared")
        time.sleep(0.5)


def children_of(marker: str, on_host: bool = False) -> list[str]:
    """Processes (docker CLI calls) whose command line names marker: none may outlive a run.
    on_host: only those outside containers (a host run's suite is no container's; another run's
    suite in a container on the same machine is no child of the run under test)."""
    found = subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True, check=False)
    lines = [line for line in found.stdout.splitlines() if "pgrep" not in line]
    return [line for line in lines if not (on_host and in_container(line.split()[0]))]


def in_container(pid: str) -> bool:
    try:
        cgroups = Path(f"/proc/{pid}/cgroup").read_text()
    except OSError:
        return False  # gone meanwhile
    return any(engine in cgroups for engine in ("docker", "containerd", "libpod"))


@pytest.fixture
def slow_project(project: Path) -> Path:
    """The project with one more scenario that sleeps a minute (a catalog edit: no rebuild)."""
    edit_yaml(project, "scenarios.yaml", lambda data: data["scenarios"].append(dict(SLOW)))
    return project


@pytest.fixture(scope="session")
def musl_tag(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The bookworm musl image with the model runtimes only (CI's benchmark shares it)."""
    backend = ContainerBackend(
        load_matrix(REPO),
        engine,
        tmp_path_factory.mktemp("musl"),
        Selector.of("app-linked", "pinned", IMAGE),
        Recorder(),
        CellBudget(4),
    )
    cells = backend.run()
    assert cells and all(cell.verdict == "ok" for cell in cells), [c.stderr for c in cells]
    return backend.tags[IMAGE]


@pytest.fixture
def private_engine(engine: Engine, musl_tag: str) -> Iterator[PrivateEngine]:
    need_a_private_engine()
    with private_engine_in(short_root()) as private:
        private.load(musl_tag, BASE)
        yield private


@pytest.fixture
def full_engine(engine: Engine) -> Iterator[PrivateEngine]:
    """A private engine whose data root (a 700 MiB tmpfs) holds the base and is then filled up."""
    need_a_private_engine()
    root = short_root()
    (root / "data").mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=700m", "tmpfs", str(root / "data")], check=True)
    with private_engine_in(root) as private:
        private.load(BASE)
        free = shutil.disk_usage(root / "data").free
        filler = root / "data" / "filler"
        with filler.open("wb") as handle:
            os.posix_fallocate(handle.fileno(), 0, max(free - 4096, 1))
        yield private
        filler.unlink()  # room for the engine's clean stop
