"""The runs `dlmatrix bench` times: our design on the named engines, its cells, what it built and
where its time went, and the machine's busy CPU-seconds around it."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dlmatrix.backends.oci.backend import ContainerBackend
from dlmatrix.backends.oci.engine import Engine
from dlmatrix.backends.oci.tokens import CellBudget
from dlmatrix.log import Logger
from dlmatrix.model.catalog import Matrix
from dlmatrix.model.cells import Cell
from dlmatrix.model.selector import Selector


@dataclass
class Measured:
    wall_s: float
    busy_cpu_s: float
    cells: list[Cell]


def busy_cpu_seconds() -> float:
    """CPU-seconds the whole machine was not idle since boot (/proc/stat, all cores)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def measure(work: Callable[[], list[Cell]]) -> Measured:
    busy, started = busy_cpu_seconds(), time.monotonic()
    cells = work()
    return Measured(time.monotonic() - started, busy_cpu_seconds() - busy, cells)


@dataclass(frozen=True)
class Ran:
    """One run of our design: the cells its run() returned, the images it had to build and the
    tag each image ran as."""

    cells: list[Cell]
    built: list[str]
    tags: dict[str, str]
    logs: dict[str, str]  # the build log of each image it built
    parts: dict[str, dict[str, float]] = field(default_factory=dict)  # image -> its parts' seconds


def docker_run(
    matrix: Matrix,
    selection: Selector,
    jobs: int,
    log: Logger,
    title: str,
    engines: tuple[str, ...] = ("default",),
) -> Ran:
    """Our design, run (its progress shown, and folded on CI under title)."""
    with (
        tempfile.TemporaryDirectory(prefix="dlmatrix-bench-") as scratch,
        log.group(f"dlmatrix bench: {title}"),
        log.live(),
    ):
        on = [Engine(spec) for spec in engines]
        backend = ContainerBackend(matrix, on, Path(scratch), selection, log, CellBudget(jobs))
        cells = backend.run()
        logs = {name: backend.build_log(backend.matrix.image(name)).read_text() for name in backend.built}
        return Ran(cells, list(backend.built), dict(backend.tags), logs, backend.stage_seconds())


def longest_attempt(cells: list[Cell]) -> float:
    return max((a.duration_s for c in cells for a in c.attempts), default=0.0)


def verdicts(cells: list[Cell]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for cell in cells:
        counts[cell.verdict] = counts.get(cell.verdict, 0) + 1
    return counts


def to_read(cells: list[Cell]) -> list[str]:
    """The cells a measured run did not answer as expected (unexpected, flaky), each with what it
    gave: a figure's run keeps no results of its own, so its JSON names them."""
    return [
        f"{c.verdict}: {c.scenario} {c.runtime} on {c.image}: {c.result} (expected {c.expected})"
        for c in cells
        if c.verdict in ("unexpected", "flaky")
    ]
