"""How an engine fails, told apart from how a command fails: gone, frozen, full or denied stops
the run; one container that cannot be created costs only its image's cells."""

from __future__ import annotations

from dataclasses import dataclass, field

from dlmatrix.errors import DlmatrixError

START_HINT = "start one with `bash .ci/start-dockerd` (or `dockerd &` as root), or set DOCKER_HOST"
GROUP_HINT = "add yourself to the docker group (`sudo usermod -aG docker $USER`), then log in again"
FROZEN_HINT = "check `docker info`; restart the engine if it does not answer, then run again"
DISK_HINT = "free space: `dlmatrix prune --build-cache 7d` (old images and build cache); then run again"
NO_SPACE = "no space left on device"
MISSING_IMAGE = ("no such image", "image not known")  # docker's words, podman's


class EngineFailure(DlmatrixError):
    """The engine is gone, frozen or out of disk: the whole run stops (exit 2), results untouched."""


class ContainerFailed(DlmatrixError):
    """One container could not be created while the engine still answers: that image's cells only."""


@dataclass
class Cleanup:
    """What a stop did with the run's containers."""

    removed: list[str] = field(default_factory=list)
    left: dict[str, str] = field(default_factory=dict)  # container -> why it could not be removed

    def lines(self) -> list[str]:
        lines = [f"removed container {name}" for name in self.removed]
        if self.left:
            why = ", ".join(f"{name} ({reason})" for name, reason in self.left.items())
            lines.append(
                f"could not remove {why}; created with --rm, they go once they "
                f"stop and the engine answers, or: docker rm -f {' '.join(self.left)}"
            )
        return lines


def failure_from(stderr: str, doing: str, kind: str = "Docker") -> EngineFailure | None:
    """The engine failures a command's error output shows (the rest belong to the command)."""
    text = stderr.lower()
    if NO_SPACE in text:
        return EngineFailure(f"the {kind} engine ran out of disk space while {doing}", DISK_HINT)
    if "permission denied" in text and "docker" in text and ".sock" in text:
        return EngineFailure(f"this user may not use the {kind} engine: {last_line(stderr)}", GROUP_HINT)
    if "cannot connect to the docker daemon" in text or "is the docker daemon running" in text:
        return EngineFailure(f"no {kind} engine answers: {last_line(stderr)}", START_HINT)
    return None


def last_line(text: str) -> str:
    return (text.strip().splitlines() or ["no answer"])[-1]
