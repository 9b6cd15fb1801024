"""One budget of attempts in flight for a whole run, shared by every suite it runs.

The suites wait (sleeps of the runtimes, session daemons, timeouts); they hardly compute.
So the run is scheduled by work in flight, not by cores: a suite takes a token for each
attempt it starts and gives it back when the attempt ends. Among suites waiting for a
token, the one with the most work left goes first, so that long suites never start last.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from dlmatrix.config import Matrix, Runtime, Scenario
from dlmatrix.results import ResultSet
from dlmatrix.selector import Selector

# Attempts in flight per core. Measured on 2 cores (docs/performance.md): the whole matrix
# keeps every verdict at this level, and the wall time stops falling well below it.
ATTEMPTS_PER_CORE = 6
DEFAULT_ATTEMPT_S = 1.0  # the estimate of an attempt that no earlier run measured


def default_budget() -> int:
    return ATTEMPTS_PER_CORE * (os.cpu_count() or 1)


class CellBudget:
    def __init__(self, size: int) -> None:
        self.size = size
        self._free = size
        self._waiting: dict[str, float] = {}  # suite -> its work left, in seconds
        self._changed = threading.Condition()

    def acquire(self, suite: str, work_left: float, stop: threading.Event) -> bool:
        """Blocks until suite may start one attempt; False once stop is set."""
        with self._changed:
            self._waiting[suite] = work_left
            try:
                while not (self._free > 0 and self._first() == suite):
                    if stop.is_set():
                        return False
                    self._changed.wait(0.2)
                self._free -= 1
                return True
            finally:
                del self._waiting[suite]
                self._changed.notify_all()

    def _first(self) -> str:
        return max(self._waiting, key=lambda name: (self._waiting[name], name))

    def release(self, count: int = 1) -> None:
        with self._changed:
            self._free += count
            self._changed.notify_all()

    @property
    def in_flight(self) -> int:
        with self._changed:
            return self.size - self._free


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
