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
    cells = matrix.pairs(selection.scenario, selection.runtime)
    return sum(scenario.timeout_s for scenario, _ in cells) * selection.repeat * 1.5 + 60


def suite_arguments(selection: Selection) -> list[str]:
    """dlm-suite's command line for a selection, wherever it runs."""
    return [
        "--json",
        "--repeat",
        str(selection.repeat),
        "--scenario",
        selection.scenario,
        "--runtime",
        selection.runtime,
    ]
