"""`dlmatrix show DIR`: the cells of DIR/results.json as a table (no checkout needed)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from dlmatrix.cli.arguments import Selection, add_selection
from dlmatrix.cli.command import Command
from dlmatrix.log import Logger
from dlmatrix.model.cells import ResultSet
from dlmatrix.report.documents import show_document
from dlmatrix.report.terminal import cell_table, counts_line
from dlmatrix.results.io import read_results


@dataclass(frozen=True)
class ShowOptions:
    directory: Path
    selection: Selection
    json: bool

    @classmethod
    def of(cls, args: argparse.Namespace) -> ShowOptions:
        return cls(args.directory, Selection.of(args), args.json)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", type=Path, metavar="DIR")
    add_selection(parser)


def run(options: ShowOptions, log: Logger) -> int:
    path = options.directory / "results.json"
    results = read_results(path)
    # the architectures as the results recorded them: show needs no checkout
    selector = options.selection.selector(None, {c.image: c.arch for c in results.cells})
    cells = [c for c in results.cells if selector.covers(c.image, c.scenario, c.runtime)]
    if options.json:
        log.data(show_document(path, cells))
        return 0
    log.print(cell_table(cells))
    log.print(counts_line(ResultSet(results.run, cells)))
    return 0


COMMAND = Command(
    "show", "print the cells of DIR/results.json as a table", add_arguments, ShowOptions.of, run, json=True
)
