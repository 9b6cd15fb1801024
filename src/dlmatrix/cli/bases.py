"""`dlmatrix bases`: every selected image's base, on every engine named: present, pulled, built
offline with mmdebstrap, or copied from another engine."""

from __future__ import annotations

import argparse
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from dlmatrix.backends.oci.bases import BaseProvider, BaseUnavailable
from dlmatrix.backends.oci.engine import Engine
from dlmatrix.backends.platform import SETUP_HINT, runs_here
from dlmatrix.cli.arguments import add_engine, engines_of, positive
from dlmatrix.cli.command import Command, checkout
from dlmatrix.config.project import find_project
from dlmatrix.log import Logger
from dlmatrix.model.catalog import Image, Matrix
from dlmatrix.model.selector import Patterns


@dataclass(frozen=True)
class BasesOptions:
    image: tuple[str, ...]  # image globs, each a comma-separated list
    engines: tuple[str, ...]  # engine specs; none: the default engine
    jobs: int  # bases provided at once

    @classmethod
    def of(cls, args: argparse.Namespace) -> BasesOptions:
        return cls(tuple(args.image), engines_of(args), args.jobs)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--image", action="append", default=[], metavar="GLOB[,GLOB]", help="images whose bases to provide"
    )
    add_engine(parser)
    parser.add_argument("--jobs", type=positive, default=2, metavar="N", help="bases provided in parallel")


def run(options: BasesOptions, log: Logger) -> int:
    matrix = checkout(log, find_project())
    engines = [Engine(spec) for spec in options.engines or ["default"]]
    return max(provide_bases(matrix, options, engine, engines, log) for engine in engines)


def provide_bases(
    matrix: Matrix, options: BasesOptions, engine: Engine, engines: list[Engine], log: Logger
) -> int:
    """1 when a base that can be had here (pulled or built offline) could not be, else 0."""
    with log.group(f"dlmatrix bases: {engine.spec.name}"):
        log.step(f"engine: {engine.describe()}")
        provider = BaseProvider(engine, Path(tempfile.gettempdir()) / "dlmatrix-bases", engines)
        chosen = Patterns.of(options.image or "*")
        images = {i.base_ref: i for i in matrix.images if chosen(i.name)}.values()
        with ThreadPoolExecutor(max_workers=options.jobs) as pool:
            try:
                missing = sum(pool.map(lambda image: provide(matrix, provider, image, log), images))
            except BaseException:  # a stop: mmdebstrap and docker import end with it
                engine.children.kill_all()
                raise
    return 1 if missing else 0


def provide(matrix: Matrix, provider: BaseProvider, image: Image, log: Logger) -> bool:
    """True when a base that can be had here (pulled or built offline) could not be."""
    runs = runs_here(matrix, image)
    if runs.how == "unavailable":
        log.step(f"{image.base_ref}: left out: {runs.why}; to run it: {SETUP_HINT}")
        return False
    try:
        base = provider.provide(image)
    except BaseUnavailable as unavailable:
        log.step(f"{image.base_ref}: unavailable: {unavailable}")
        return image.offline_suite is not None  # registry-only bases are expected to be missing here
    log.step(f"{image.base_ref}: {base.ref} ({base.how})")
    return False


COMMAND = Command(
    "bases", "provide every base image: present, pulled or built offline", add_arguments, BasesOptions.of, run
)
