"""Command line: dlmatrix list | run | plan | merge | show | explain | new-runtime | init | render |
bases | sources | report | bench | prune."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from dlmatrix.cli import (
    bases,
    bench,
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
from dlmatrix.cli.command import Command
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
        bench.COMMAND,
        render.COMMAND,
        bases.COMMAND,
        sources.COMMAND,
        report.COMMAND,
        prune.COMMAND,
    )
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dlmatrix", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS.values():
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None, log: Logger | None = None) -> int:
    args = build_parser().parse_args(argv)
    install_signal_handlers()
    log = log or Logger.from_environment()
    try:
        return COMMANDS[args.command](args, log)
    except DlmatrixError as error:
        log.error(str(error))
        return EXIT_USER
    except Interrupted as stop:
        settle()
        log.comment(f"dlmatrix: interrupted by {stop.name}; stopped")
        for line in stop.details:
            log.comment(f"  {line}")
        return stop.exit_code
    except KeyboardInterrupt:  # before the handlers were installed
        return 130
    except Exception:
        log.bug()
        return EXIT_BUG
