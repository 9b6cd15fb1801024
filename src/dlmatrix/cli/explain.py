"""`dlmatrix explain CELL`: one cell in full, from a results.json."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from dlmatrix.cli.command import Command
from dlmatrix.config.root import checkout_root
from dlmatrix.errors import DlmatrixError
from dlmatrix.log import Logger
from dlmatrix.report.explain import explain_text, find_cells
from dlmatrix.results.io import read_results


@dataclass(frozen=True)
class ExplainOptions:
    cell: str  # IMAGE/SCENARIO/RUNTIME, globs allowed
    results: Path | None  # a results.json or its directory; None: the checkout's reports/

    @classmethod
    def of(cls, args: argparse.Namespace) -> ExplainOptions:
        return cls(args.cell, args.results)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("cell", metavar="CELL", help="IMAGE/SCENARIO/RUNTIME (globs allowed)")
    parser.add_argument(
        "--results",
        type=Path,
        metavar="PATH",
        help="a results.json or its directory (default: the checkout's reports/)",
    )


def published() -> Path:
    """The checkout's reports/; an installed dlmatrix publishes no results."""
    checkout = checkout_root()
    if checkout is None:
        raise DlmatrixError(
            "no results to explain: outside a dlmatrix checkout there is no reports/",
            "name a run's output: `dlmatrix explain CELL --results OUT` (the --out of `dlmatrix run`)",
        )
    return checkout / "reports"


def run(options: ExplainOptions, log: Logger) -> int:
    path = options.results or published()
    results = read_results(path / "results.json" if path.is_dir() else path)
    for index, cell in enumerate(find_cells(results.cells, options.cell)):
        log.text(("\n" if index else "") + explain_text(cell))
    return 0


COMMAND = Command(
    "explain",
    "print one cell's expectation, outcome, ELF facts, evidence and loader account",
    add_arguments,
    ExplainOptions.of,
    run,
)
