"""`dlmatrix explain CELL`: one cell in full, from a results.json."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from dlmatrix.cli.command import Command
from dlmatrix.errors import DlmatrixError
from dlmatrix.log import Logger
from dlmatrix.report.documents import explain_document
from dlmatrix.report.explain import explain_text, find_cells
from dlmatrix.results.io import read_results


@dataclass(frozen=True)
class ExplainOptions:
    cell: str  # IMAGE/SCENARIO/RUNTIME, globs allowed
    results: Path | None  # a results.json or its directory; None: ./reports/
    json: bool

    @classmethod
    def of(cls, args: argparse.Namespace) -> ExplainOptions:
        return cls(args.cell, args.results, args.json)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("cell", metavar="CELL", help="IMAGE/SCENARIO/RUNTIME (globs allowed)")
    parser.add_argument(
        "--results",
        type=Path,
        metavar="PATH",
        help="a results.json or its directory (default: reports/ of the current directory)",
    )


def results_file(given: Path | None) -> Path:
    """The results.json to read: --results (a file or its directory), else ./reports/'s, which is
    where `dlmatrix run --out reports` and `tox -e matrix` leave it."""
    if given is not None:
        return given / "results.json" if given.is_dir() else given
    path = Path("reports") / "results.json"
    if not path.is_file():
        raise DlmatrixError(
            f"no {path} in {Path.cwd()}",
            "name the results with --results PATH (a results.json or the --out directory of a run)",
        )
    return path


def run(options: ExplainOptions, log: Logger) -> int:
    path = results_file(options.results)
    cells = find_cells(read_results(path).cells, options.cell)
    if options.json:
        log.data(explain_document(path, cells))
        return 0
    log.info(f"from {path}")
    for cell in cells:
        log.text("\n" + explain_text(cell))
    return 0


COMMAND = Command(
    "explain",
    "print one cell's expectation, outcome, ELF facts, evidence and loader account",
    add_arguments,
    ExplainOptions.of,
    run,
    json=True,
)
