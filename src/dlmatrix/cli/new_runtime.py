"""`dlmatrix new-runtime NAME`: a runtime plug-in skeleton to fill in (docs/runtimes.md)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from dlmatrix.cli.command import Command
from dlmatrix.log import Logger
from dlmatrix.runtimes.skeleton import write_skeleton


@dataclass(frozen=True)
class NewRuntimeOptions:
    name: str
    into: Path

    @classmethod
    def of(cls, args: argparse.Namespace) -> NewRuntimeOptions:
        return cls(args.name, args.into)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the runtime's name, also the new directory's")
    parser.add_argument(
        "--into", type=Path, default=Path("."), metavar="DIR", help="where to make NAME/ (default: here)"
    )


def run(options: NewRuntimeOptions, log: Logger) -> int:
    directory = options.into / options.name
    written = write_skeleton(directory)
    log.text(
        f"wrote {', '.join(map(str, written))}; fill in the TODOs (docs/runtimes.md), then run with "
        f"--runtimes {directory}"
    )
    return 0


COMMAND = Command(
    "new-runtime", "write a runtime plug-in skeleton to fill in", add_arguments, NewRuntimeOptions.of, run
)
