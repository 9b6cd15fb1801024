"""Which cells a run covers, and the harness bound that follows from them."""

from __future__ import annotations

from dataclasses import dataclass

from dlmatrix.config import Matrix


@dataclass(frozen=True)
class Selection:
    scenario: str = "*"
    runtime: str = "*"
    image: str = "*"
    repeat: int = 1


def suite_timeout(matrix: Matrix, selection: Selection) -> float:
    """The harness's own bound on a whole suite, outside the per-scenario timeouts dlm-suite enforces."""
    per_round = sum(s.timeout_s for s in matrix.select_scenarios(selection.scenario))
    return per_round * len(matrix.select_runtimes(selection.runtime)) * selection.repeat * 1.5 + 60
