"""`dlmatrix list`: the selected cells of the matrix with their expectations."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from dlmatrix.cli.arguments import Selection, add_runtimes, add_selection
from dlmatrix.cli.command import Command, checkout
from dlmatrix.config.project import Project, find_project
from dlmatrix.log import Logger
from dlmatrix.model.arches import environment_arches
from dlmatrix.model.catalog import Matrix
from dlmatrix.model.expectations import expect
from dlmatrix.model.selector import Selector


@dataclass(frozen=True)
class ListOptions:
    selection: Selection
    runtimes: tuple[Path, ...]
    json: bool
    project: Project | None  # the project file, read once: its selection and its catalog

    @classmethod
    def of(cls, args: argparse.Namespace) -> ListOptions:
        project = find_project()
        return cls(Selection.of(args).under(project), tuple(args.runtimes), args.json, project)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_selection(parser)
    add_runtimes(parser)


def rows(matrix: Matrix, selector: Selector) -> list[dict[str, str | None]]:
    """The selected cells with their expectations: also `list --json`'s cells (docs/results.md)."""
    arches = environment_arches(matrix)
    places: list[tuple[str, str, str | None]] = [(h.name, h.libc, None) for h in matrix.hosts]
    places += [(i.name, i.libc, i.libc_version) for i in matrix.images]
    found = []
    for name, libc, version in places:
        if not selector.image(name):
            continue
        for scenario, runtime in selector.pairs(matrix, name):
            expectation = expect(
                matrix.rules, scenario.name, runtime.name, libc, version, arches[name], image=name
            )
            found.append(
                {
                    "image": name,
                    "libc": libc,
                    "libc_version": version,
                    "arch": arches[name],
                    "scenario": scenario.name,
                    "runtime": runtime.name,
                    "expected": expectation.outcome,
                    "reason": expectation.reason,
                }
            )
    return found


def run(options: ListOptions, log: Logger) -> int:
    matrix = checkout(log, options.project, options.runtimes)
    found = rows(matrix, options.selection.selector(matrix))
    if options.json:
        log.data({"cells": found})
        return 0
    table = Table("environment", "libc", "arch", "scenario", "runtime", "expected", "reason")
    for row in found:
        libc = f"{row['libc']} {row['libc_version']}" if row["libc_version"] else row["libc"]
        table.add_row(
            row["image"], libc, row["arch"], row["scenario"], row["runtime"], row["expected"] or "-",
            row["reason"],
        )  # fmt: skip
    log.print(table)
    return 0


COMMAND = Command(
    "list",
    "list the cells of the matrix with their expectations",
    add_arguments,
    ListOptions.of,
    run,
    json=True,
)
