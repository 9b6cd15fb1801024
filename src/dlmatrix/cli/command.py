"""What a command is, for the one table of them in dlmatrix.cli.main (as tox's session/cmd/):
its name and help, its arguments, the typed options made from them once, and its handler.
Past `options` nothing sees an argparse.Namespace."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from dlmatrix.config.load import load_matrix
from dlmatrix.config.project import Project
from dlmatrix.log import Logger
from dlmatrix.model.catalog import Matrix

Options = TypeVar("Options")


@dataclass(frozen=True)
class Command(Generic[Options]):
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    options: Callable[[argparse.Namespace], Options]
    run: Callable[[Options, Logger], int]  # the exit code
    json: bool = False  # it offers --json: one JSON document on stdout instead of its tables

    def add_parser(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        parser = subparsers.add_parser(self.name, help=self.help)
        self.add_arguments(parser)
        add_quiet(parser, default=argparse.SUPPRESS)  # so that `dlmatrix -q CMD` is not undone
        if self.json:
            parser.add_argument(
                "--json", action="store_true", help="print one JSON document on stdout (docs/results.md)"
            )

    def __call__(self, args: argparse.Namespace, log: Logger) -> int:
        return self.run(self.options(args), log)


def add_quiet(parser: argparse.ArgumentParser, default: object = False) -> None:
    """-q/--quiet, taken before the command's name as after it (dlmatrix.log says what it silences)."""
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=default,
        help="no progress or informational lines; warnings, errors and the result stay",
    )


def checkout(log: Logger, project: Project | None, runtimes: Sequence[Path] = ()) -> Matrix:
    """The catalog (config.root finds it), extended by the project file (config.project.find_project,
    read once by the command), with its plug-ins and the --runtimes ones; one that cannot be used is
    named (its cells report build-error, so the run goes on)."""
    extra = (*project.runtimes, *runtimes) if project else tuple(runtimes)
    matrix = load_matrix(runtime_dirs=extra, project=project)
    for runtime in matrix.plugins():
        if runtime.problem:
            log.warning(
                f"runtime {runtime.name} cannot be used, its cells report build-error: {runtime.problem}"
            )
    return matrix
