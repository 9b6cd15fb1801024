"""One commit of `dlmatrix bisect` in one image: the runtime's source becomes that git commit of the
repository, built in the image as the runtime's own source stage (so its image is content-addressed
by the staged tree: a commit built once per image is not built again, and the stage keeps its
compiler cache) and run through the ordinary container backend, a selection of one image, one
scenario and one runtime. A commit that does not build is built once more with the runtime's
declared fix-ups that apply and are not yet in its tree, before it is given up."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, replace
from pathlib import Path

from dlmatrix.backends.oci.backend import ContainerBackend
from dlmatrix.backends.oci.engine import Engine
from dlmatrix.backends.oci.tokens import CellBudget
from dlmatrix.errors import DlmatrixError
from dlmatrix.log import Logger
from dlmatrix.model.bisect import Commit, Side, Step
from dlmatrix.model.catalog import Matrix, Runtime, SourcePatch
from dlmatrix.model.cells import Cell
from dlmatrix.model.selector import Selector
from dlmatrix.runtimes.history import needed_fixups
from dlmatrix.runtimes.sources import SourceDirs, resolve
from dlmatrix.suite.output import tail


@dataclass(frozen=True)
class Tried:
    """A cell of one commit, and how its image came to be."""

    cell: Cell
    build: str  # built, cached or failed
    fixups: tuple[str, ...]
    seconds: float


def names(patches: tuple[SourcePatch, ...]) -> tuple[str, ...]:
    """The fix-ups' file names, as a person knows them (not where runtime.yaml finds them)."""
    return tuple(Path(p.file).name for p in patches)


class Trials:
    def __init__(
        self,
        matrix: Matrix,
        runtime: Runtime,
        repository: Path,
        scenario: str,
        repeat: int,
        workdir: Path,
        log: Logger,
        sources: SourceDirs,
        engines: tuple[str, ...] = (),
        jobs: int = 6,
    ) -> None:
        assert runtime.source is not None
        self.matrix, self.runtime, self.repository = matrix, runtime, repository
        self.scenario, self.repeat, self.workdir, self.log = scenario, repeat, workdir, log
        self.sources, self.jobs = sources, jobs
        self.engines = [Engine(spec) for spec in engines or ("default",)]
        declared = resolve(runtime.source, sources).fixups
        for patch in (p for p in declared if p.path is None):
            log.warning(f"the fix-up {patch.file} ({patch.origin}) is in none of {sources.describe()}")
        self.fixups: tuple[SourcePatch, ...] = tuple(p for p in declared if p.path is not None)
        self.numbers = itertools.count(1)
        self.needed: dict[str, tuple[SourcePatch, ...]] = {}  # commit -> the fix-ups its tree needs
        self.builds = 0  # images the engine had to build

    def step(self, commit: Commit, image: str, role: str, side: Side = "skipped") -> Step:
        """commit in image, built (again with the fix-ups it needs when it does not build) and run;
        side: what the caller knows it is (an end), else it is judged from the attempts later."""
        tried = self.tried(commit.sha, image, ())
        seconds = tried.seconds  # both builds', when it is built again with fix-ups
        if tried.cell.result == "build-error" and self.fixups:
            needed = self.fixups_of(commit.sha)
            if needed:
                self.log.step(f"{commit.short} did not build; again with {', '.join(names(needed))}")
                tried = self.tried(commit.sha, image, needed)
                seconds += tried.seconds
        cell = tried.cell
        return Step(
            commit,
            image,
            role,
            cell.result,
            tuple(a.result for a in cell.attempts),
            tried.build,
            side,
            tried.fixups,
            round(seconds, 1),
            cell.reason,
            tail(cell.stderr) if tried.build == "failed" else "",
        )

    def fixups_of(self, commit: str) -> tuple[SourcePatch, ...]:
        if commit not in self.needed:
            paths = [p.path for p in self.fixups if p.path is not None]
            applying = set(needed_fixups(self.repository, commit, paths))
            self.needed[commit] = tuple(p for p in self.fixups if p.path in applying)
        return self.needed[commit]

    def matrix_at(self, commit: str, patches: tuple[SourcePatch, ...]) -> Matrix:
        """The catalog with the runtime's source at commit of the repository: the runtime's own
        patches are for the commit it pins and are left out, the fix-ups given are applied."""
        assert self.runtime.source is not None
        source = replace(
            self.runtime.source, kind="git", location=str(self.repository), commit=commit, patches=patches,
            fixups=(), file="", sha256="", repository="",
        )  # fmt: skip
        plugin = replace(self.runtime.plugin, source=source) if self.runtime.plugin else None
        runtime = replace(self.runtime, source=source, plugin=plugin)
        runtimes = tuple(runtime if r.name == runtime.name else r for r in self.matrix.runtimes)
        return replace(self.matrix, runtimes=runtimes)

    def tried(self, commit: str, image: str, patches: tuple[SourcePatch, ...]) -> Tried:
        selector = Selector.of(self.scenario, self.runtime.name, image, self.repeat)
        workdir = self.workdir / f"step-{next(self.numbers)}"
        backend = ContainerBackend(
            self.matrix_at(commit, patches), self.engines, workdir, selector, self.log,
            CellBudget(self.jobs), sources=self.sources, logs=self.workdir / "logs",
        )  # fmt: skip
        started = time.monotonic()
        with self.log.live():
            cells = backend.run()
        found = [
            c for c in cells if (c.image, c.scenario, c.runtime) == (image, self.scenario, self.runtime.name)
        ]
        if not found:
            raise DlmatrixError(
                f"{image} ran no cell {self.scenario} x {self.runtime.name}",
                "check the selection with `dlmatrix list --image IMAGE --scenario S --runtime NAME`",
            )
        self.builds += image in backend.built
        cell = found[0]
        build = "failed" if cell.result == "build-error" else "built" if image in backend.built else "cached"
        return Tried(cell, build, names(patches), time.monotonic() - started)
