"""The backends a run can use, behind one interface, looked up by name (in the manner of
cibuildwheel's platform modules): `host` builds and runs natively; `docker` and `podman` run
images on one or several engines (`--engine`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from dlmatrix.backends.host import run_hosts
from dlmatrix.backends.oci.backend import ContainerBackend
from dlmatrix.backends.oci.engine import Engine
from dlmatrix.backends.oci.tokens import CellBudget
from dlmatrix.errors import DlmatrixError
from dlmatrix.log import Logger
from dlmatrix.model.catalog import Matrix
from dlmatrix.model.cells import Cell, ResultSet
from dlmatrix.model.selector import Selector
from dlmatrix.runtimes.sources import SourceDirs


@dataclass
class RunRequest:
    """What every backend is given."""

    matrix: Matrix
    selector: Selector
    workdir: Path
    jobs: int
    log: Logger  # the command's: steps, progress and warnings
    previous: ResultSet | None = None
    sources: SourceDirs | None = None
    logs: Path | None = None
    engines: list[str] = field(default_factory=list)


class Backend(Protocol):
    """What `dlmatrix run` drives; it shows the run's progress (request.log.live()) around run()."""

    @property
    def docker_version(self) -> str | None:
        """The engines' versions, once it ran; None without engines."""
        ...

    def run(self) -> list[Cell]: ...

    def finished(self) -> list[Cell]:
        """The cells that did run, whatever stopped the run (kept in a partial file)."""
        ...

    def engine_records(self) -> list[dict[str, str]]:
        """run.engines of results.json: each engine's name and version."""
        ...

    def image_tags(self) -> dict[str, str]:
        """run.images of results.json: the tag each image ran as, for the report's re-run command."""
        ...

    def stage_seconds(self) -> dict[str, dict[str, float]]:
        """run.parts of results.json: per image, the seconds of its base, build and suite."""
        ...


class HostBackend:
    """This machine's C libraries (matrix/hosts.yaml), natively."""

    def __init__(self, request: RunRequest) -> None:
        if request.engines:
            raise DlmatrixError(
                "--engine is for the container backends", "drop --engine, or use --backend docker"
            )
        self.request = request
        self.docker_version: str | None = None

    def run(self) -> list[Cell]:
        r = self.request
        cells = run_hosts(
            r.matrix, r.workdir, r.selector, r.jobs, warn=r.log.warning, progress=r.log, sources=r.sources
        )
        for cell in cells:
            cell.engine = "host"
        return cells

    def finished(self) -> list[Cell]:
        return []  # a host's suite reports when it ends: a stop keeps nothing of it

    def engine_records(self) -> list[dict[str, str]]:
        return []

    def image_tags(self) -> dict[str, str]:
        return {}

    def stage_seconds(self) -> dict[str, dict[str, float]]:
        return {}  # no image: the host's suites are the whole run


def container_backend(default_engine: str) -> Callable[[RunRequest], ContainerBackend]:
    def make(request: RunRequest) -> ContainerBackend:
        specs = request.engines or [default_engine]
        if len(set(specs)) != len(specs):
            raise DlmatrixError(f"an engine is named twice: {', '.join(specs)}", "name each engine once")
        return ContainerBackend(
            request.matrix,
            [Engine(spec) for spec in specs],
            request.workdir,
            request.selector,
            request.log,
            CellBudget(request.jobs),
            request.previous,
            sources=request.sources,
            logs=request.logs,
        )

    return make


BACKENDS: dict[str, Callable[[RunRequest], Backend]] = {
    "host": HostBackend,
    "docker": container_backend("default"),
    "podman": container_backend("podman"),
}
HELP = (
    "host: this machine's glibc and musl; docker: the images of matrix/images.yaml on Docker engines "
    "(--engine); podman: the same on podman"
)


def environments(backend: str, matrix: Matrix) -> list[str]:
    """The environments a backend runs, in declared order: host C libraries, or images."""
    if backend == "host":
        return [host.name for host in matrix.hosts]
    return [image.name for image in matrix.images]


def make_backend(name: str, request: RunRequest) -> Backend:
    return BACKENDS[name](request)
