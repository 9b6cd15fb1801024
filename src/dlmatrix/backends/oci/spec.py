"""Which engine `--engine` names: its CLI (docker or podman) and the global options that point it
there, and what podman needs of the limits it runs under."""

from __future__ import annotations

import re
import resource
from dataclasses import dataclass

from dlmatrix.errors import DlmatrixError

ENGINE_FORMS = (
    "`default` (DOCKER_HOST or the current docker context), a docker context name, a DOCKER_HOST "
    "URL (unix://, tcp://, ssh://), `podman`, or podman+URL (podman+ssh://user@host/run/podman/podman.sock)"
)
PODMAN_NPROC = 16384  # far above the sandbox's --pids-limit (engine.SANDBOX)
URL = re.compile(r"^(unix|tcp|ssh|npipe)://\S+$")
CONTEXT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


@dataclass(frozen=True)
class EngineSpec:
    """One engine as `--engine` names it: which CLI, and the global options that point it there."""

    name: str
    cli: str = "docker"
    options: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> EngineSpec:
        if text in ("", "default"):
            return cls("default")
        if text == "podman":
            return cls(text, "podman")
        if text.startswith("podman+") and URL.match(text.removeprefix("podman+")):
            return cls(text, "podman", ("--url", text.removeprefix("podman+")))
        if URL.match(text):
            return cls(text, "docker", ("--host", text))
        if CONTEXT.match(text):
            return cls(text, "docker", ("--context", text))
        raise DlmatrixError(f"--engine {text!r} names no engine", f"use {ENGINE_FORMS}")

    @property
    def local(self) -> bool:
        """On this machine (its cores are this machine's): no URL, or a unix socket."""
        return not self.options or self.options[1].startswith("unix://")


def podman_limits() -> tuple[str, ...]:
    """Podman as root raises RLIMIT_NOFILE and RLIMIT_NPROC in its containers to its own defaults;
    where the hard limits it runs under are lower (a sandboxed machine), runc may not, and every
    container and build step fails. This process's own open-files limit, and a process limit far
    above what a container may hold (SANDBOX's --pids-limit), work everywhere."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    files = hard if soft == resource.RLIM_INFINITY else soft
    return ("--ulimit", f"nofile={files}:{files}", "--ulimit", f"nproc={PODMAN_NPROC}:{PODMAN_NPROC}")
