"""What a selection's work weighs: seconds per cell, measured by an earlier run where it ran the
cell, else a default per attempt; and how many attempts a run keeps in flight."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from dlmatrix.model.catalog import Matrix, Runtime, Scenario
from dlmatrix.model.cells import ResultSet
from dlmatrix.model.selector import Selector

# Attempts in flight per core. Measured on 2 cores (docs/performance.md): the whole matrix, three
# attempts per cell, keeps every verdict at this level. They wait more than they compute (sleeps of
# the runtimes, session daemons, timeouts): at 6 per core the warm run took half as long again.
# (Before the suite containers' /dev/shm was sized for LTTng's ring buffers, some end-to-end
# cells turned flaky here.)
ATTEMPTS_PER_CORE = 12
DEFAULT_ATTEMPT_S = 1.0  # the estimate of an attempt that no earlier run measured


def default_budget() -> int:
    return ATTEMPTS_PER_CORE * (os.cpu_count() or 1)


def measured_seconds(previous: ResultSet | None) -> dict[tuple[str, str, str], float]:
    """Seconds per attempt of each cell an earlier run measured, by (image, scenario, runtime). A
    skipped cell measured nothing (where it runs, it costs what the others do)."""
    return {
        cell.key: sum(a.duration_s for a in cell.attempts) / len(cell.attempts)
        for cell in (previous.cells if previous else [])
        if cell.attempts and cell.outcome != "skipped"
    }


def estimated_seconds(
    measured: dict[tuple[str, str, str], float],
    selector: Selector,
    image: str,
    scenario: Scenario,
    runtime: Runtime,
) -> float:
    """What one selected cell's attempts take: measured per attempt where known, else the default."""
    per_attempt = measured.get((image, scenario.name, runtime.name), DEFAULT_ATTEMPT_S)
    return max(selector.repeat, runtime.attempts) * per_attempt


@dataclass(frozen=True)
class WorkEstimate:
    """Seconds of work per image for a selection: from an earlier run where it measured the
    cell, else a default per attempt."""

    seconds: dict[str, float]

    @classmethod
    def of(
        cls, matrix: Matrix, images: Iterable[str], selector: Selector, previous: ResultSet | None
    ) -> WorkEstimate:
        measured = measured_seconds(previous)
        return cls(
            {
                image: sum(
                    estimated_seconds(measured, selector, image, s, r)
                    for s, r in selector.pairs(matrix, image)
                )
                for image in images
            }
        )

    def longest_first(self, names: Iterable[str]) -> list[str]:
        return sorted(names, key=lambda name: (-self.seconds.get(name, 0.0), name))
