"""`dlmatrix show DIR`: the cells of DIR/results.json as a table (no checkout needed), narrowed by
the selection globs and by --verdict."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from dlmatrix.cli.arguments import Selection, add_selection
from dlmatrix.cli.command import Command
from dlmatrix.errors import DlmatrixError
from dlmatrix.log import Logger
from dlmatrix.model.cells import ResultSet
from dlmatrix.model.outcomes import VERDICTS
from dlmatrix.model.selector import split_globs
from dlmatrix.report.documents import show_document
from dlmatrix.report.terminal import cell_table, counts_line
from dlmatrix.results.io import read_results


@dataclass(frozen=True)
class ShowOptions:
    directory: Path
    selection: Selection
    json: bool
    verdicts: tuple[str, ...] = ()  # none: every verdict

    @classmethod
    def of(cls, args: argparse.Namespace) -> ShowOptions:
        return cls(args.directory, Selection.of(args), args.json, tuple(split_globs(args.verdict)))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", type=Path, metavar="DIR")
    add_selection(parser)
    parser.add_argument(
        "--verdict",
        action="append",
        default=[],
        metavar="VERDICT[,VERDICT]",
        help=f"only cells with these verdicts ({', '.join(VERDICTS)}; default: all)",
    )


def run(options: ShowOptions, log: Logger) -> int:
    unknown = [v for v in options.verdicts if v not in VERDICTS]
    if unknown:
        raise DlmatrixError(f"--verdict {', '.join(unknown)}: no such verdict", f"use {', '.join(VERDICTS)}")
    path = options.directory / "results.json"
    results = read_results(path)
    # the architectures as the results recorded them: show needs no checkout
    selector = options.selection.selector(None, {c.image: c.arch for c in results.cells})
    cells = [
        c
        for c in results.cells
        if selector.covers(c.image, c.scenario, c.runtime)
        and (not options.verdicts or c.verdict in options.verdicts)
    ]
    if options.json:
        log.data(show_document(path, cells))
        return 0
    log.print(cell_table(cells))
    log.print(counts_line(ResultSet(results.run, cells)))
    return 0


COMMAND = Command(
    "show", "print the cells of DIR/results.json as a table", add_arguments, ShowOptions.of, run, json=True
)
