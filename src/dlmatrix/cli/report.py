"""`dlmatrix report DIR`: index.html, junit.xml, summary.md (and the badge) again from
DIR/results.json, and the ending a run printed (--headlines: with each runtime's headline)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from dlmatrix.cli.command import Command
from dlmatrix.cli.report_set import default_previous
from dlmatrix.log import Logger
from dlmatrix.report.answer import build_answer
from dlmatrix.report.files import report_files
from dlmatrix.report.terminal import print_outcome
from dlmatrix.results.io import read_results
from dlmatrix.results.outdir import OutputDir


@dataclass(frozen=True)
class ReportOptions:
    directory: Path
    previous: Path | None
    headlines: bool = False

    @classmethod
    def of(cls, args: argparse.Namespace) -> ReportOptions:
        return cls(args.directory, args.previous, args.headlines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", type=Path, metavar="DIR")
    parser.add_argument(
        "--previous",
        type=Path,
        metavar="FILE",
        help="results.json to compare with (default: DIR/previous-results.json)",
    )
    parser.add_argument(
        "--headlines",
        action="store_true",
        help="print each runtime's headline in full before the ending (as in summary.md)",
    )


def run(options: ReportOptions, log: Logger) -> int:
    results = read_results(options.directory / "results.json")
    previous_path = options.previous or default_previous(options.directory)
    previous = read_results(previous_path) if previous_path else None
    answer = build_answer(results, previous)
    with OutputDir(options.directory) as out:
        written = out.write(report_files(answer))
    print_outcome(answer, written, log, headlines=options.headlines)
    if previous_path:  # the ending's last line names what was written; this, what it was compared with
        log.text(f"compared with {previous_path}")
    return 0


COMMAND = Command(
    "report",
    "render index.html, junit.xml, summary.md from DIR/results.json",
    add_arguments,
    ReportOptions.of,
    run,
)
