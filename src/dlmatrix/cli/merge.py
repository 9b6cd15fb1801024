"""`dlmatrix merge`: one results.json and report from the results of shards (merge's refusals
are dlmatrix.results.merge's)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from dlmatrix.cli.command import Command
from dlmatrix.cli.report_set import write_report_set
from dlmatrix.log import Logger
from dlmatrix.report.terminal import verdict_counts
from dlmatrix.results.io import read_results
from dlmatrix.results.merge import merge
from dlmatrix.results.outdir import OutputDir


@dataclass(frozen=True)
class MergeOptions:
    results: tuple[Path, ...]  # results.json files or their directories
    out: Path
    allow_mixed: bool  # of different commits or dlmatrix versions
    previous: Path | None

    @classmethod
    def of(cls, args: argparse.Namespace) -> MergeOptions:
        return cls(tuple(args.results), args.out, args.allow_mixed, args.previous)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "results", type=Path, nargs="+", metavar="RESULTS", help="results.json files or their directories"
    )
    parser.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="where to write the merged report"
    )
    parser.add_argument(
        "--allow-mixed", action="store_true", help="merge results of different commits or dlmatrix versions"
    )
    parser.add_argument("--previous", type=Path, metavar="FILE", help="results.json to compare with")


def run(options: MergeOptions, log: Logger) -> int:
    results = merge(options.results, options.allow_mixed)
    previous = read_results(options.previous) if options.previous else None
    with OutputDir(options.out) as out:
        written, answer = write_report_set(out, results, previous)
    log.text(f"merged {len(options.results)} results: {verdict_counts(answer.counts, len(answer.cells))}")
    log.text(f"wrote {', '.join(map(str, written))}")
    return 1 if answer.failing else 0


COMMAND = Command(
    "merge", "one results.json and report from the results of shards", add_arguments, MergeOptions.of, run
)
