"""`dlmatrix list`: the selected cells of the matrix with their expectations."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from dlmatrix.cli.arguments import Selection, add_runtimes, add_selection
from dlmatrix.cli.command import Command, checkout
from dlmatrix.config.project import find_project
from dlmatrix.log import Logger
from dlmatrix.model.arches import environment_arches
from dlmatrix.model.expectations import expect


@dataclass(frozen=True)
class ListOptions:
    selection: Selection
    runtimes: tuple[Path, ...]

    @classmethod
    def of(cls, args: argparse.Namespace) -> ListOptions:
        return cls(Selection.of(args).under(find_project()), tuple(args.runtimes))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_selection(parser)
    add_runtimes(parser)


def run(options: ListOptions, log: Logger) -> int:
    matrix = checkout(log, options.runtimes)
    table = Table("environment", "libc", "arch", "scenario", "runtime", "expected", "reason")
    selector = options.selection.selector(matrix)
    arches = environment_arches(matrix)
    places: list[tuple[str, str, str | None]] = [(h.name, h.libc, None) for h in matrix.hosts]
    places += [(i.name, i.libc, i.libc_version) for i in matrix.images]
    for name, libc, version in places:
        if not selector.image(name):
            continue
        for scenario, runtime in selector.pairs(matrix, name):
            expectation = expect(matrix.rules, scenario.name, runtime.name, libc, version, arches[name])
            table.add_row(
                name,
                f"{libc} {version}" if version else libc,
                arches[name],
                scenario.name,
                runtime.name,
                expectation.outcome or "-",
                expectation.reason,
            )
    log.print(table)
    return 0


COMMAND = Command(
    "list", "list the cells of the matrix with their expectations", add_arguments, ListOptions.of, run
)
