"""`dlmatrix sources`: check (sha256) the archives and patches that the runtimes built from source
look up in the sources directories (those that say where they come from); fetch the missing
archives unless --offline."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from dlmatrix.cli.arguments import add_sources
from dlmatrix.cli.command import Command, checkout
from dlmatrix.config.project import find_project
from dlmatrix.errors import DlmatrixError
from dlmatrix.log import Logger
from dlmatrix.model.selector import Patterns
from dlmatrix.runtimes.sources import SourceDirs, cache_dir, fetch, snapshots


@dataclass(frozen=True)
class SourcesOptions:
    sources: str | None  # --sources DIR: looked up first, and fetched into
    runtime: tuple[str, ...]  # runtime globs, each a comma-separated list
    offline: bool

    @classmethod
    def of(cls, args: argparse.Namespace) -> SourcesOptions:
        return cls(args.sources, tuple(args.runtime), args.offline)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_sources(parser)
    parser.add_argument(
        "--runtime", action="append", default=[], metavar="GLOB[,GLOB]", help="runtime variants"
    )
    parser.add_argument("--offline", action="store_true", help="only check; fetch nothing")


def run(options: SourcesOptions, log: Logger) -> int:
    """Each selected snapshot and patch: found (and checked), fetched, or what is missing."""
    matrix = checkout(log, find_project())
    dirs = SourceDirs.from_option(options.sources)
    target = Path(options.sources) if options.sources else cache_dir()
    missing = 0
    for needed in snapshots(matrix, Patterns.of(options.runtime or "*")):
        found = dirs.find(needed.file, needed.sha256)
        if found is None and needed.commit and not options.offline:
            log.text(f"fetching {needed.file} from {needed.repository} ({needed.commit[:12]})")
            try:
                found = fetch(needed, target)
            except DlmatrixError as failed:  # the others may still come
                log.text(f"  {failed}")
        said = f" ({found})" if found else (f": {needed.origin}; put it in {target}" if needed.origin else "")
        log.text(f"{'ok' if found else 'MISSING'}: {needed.file} for {', '.join(needed.users)}{said}")
        missing += found is None
    if missing:
        raise DlmatrixError(
            f"{missing} source file(s) missing from {dirs.describe()}",
            "run `dlmatrix sources` where the network reaches the repositories, or copy the files there",
        )
    return 0


COMMAND = Command(
    "sources",
    "check the archives and patches of the runtimes built from source; fetch missing archives",
    add_arguments,
    SourcesOptions.of,
    run,
)
