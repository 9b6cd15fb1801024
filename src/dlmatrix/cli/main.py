"""Command line: dlmatrix list | run | plan | merge | show | bisect | explain | new-runtime | init | render |
bases | cache | sources | report | bench | prune."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any, NoReturn

from dlmatrix import __version__
from dlmatrix.cli import (
    bases,
    bench,
    bisect,
    cache,
    explain,
    init,
    list_cells,
    merge,
    new_runtime,
    plan,
    prune,
    render,
    report,
    run,
    show,
    sources,
)
from dlmatrix.cli.command import Command, add_quiet
from dlmatrix.errors import DlmatrixError
from dlmatrix.interrupts import Interrupted, settle
from dlmatrix.interrupts import install as install_signal_handlers
from dlmatrix.log import Logger

EXIT_USER = 2  # a configuration, set-up or engine problem: one message naming the cause and the fix
EXIT_BUG = 70  # EX_SOFTWARE: a traceback is a bug, never a verdict (1) or a set-up problem (2)

# Every command, in the order `dlmatrix --help` lists them.
COMMANDS: dict[str, Command[Any]] = {
    command.name: command
    for command in (
        list_cells.COMMAND,
        run.COMMAND,
        plan.COMMAND,
        merge.COMMAND,
        explain.COMMAND,
        new_runtime.COMMAND,
        init.COMMAND,
        show.COMMAND,
        bisect.COMMAND,
        bench.COMMAND,
        render.COMMAND,
        bases.COMMAND,
        cache.COMMAND,
        sources.COMMAND,
        report.COMMAND,
        prune.COMMAND,
    )
}


def usage_error(message: str, prog: str) -> str:
    return f"dlmatrix: error: {message}\n  fix: {prog} --help lists the options\n"


class Parser(argparse.ArgumentParser):
    """argparse, its errors in the form of every other: the cause, then the fix (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER, usage_error(message, self.prog))


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments; one the command does not know is named with that command's --help (argparse
    itself would send people to the top-level one)."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        prog = f"{parser.prog} {args.command}"
        parser.exit(EXIT_USER, usage_error(f"unrecognized arguments: {' '.join(unknown)}", prog))
    return args


def build_parser() -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = Parser(prog="dlmatrix", description=__doc__)
    parser.add_argument("--version", action="version", version=f"dlmatrix {__version__}")
    add_quiet(parser)
    subparsers = parser.add_subparsers(dest="command", required=True)  # of the same class: Parser
    for command in COMMANDS.values():
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None, log: Logger | None = None) -> int:
    args = parse(argv)
    install_signal_handlers()
    json = COMMANDS[args.command].json and args.json
    log = log or Logger.from_environment(quiet=args.quiet, json=json)
    try:
        return COMMANDS[args.command](args, log)
    except DlmatrixError as error:
        log.error(str(error))
        return EXIT_USER
    except Interrupted as stop:
        settle()
        log.status(f"dlmatrix: interrupted by {stop.name}; stopped")
        for line in stop.details:
            log.status(f"  {line}")
        return stop.exit_code
    except KeyboardInterrupt:  # before the handlers were installed
        return 130
    except Exception:
        log.bug()
        return EXIT_BUG
