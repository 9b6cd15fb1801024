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


MAX_SUITE_JOBS = 64  # dlm-suite's own bound (MAX_JOBS in suite.c)


def suite_arguments(selection: Selection, jobs: int, tokens: bool = False) -> list[str]:
    """dlm-suite's command line for a selection, wherever it runs. With tokens, the catalog and
    then one byte per attempt it may start come on its standard input (dlmatrix.budget)."""
    arguments = [
        "--json",
        "--repeat",
        str(selection.repeat),
        "--scenario",
        selection.scenario,
        "--runtime",
        selection.runtime,
        "--jobs",
        str(min(max(1, jobs), MAX_SUITE_JOBS)),
    ]
    return [*arguments, "--suite", "-", "--tokens"] if tokens else arguments
