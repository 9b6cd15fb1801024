"""`dlmatrix prune`: remove this project's images that no current input produces, and stray
containers, on each engine named."""

from __future__ import annotations

import argparse
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

    @classmethod
    def of(cls, args: argparse.Namespace) -> PruneOptions:
        return cls(args.dry_run, engines_of(args))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    add_engine(parser)


def run(options: PruneOptions, log: Logger) -> int:
    matrix = checkout(log, find_project())
    engines = [Engine(spec) for spec in options.engines or ["default"]]
    return max(prune_engine(matrix, options.dry_run, engine, log) for engine in engines)


def prune_engine(matrix: Matrix, dry_run: bool, engine: Engine, log: Logger) -> int:
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
    return 1 if plan.refused else 0


COMMAND = Command(
    "prune",
    "remove this project's images that no current input produces, and stray containers",
    add_arguments,
    PruneOptions.of,
    run,
)
