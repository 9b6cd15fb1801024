"""dlm-suite's command line for a selection, and the harness bound that follows from it."""

from __future__ import annotations

from dlmatrix.model.catalog import Matrix
from dlmatrix.model.selector import Selector


def suite_timeout(matrix: Matrix, selector: Selector, image: str | None = None) -> float:
    """The harness's own bound on a whole suite, outside the per-scenario timeouts dlm-suite enforces."""
    cells = selector.pairs(matrix, image)
    return sum(scenario.timeout_s for scenario, _ in cells) * selector.repeat * 1.5 + 60


MAX_SUITE_JOBS = 64  # dlm-suite's own bound on --jobs, which it takes from here (generated.h)


def suite_arguments(
    matrix: Matrix, selector: Selector, jobs: int, image: str | None = None, tokens: bool = False
) -> list[str]:
    """dlm-suite's command line for the selected cells of one environment, wherever it runs. With
    tokens, the catalog and then one byte per attempt it may start come on its standard input
    (dlmatrix.backends.oci.tokens)."""
    scenarios, runtimes = selector.suite_filters(matrix, image)
    arguments = [
        "--json",
        "--repeat",
        str(selector.repeat),
        "--scenario",
        scenarios,
        "--runtime",
        runtimes,
        "--jobs",
        str(min(max(1, jobs), MAX_SUITE_JOBS)),
    ]
    return [*arguments, "--suite", "-", "--tokens"] if tokens else arguments
