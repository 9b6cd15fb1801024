"""The Docker engine, driven through its CLI: every call and its failure in one place."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from dlmatrix.errors import DlmatrixError

START_HINT = "start one with `bash .ci/start-dockerd` (or `dockerd &` as root), or set DOCKER_HOST"

# What every suite container gets: nothing to reach, nothing to gain, bounded.
# fmt: off
SANDBOX = (
    "--network", "none", "--read-only", "--tmpfs", "/tmp:rw,nosuid,size=64m",
    "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--user", "10001:10001",
    "--memory", "512m", "--memory-swap", "512m", "--pids-limit", "1024", "--init",
)
# fmt: on


class Engine:
    """A docker CLI bound to one engine; tracks its running containers so they can be removed."""

    def __init__(self, docker: str = "docker") -> None:
        self.docker = docker
        self._running: set[str] = set()
        self._lock = threading.Lock()

    def _run(self, args: Sequence[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.docker, *args], capture_output=True, text=True, timeout=timeout, check=False
        )

    def server_version(self) -> str:
        """The engine's version, or a DlmatrixError saying why there is none and how to get one."""
        if shutil.which(self.docker) is None:
            raise DlmatrixError("the docker client is not installed", "apt-get install -y docker.io")
        try:
            result = self._run(["version", "--format", "{{.Server.Version}}"], timeout=20)
        except subprocess.TimeoutExpired:
            raise DlmatrixError("the Docker engine did not answer within 20 s", START_HINT) from None
        if result.returncode != 0 or not result.stdout.strip():
            cause = (result.stderr.strip().splitlines() or ["no answer"])[-1]
            raise DlmatrixError(f"no Docker engine answers: {cause}", START_HINT)
        return result.stdout.strip()

    def image_id(self, ref: str) -> str | None:
        result = self._run(["image", "inspect", "--format", "{{.Id}}", ref])
        return result.stdout.strip() if result.returncode == 0 else None

    def pull(self, ref: str) -> bool:
        try:
            return self._run(["pull", "--quiet", ref], timeout=600).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def import_tarball(self, producer: Sequence[str], tag: str, log: Path, timeout: float = 1200) -> None:
        """Pipes a root file system tarball written by producer (mmdebstrap ... -) into docker import."""
        with log.open("w") as log_file:
            maker = subprocess.Popen(producer, stdout=subprocess.PIPE, stderr=log_file)
            assert maker.stdout is not None
            importer = subprocess.run(
                [self.docker, "import", "--change", 'CMD ["/bin/sh"]', "-", tag],
                stdin=maker.stdout,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            maker.stdout.close()
            made = maker.wait(timeout=60)
        if made != 0 or importer.returncode != 0:
            detail = log.read_text()[-1500:] + importer.stderr[-500:]
            raise DlmatrixError(
                f"building base {tag} offline failed ({producer[0]} exit {made}, "
                f"import exit {importer.returncode}):\n{detail}",
                f"see {log}; check that Debian's archive is reachable",
            )

    def build(self, tag: str, context: Path, build_args: dict[str, str], log: Path, timeout: float) -> bool:
        args = ["build", "--force-rm", "--tag", tag, "--label", "org.dlmatrix=1"]
        for key, value in build_args.items():
            args += ["--build-arg", f"{key}={value}"]
        with log.open("w") as log_file:
            try:
                result = subprocess.run(
                    [self.docker, *args, str(context)],
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                log_file.write(f"\ndlmatrix: the build did not finish within {timeout:.0f} s\n")
                return False
        return result.returncode == 0

    @contextmanager
    def container(
        self, name: str, image: str, args: Sequence[str], stdin: str | None = None
    ) -> Iterator[subprocess.Popen[str]]:
        """Runs a sandboxed container and removes it on the way out, Ctrl-C included.

        Created first, then started attached: once create returns the container exists, so
        the removal in `finally` cannot race its creation. With stdin, the container's
        standard input starts with that text and stays open for the caller to write more.
        """
        with self._lock:
            self._running.add(name)
        interactive = ["--interactive"] if stdin is not None else []
        created = self._run(["create", "--name", name, *interactive, *SANDBOX, image, *args], timeout=120)
        if created.returncode != 0:
            self.remove(name)
            raise DlmatrixError(
                f"cannot create a container from {image}: {created.stderr.strip()}",
                "check `docker info` and that the image exists (`docker images dlmatrix/*`)",
            )
        process = subprocess.Popen(
            [self.docker, "start", "--attach", *interactive, name],
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        try:
            if process.stdin is not None and stdin is not None:
                process.stdin.write(stdin)
                process.stdin.flush()
            yield process
        finally:
            if process.stdin is not None and process.stdin.closed:
                process.stdin = None  # communicate() would flush it
            process.kill()
            process.communicate()
            self.remove(name)

    def remove(self, name: str) -> None:
        with self._lock:
            self._running.discard(name)
        self._run(["rm", "--force", name], timeout=60)

    def remove_all(self) -> None:
        with self._lock:
            names = list(self._running)
        for name in names:
            self.remove(name)
