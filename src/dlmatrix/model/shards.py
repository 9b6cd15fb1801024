"""Shards: the selected work split into N balanced parts, for a CI's job matrix or for machines.

The unit of work is an image's cells for some of its runtimes. Whole images are dealt out first
(longest first, each to the lightest shard), because every shard that runs an image must build
it; an image is split, by runtimes, only when there are more shards than images. Weights are
the seconds a previous results.json measured (`--durations`), else cell counts. The plan is a
pure function of the matrix, the selection, N and that file, so `plan` and every `run --shard`
compute the same one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dlmatrix.errors import DlmatrixError
from dlmatrix.model.catalog import Matrix
from dlmatrix.model.cells import ResultSet
from dlmatrix.model.estimates import estimated_seconds, measured_seconds
from dlmatrix.model.selector import Selector

SHARD = re.compile(r"^([0-9]+)/([0-9]+)$")


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` with 1 <= K <= N."""
    match = SHARD.match(text)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise DlmatrixError(f"--shard {text!r} is not K/N with 1 <= K <= N", "e.g. --shard 2/4")
    return int(match[1]), int(match[2])


@dataclass
class Unit:
    """Some runtimes of one image, and what they weigh."""

    image: str
    runtimes: list[str]
    weights: dict[str, float]  # runtime -> seconds (or cells)
    cells: dict[str, int]

    @property
    def weight(self) -> float:
        return sum(self.weights[r] for r in self.runtimes)

    @property
    def cell_count(self) -> int:
        return sum(self.cells[r] for r in self.runtimes)

    def halves(self) -> tuple[Unit, Unit]:
        """Two units of the runtimes, in declared order, cut where the weights are most even."""
        total, running, best, cut = self.weight, 0.0, float("inf"), 1
        for index, runtime in enumerate(self.runtimes[:-1], start=1):
            running += self.weights[runtime]
            if abs(total - 2 * running) < best:
                best, cut = abs(total - 2 * running), index
        return (
            Unit(self.image, self.runtimes[:cut], self.weights, self.cells),
            Unit(self.image, self.runtimes[cut:], self.weights, self.cells),
        )


@dataclass
class Shard:
    index: int
    count: int
    units: list[Unit] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def weight(self) -> float:
        return sum(u.weight for u in self.units)

    def images(self, order: list[str]) -> list[str]:
        mine = {u.image for u in self.units}
        return [name for name in order if name in mine]

    def assignment(self) -> dict[str, list[str]]:
        """image -> the runtimes this shard runs there."""
        runtimes: dict[str, list[str]] = {}
        for unit in self.units:
            runtimes.setdefault(unit.image, []).extend(unit.runtimes)
        return runtimes


def image_units(
    matrix: Matrix, selector: Selector, environments: list[str], previous: ResultSet | None
) -> list[Unit]:
    """One unit per selected environment holding work: all its selected runtimes."""
    measured = measured_seconds(previous)
    units = []
    for image in environments:
        weights: dict[str, float] = {}
        cells: dict[str, int] = {}
        for scenario, runtime in selector.pairs(matrix, image):
            weight = (
                1.0 if previous is None else estimated_seconds(measured, selector, image, scenario, runtime)
            )
            weights[runtime.name] = weights.get(runtime.name, 0.0) + weight
            cells[runtime.name] = cells.get(runtime.name, 0) + 1
        if weights:
            units.append(Unit(image, list(weights), weights, cells))
    return units


def plan(
    matrix: Matrix,
    selector: Selector,
    environments: list[str],
    count: int,
    previous: ResultSet | None = None,
) -> list[Shard]:
    """count balanced shards of the selected work in environments (image names, in order)."""
    units = image_units(matrix, selector, [e for e in environments if selector.image(e)], previous)
    while len(units) < count:  # more shards than images: split the heaviest that can be split
        splittable = [u for u in units if len(u.runtimes) > 1]
        if not splittable:
            cells = sum(u.cell_count for u in units)
            raise DlmatrixError(
                f"{count} shards, but the selection splits into only {len(units)} ({cells} cells; the "
                "smallest part is one runtime's cells in one image)",
                f"use --shards {max(len(units), 1)} or fewer, or select more cells",
            )
        heaviest = max(splittable, key=lambda u: (u.weight, -environments.index(u.image)))
        position = units.index(heaviest)
        units[position : position + 1] = heaviest.halves()
    shards = [Shard(index, count) for index in range(1, count + 1)]
    for unit in sorted(units, key=lambda u: (-u.weight, environments.index(u.image), u.runtimes)):
        min(shards, key=lambda s: (s.weight, len(s.units), s.index)).units.append(unit)
    return shards


def shard_selector(
    matrix: Matrix, selector: Selector, environments: list[str], shard: str, previous: ResultSet | None
) -> Selector:
    """The selector narrowed to exactly the cells of shard K/N."""
    index, count = parse_shard(shard)
    chosen = plan(matrix, selector, environments, count, previous)[index - 1]
    return selector.narrowed(chosen.name, chosen.assignment())
