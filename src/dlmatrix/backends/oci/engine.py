"""A container engine, driven through its docker-compatible CLI (docker, or podman): every call, its
deadline and its failure in one place (which engine: dlmatrix.backends.oci.spec)."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from dlmatrix.backends.oci.failures import (
    FROZEN_HINT,
    MISSING_IMAGE,
    START_HINT,
    Cleanup,
    ContainerFailed,
    EngineFailure,
    failure_from,
    last_line,
)
from dlmatrix.backends.oci.rootfs import import_rootfs
from dlmatrix.backends.oci.spec import EngineSpec, podman_limits
from dlmatrix.children import Cancelled, Children
from dlmatrix.errors import DlmatrixError

LIMITS_IGNORED = "resource limits are not supported and ignored"  # rootless podman on cgroup v1
LABEL = "org.dlmatrix=1"  # on every image and container dlmatrix makes (`dlmatrix prune` finds them)
# Deadlines (seconds) of calls that should answer at once: an engine that misses one is frozen.
QUICK_S = 30
PING_S = 20
CLEANUP_S = 15

# What every suite container gets: nothing to reach, nothing to gain, bounded. The process bound
# leaves room for three attempts of `cycles` in flight at once (the unpinned runtime's 400 threads
# each, a host thread per guest thread under qemu-user): at 1024, fork() failed in riscv64's suite.
# The memory bound likewise: under qemu-user three such attempts at once (qemu keeps state per guest
# thread and translates each fresh mapping anew) passed 512m, and the kernel killed them (SIGKILL).
# dlm-suite starts as root with five capabilities, only to run each attempt under a uid of its own
# (src/c/suite/lanes.c): SETUID and SETGID to switch, CHOWN to hand the attempt its directory, KILL
# and DAC_OVERRIDE to stop it and read and remove what it left. The attempts never hold one: a
# switch from root to another uid clears them, and no-new-privileges keeps them from coming back.
# /dev/shm holds each LTTng session's ring buffers (per-CPU: about 5 MB a session on 2 CPUs,
# shm_open()ed and unlinked at once, so no file shows them): with Docker's default 64 MB, 24
# end-to-end attempts at once recorded nothing in half of them (exit 13). It is memory, bounded
# by --memory with the rest.
# fmt: off
SANDBOX = (
    "--network", "none", "--read-only", "--tmpfs", "/tmp:rw,nosuid,size=64m", "--shm-size", "1g",
    "--cap-drop", "ALL", "--cap-add", "SETUID", "--cap-add", "SETGID", "--cap-add", "CHOWN",
    "--cap-add", "KILL", "--cap-add", "DAC_OVERRIDE", "--security-opt", "no-new-privileges", "--user", "0:0",
    "--memory", "2g", "--memory-swap", "2g", "--pids-limit", "4096", "--init",
)
# fmt: on


class Engine:
    """A docker-compatible CLI bound to one engine (by default DOCKER_HOST's, if set); tracks what a
    run started so that a stop can end it: its child processes and its containers (labelled with
    the run's id)."""

    def __init__(self, spec: str | EngineSpec = "default", cli: str | None = None) -> None:
        self.spec = spec if isinstance(spec, EngineSpec) else EngineSpec.parse(spec)
        self.docker = cli or self.spec.cli
        self.command = [self.docker, *self.spec.options]  # what every call starts with
        podman_local = self.spec.cli == "podman" and self.spec.local
        self.limits = podman_limits() if podman_local else ()  # for builds and containers
        self.children = Children()
        self.run_id = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._containers: set[str] = set()
        self._removed_in_stop: set[str] = set()  # containers removed once the run was stopping
        self._left: dict[str, str] = {}  # containers that could not be removed, and why
        self._lock = threading.Lock()
        self.warnings: set[str] = set()  # what the engine said it would not do (told once per run)

    def _run(self, args: Sequence[str], timeout: float = QUICK_S) -> subprocess.CompletedProcess[str]:
        try:
            return self.children.run([*self.command, *args], timeout=timeout)
        except subprocess.TimeoutExpired:
            if self.children.cancelled.is_set():
                raise Cancelled() from None
            raise EngineFailure(
                f"{self.title} did not answer `{self.docker} {args[0]}` within {timeout:.0f} s", FROZEN_HINT
            ) from None

    def server_version(self) -> str:
        """The engine's version, or a DlmatrixError saying why there is none and how to get one."""
        if shutil.which(self.docker) is None:
            package = "podman catatonit" if self.spec.cli == "podman" else "docker.io"
            raise DlmatrixError(
                f"the {self.spec.cli} client is not installed", f"apt-get install -y {package}"
            )
        try:
            result = self._run(["version", "--format", "{{.Server.Version}}"], timeout=PING_S)
        except EngineFailure:
            raise EngineFailure(f"{self.title} did not answer within {PING_S} s", START_HINT) from None
        if result.returncode != 0 or not result.stdout.strip():
            known = failure_from(result.stderr, "answering", self.kind)
            raise known or EngineFailure(
                f"no {self.kind} engine answers: {last_line(result.stderr)}", START_HINT
            )
        return result.stdout.strip()

    @property
    def kind(self) -> str:
        return "Docker" if self.spec.cli == "docker" else self.spec.cli

    @property
    def named(self) -> bool:
        """Whether its name says more than its CLI (a context, a URL)."""
        return self.spec.name not in ("default", self.spec.cli)

    @property
    def title(self) -> str:
        """For messages: "the Docker engine", "the podman engine podman+ssh://ci@builder"."""
        return f"the {self.kind} engine" + (f" {self.spec.name}" if self.named else "")

    def describe(self) -> str:
        """For people and results.json: which engine, and its version ("Docker 28.2.2 (ssh://ci@h)")."""
        return f"{self.kind} {self.server_version()}" + (f" ({self.spec.name})" if self.named else "")

    def unanswered(self) -> str | None:
        """Why the engine does not answer now, or None when it does."""
        try:
            self.server_version()
        except Cancelled:
            return None
        except DlmatrixError as error:
            return error.cause
        return None

    def check(self, stderr: str, doing: str) -> None:
        """Raises EngineFailure when a failed command was the engine's fault (gone, full, denied)."""
        known = failure_from(stderr, doing, self.kind)
        if known is None and (cause := self.unanswered()) is not None:
            known = EngineFailure(f"{self.title} stopped answering while {doing}: {cause}", START_HINT)
        if known is not None:
            raise known

    def image_id(self, ref: str) -> str | None:
        result = self._run(["image", "inspect", "--format", "{{.Id}}", ref])
        if result.returncode != 0 and not any(m in result.stderr.lower() for m in MISSING_IMAGE):
            self.check(result.stderr, f"looking up {ref}")
        return result.stdout.strip() if result.returncode == 0 else None

    def pull(self, ref: str) -> bool:
        try:
            return self._run(["pull", "--quiet", ref], timeout=600).returncode == 0
        except EngineFailure:
            return False  # a registry that does not answer is not the engine's failure

    def import_tarball(
        self, producer: Sequence[str], tag: str, log: Path, timeout: float = 1200, platform: str | None = None
    ) -> None:
        """A root file system tarball written by producer (mmdebstrap ... -) as base tag, for platform
        (dlmatrix.backends.oci.rootfs: loaded with its architecture, or imported as the engine's own)."""
        try:
            import_rootfs(self, producer, tag, log, timeout, platform)
        except DlmatrixError:
            self.remove_image(tag)  # nothing half made stays under the tag
            raise

    def architecture(self, ref: str) -> str:
        """An image's platform as its config says it (linux/arm64/v8), "" when it cannot be read."""
        result = self._run(["image", "inspect", "--format", "{{.Os}}/{{.Architecture}}/{{.Variant}}", ref])
        return result.stdout.strip().rstrip("/") if result.returncode == 0 else ""

    def copy_image(self, source: Engine, ref: str, log: Path, timeout: float = 600) -> bool:
        """`source save ref | this load`: whether the image arrived (the log says why not)."""
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as log_file:
            saver = self.children.popen(
                [*source.command, "save", ref], stdout=subprocess.PIPE, stderr=log_file
            )
            loader = self.children.popen(
                [*self.command, "load"], stdin=saver.stdout, stdout=log_file, stderr=log_file
            )
            assert saver.stdout is not None
            saver.stdout.close()
            try:
                loaded, saved = loader.wait(timeout=timeout), saver.wait(timeout=60)
            except subprocess.TimeoutExpired:
                saver.kill()
                loader.kill()
                return False
            finally:
                self.children.forget(saver)
                self.children.forget(loader)
        if self.children.cancelled.is_set():
            raise Cancelled()
        return loaded == 0 and saved == 0

    def listing(self, args: Sequence[str]) -> list[str]:
        """The lines a listing command (images, ps, inspect) prints; EngineFailure if it fails."""
        result = self._run(args)
        if result.returncode != 0:
            self.check(result.stderr, f"running `docker {' '.join(args[:2])}`")
            raise DlmatrixError(f"`docker {' '.join(args)}` failed: {last_line(result.stderr)}")
        return result.stdout.splitlines()

    def remove_image(self, ref: str) -> str | None:
        """Untags (and frees) an image; the engine's reason when it refuses (a container uses it)."""
        result = self._run(["rmi", ref], timeout=120)
        return None if result.returncode == 0 else last_line(result.stderr)

    def prune_build_cache(self, unused_for: str) -> str:
        """Removes the builder's cache that no build used within unused_for (a Go duration: 168h), the
        whole engine's: BuildKit marks none of it as dlmatrix's. How much it reclaimed, as the CLI says
        it last ("Total reclaimed space: 1.2GB", buildx's "Total: 1.2GB")."""
        if self.spec.cli == "podman":
            raise DlmatrixError("podman keeps no BuildKit cache to prune", "podman image prune")
        result = self._run(["builder", "prune", "--force", "--filter", f"until={unused_for}"], timeout=600)
        if result.returncode != 0:
            self.check(result.stderr, "pruning the build cache")
            raise DlmatrixError(f"`docker builder prune` failed: {last_line(result.stderr)}")
        said = last_line(result.stdout).split()
        return f"{said[-1]} reclaimed" if said and said[0].startswith("Total") else "nothing reclaimed"

    @functools.cached_property
    def buildkit(self) -> bool:
        """Whether its builds go through BuildKit, whose cache mounts keep a compiler cache between
        builds (dockerfiles: cache_mounts). Podman's builder has them; docker's CLI has BuildKit
        when its buildx plug-in is installed and its builder is the engine's own (the docker
        driver: a docker-container builder sees no base built offline and keeps what it builds),
        or built in before 23.0; DOCKER_BUILDKIT=0 says no."""
        if os.environ.get("DOCKER_BUILDKIT") == "0":
            return False
        if self.spec.cli == "podman":
            return True
        if self._run(["buildx", "version"]).returncode == 0:
            inspected = self._run(["buildx", "inspect"]).stdout
            return re.search(r"^Driver:\s+docker$", inspected, re.M) is not None
        client = self._run(["version", "--format", "{{.Client.Version}}"]).stdout.strip()
        major = client.split(".")[0]
        return major.isdigit() and int(major) < 23

    def build(
        self,
        tag: str,
        context: Path,
        build_args: dict[str, str],
        log: Path,
        timeout: float,
        labels: dict[str, str] | None = None,
        output: Path | None = None,
    ) -> bool:
        """False when the build failed (its log says why); EngineFailure when the engine did. output:
        the last stage's files go into this directory (BuildKit's local output), not an image."""
        buildkit = self.buildkit and self.spec.cli == "docker"
        progress = ["--progress=plain"] if buildkit else ["--force-rm"]  # each builder's own flags
        args = ["build", *progress, *self.limits, "--tag", tag, "--label", LABEL]
        args += ["--output", f"type=local,dest={output}"] if output else []
        for key, value in (labels or {}).items():
            args += ["--label", f"{key}={value}"]
        for key, value in build_args.items():
            args += ["--build-arg", f"{key}={value}"]
        with log.open("w") as log_file:
            try:
                result = self.children.run(
                    [*self.command, *args, str(context)],
                    timeout,
                    stdout=log_file,
                    env={"DOCKER_BUILDKIT": "1"} if buildkit else None,
                )
            except subprocess.TimeoutExpired:
                log_file.write(f"\ndlmatrix: the build did not finish within {timeout:.0f} s\n")
                return False
        if result.returncode != 0:
            self.check(log.read_text(errors="replace")[-4000:], f"building {tag}")
        return result.returncode == 0

    @contextmanager
    def container(
        self, name: str, image: str, args: Sequence[str], stdin: str | None = None
    ) -> Iterator[subprocess.Popen[str]]:
        """Runs a sandboxed container and removes it on the way out, a stop included.

        Created first, then started attached: once create returns the container exists, so
        the removal in `finally` cannot race its creation. It is also created with --rm: should
        the engine not answer the removal, it removes the container itself once it stops (its
        standard input closes with the attach, and dlm-suite then ends). With stdin, the
        container's standard input starts with that text and stays open for the caller.
        """
        with self._lock:
            self._containers.add(name)
        interactive = ["--interactive"] if stdin is not None else []
        labels = ["--label", LABEL, "--label", f"org.dlmatrix.run={self.run_id}"]
        try:
            created = self._run(
                [
                    "create",
                    "--rm",
                    "--name",
                    name,
                    *labels,
                    *interactive,
                    *SANDBOX,
                    *self.limits,
                    image,
                    *args,
                ]
            )
        except BaseException:
            self.remove(name)
            raise
        if LIMITS_IGNORED in created.stderr.lower():
            self.warnings.add(
                f"{self.title} ignores the sandbox's --memory and --pids-limit "
                f"({last_line(created.stderr)}): a runaway scenario is bounded only by its timeout; "
                "run as root or on cgroup v2 to keep them"
            )
        if created.returncode != 0:
            self.remove(name)
            self.check(created.stderr, f"creating a container from {image}")
            raise ContainerFailed(
                f"cannot create a container from {image}: {last_line(created.stderr)}",
                "check `docker info` and that the image exists (`docker images dlmatrix/*`)",
            )
        process = self.children.popen(
            [*self.command, "start", "--attach", *interactive, name],
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
            self.children.forget(process)
            self.remove(name)

    def remove(self, name: str) -> bool:
        """Removes a container of this run; False when the engine did not do it in time."""
        reason = self._remove(name)
        with self._lock:
            if reason is None:
                self._containers.discard(name)
                self._left.pop(name, None)
                if self.children.cancelled.is_set():
                    self._removed_in_stop.add(name)
            else:
                self._left[name] = reason
        return reason is None

    def _remove(self, name: str) -> str | None:
        """None once the container is gone, else why it is not."""
        deadline = time.monotonic() + CLEANUP_S
        try:
            while True:
                done = subprocess.run(
                    [*self.command, "rm", "--force", name], capture_output=True, text=True, timeout=CLEANUP_S
                )
                if "already in progress" not in done.stderr or time.monotonic() >= deadline:
                    break
                time.sleep(0.2)  # the engine removes it itself (--rm): wait until it is gone
        except subprocess.TimeoutExpired:
            return f"the engine did not answer within {CLEANUP_S} s"
        if done.returncode == 0 or "no such container" in done.stderr.lower():
            return None
        return last_line(done.stderr)

    def cancel(self) -> None:
        """Stops everything this run started: kills its children, removes its containers (also any
        that a killed `docker create` may still have made: they carry the run's label)."""
        self.children.kill_all()
        with self._lock:
            names = set(self._containers)
        try:
            listed = subprocess.run(
                [*self.command, "ps", "--all", "--filter", f"label=org.dlmatrix.run={self.run_id}",
                 "--format", "{{.Names}}"],
                capture_output=True, text=True, timeout=CLEANUP_S, check=False,
            )  # fmt: skip
            names.update(listed.stdout.split())
        except subprocess.TimeoutExpired:
            pass
        for name in sorted(names):
            self.remove(name)

    def cleanup(self) -> Cleanup:
        """What the stop did with the run's containers (ask once the workers have finished)."""
        with self._lock:
            return Cleanup(sorted(self._removed_in_stop), dict(self._left))
