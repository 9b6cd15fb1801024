"""`dlmatrix prune`: remove this project's images that no current input produces, and stray
containers, on each engine named; with --build-cache, the engine's build cache left unused."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass

from dlmatrix.backends.oci.engine import Engine
from dlmatrix.backends.oci.prune import prune_plan
from dlmatrix.cli.arguments import add_engine, engines_of
from dlmatrix.cli.command import Command, checkout
from dlmatrix.config.project import find_project
from dlmatrix.log import Logger
from dlmatrix.model.catalog import Matrix


@dataclass(frozen=True)
class PruneOptions:
    dry_run: bool
    engines: tuple[str, ...]  # engine specs; none: the default engine
    build_cache: str | None = None  # how long unused (a Go duration), or None: the cache stays

    @classmethod
    def of(cls, args: argparse.Namespace) -> PruneOptions:
        return cls(args.dry_run, engines_of(args), args.build_cache)


def unused_for(text: str) -> str:
    """An age as the engine's `until` filter takes it: 7d (which Go's durations lack) is 168h."""
    found = re.fullmatch(r"(\d+)([smhd])", text)
    if not found:
        raise argparse.ArgumentTypeError(f"{text!r} is not an age like 7d, 24h, 30m or 0s")
    number, unit = int(found[1]), found[2]
    return f"{number * 24}h" if unit == "d" else f"{number}{unit}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    parser.add_argument(
        "--build-cache",
        metavar="AGE",
        type=unused_for,
        help="also remove the engine's build cache that no build used within AGE (7d, 24h, 0s): "
        "the whole engine's, since BuildKit marks none of it as dlmatrix's",
    )
    add_engine(parser)


def run(options: PruneOptions, log: Logger) -> int:
    matrix = checkout(log, find_project())
    engines = [Engine(spec) for spec in options.engines or ["default"]]
    return max(prune_engine(matrix, options, engine, log) for engine in engines)


def prune_engine(matrix: Matrix, options: PruneOptions, engine: Engine, log: Logger) -> int:
    dry_run = options.dry_run
    log.text(f"engine: {engine.describe()}")
    plan = prune_plan(matrix, engine)
    doing = "would remove" if dry_run else "removing"
    for ref, why in plan.images:
        log.text(f"{doing} {ref}: {why}")
    for name in plan.containers:
        log.text(f"{doing} container {name}: no run owns it")
    if not dry_run:
        plan.carry_out(engine)
    for refusal in plan.refused:
        log.text(f"not removed: {refusal}")
    kept = ", ".join(plan.kept) or "none"
    verb = "to remove" if dry_run else "removed"
    log.text(f"{len(plan.images)} image(s) and {len(plan.containers)} container(s) {verb}; kept: {kept}")
    if options.build_cache is not None:
        unused = f"the engine's build cache unused for {options.build_cache}"
        log.text(
            f"would remove {unused}"
            if dry_run
            else f"{unused}: {engine.prune_build_cache(options.build_cache)}"
        )
    return 1 if plan.refused else 0


COMMAND = Command(
    "prune",
    "remove this project's images that no current input produces, and stray containers",
    add_arguments,
    PruneOptions.of,
    run,
)
