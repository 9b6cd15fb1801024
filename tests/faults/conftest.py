"""Fixtures of the fault-injection suite: the real CLI in a child process, a project copy with a
slow scenario, the musl image it runs in, and a private second engine to kill or freeze."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dlmatrix.budget import CellBudget
from dlmatrix.config import load_matrix
from dlmatrix.containers import DockerBackend
from dlmatrix.engine import Engine
from dlmatrix.selection import Selection
from tests.conftest import REPO, Recorder, edit_yaml

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


def children_of(marker: str) -> list[str]:
    """Processes (docker CLI calls) whose command line names marker: none may outlive a run."""
    found = subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True, check=False)
    return [line for line in found.stdout.splitlines() if "pgrep" not in line]


@pytest.fixture
def slow_project(project: Path) -> Path:
    """The project with one more scenario that sleeps a minute (a catalog edit: no rebuild)."""
    edit_yaml(project, "scenarios.yaml", lambda data: data["scenarios"].append(dict(SLOW)))
    return project


@pytest.fixture(scope="session")
def musl_tag(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The bookworm musl image with the model runtimes only (CI's benchmark shares it)."""
    backend = DockerBackend(
        load_matrix(REPO),
        engine,
        tmp_path_factory.mktemp("musl"),
        Selection("app-linked", "pinned", IMAGE),
        Recorder(),
        CellBudget(4),
    )
    cells = backend.run()
    assert cells and all(cell.verdict == "ok" for cell in cells), [c.stderr for c in cells]
    return backend.tags[IMAGE]


class PrivateEngine:
    """A second Docker engine of this suite's own (socket, data root, exec root, pidfile and a bridge
    of its own, never docker0), so that killing or freezing it touches nothing else."""

    BRIDGE = "dlmfault0"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.host = f"unix://{root}/docker.sock"
        self.daemon: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if subprocess.run(["ip", "link", "show", self.BRIDGE], capture_output=True).returncode != 0:
            subprocess.run(["ip", "link", "add", self.BRIDGE, "type", "bridge"], check=True)
            subprocess.run(["ip", "addr", "add", "10.213.0.1/24", "dev", self.BRIDGE], check=True)
            subprocess.run(["ip", "link", "set", self.BRIDGE, "up"], check=True)
        self.wait_for_old_containerd()
        log = (self.root / "dockerd.log").open("ab")
        self.daemon = subprocess.Popen(
            ["dockerd", "--host", self.host, "--data-root", str(self.root / "data"),
             "--exec-root", str(self.root / "exec"), "--pidfile", str(self.root / "docker.pid"),
             "--bridge", self.BRIDGE, "--iptables=false", "--ip-masq=false"],
            stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while self.docker("version").returncode != 0:
            if time.monotonic() > deadline or self.daemon.poll() is not None:
                raise AssertionError("the private engine did not start: " + self.log_tail())
            time.sleep(0.5)

    def wait_for_old_containerd(self) -> None:
        """After a kill, the engine's containerd lingers a moment; a new engine that finds it
        still running waits for it in vain."""
        pidfile = self.root / "exec" / "containerd" / "containerd.pid"
        if not pidfile.exists():
            return
        pid = int(pidfile.read_text().strip() or 0)
        deadline = time.monotonic() + 30
        while pid and Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        if pid and Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)
        pidfile.unlink(missing_ok=True)

    def docker(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                ["docker", "--host", self.host, *args], capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(args, 124, "", "timed out")

    def load(self, *refs: str) -> None:
        saver = subprocess.Popen(["docker", "save", *refs], stdout=subprocess.PIPE)
        loaded = subprocess.run(
            ["docker", "--host", self.host, "load"], stdin=saver.stdout, capture_output=True
        )
        assert saver.wait() == 0 and loaded.returncode == 0, loaded.stderr

    def signal(self, signum: int) -> None:
        assert self.daemon is not None
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.daemon.pid, signum)

    def stop(self) -> None:
        if self.daemon is None:
            return
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            self.daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.daemon.wait()
        self.daemon = None

    def log_tail(self) -> str:
        return (self.root / "dockerd.log").read_text(errors="replace")[-2000:]


def need_a_private_engine() -> None:
    if os.geteuid() != 0 or shutil.which("dockerd") is None:
        pytest.skip("PRIVATE ENGINE UNAVAILABLE (needs root and dockerd): engine faults not injected")


@contextlib.contextmanager
def private_engine_in(root: Path) -> Iterator[PrivateEngine]:
    """A private engine under root, stopped, unmounted and removed afterwards, whatever was done to it."""
    private = PrivateEngine(root)
    try:
        private.start()
        yield private
    finally:
        private.stop()
        private.start()  # a clean stop after a kill: the engine unmounts what it left
        for name in private.docker("ps", "--all", "--quiet").stdout.split():
            private.docker("rm", "--force", name)
        private.stop()
        subprocess.run(["ip", "link", "delete", PrivateEngine.BRIDGE], check=False)
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
        for mount in sorted((m for m in mounts if m.startswith(str(root))), reverse=True):
            subprocess.run(["umount", "--lazy", mount], check=False)  # the engine's bind of its data root
        shutil.rmtree(root)


def short_root() -> Path:
    return Path(tempfile.mkdtemp(prefix="dlmfault-", dir="/tmp"))  # socket paths must be short


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
