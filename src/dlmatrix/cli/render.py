"""`dlmatrix render [--check] [--into DIR]`: a Dockerfile per image from the templates, and none
that no image produces. In a checkout they go to dockerfiles/ (committed); an installed dlmatrix
never writes into its package: they go to the work directory, or to --into DIR."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from dlmatrix.backends.oci.dockerfiles import generated_dir, orphans, remove_orphans, stale, write_all
from dlmatrix.cli.command import Command, checkout
from dlmatrix.config.project import find_project
from dlmatrix.errors import DlmatrixError
from dlmatrix.log import Logger


@dataclass(frozen=True)
class RenderOptions:
    check: bool  # only compare: a stale committed Dockerfile is an error
    into: Path | None  # where the Dockerfiles go (None: dockerfiles/ of the checkout, or the work directory)

    @classmethod
    def of(cls, args: argparse.Namespace) -> RenderOptions:
        return cls(args.check, args.into)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true", help="fail if a committed Dockerfile is stale")
    parser.add_argument(
        "--into",
        type=Path,
        metavar="DIR",
        help="write (or --check) DIR/IMAGE/Dockerfile (default: the checkout's dockerfiles/; installed, "
        "$XDG_CACHE_HOME/dlmatrix/dockerfiles)",
    )


def run(options: RenderOptions, log: Logger) -> int:
    matrix = checkout(log, find_project())
    into = generated_dir(matrix, options.into)

    def shown(path: Path) -> Path:  # dockerfiles/IMAGE/Dockerfile
        return path.relative_to(into.parent)

    if options.check:
        outdated, orphaned = stale(matrix, options.into), orphans(matrix, options.into)
        for path in outdated:
            log.text(f"stale: {shown(path)}")
        for path in orphaned:
            log.text(f"orphan: {shown(path)} (no image of matrix/images.yaml produces it)")
        if outdated or orphaned:
            raise DlmatrixError(
                f"{len(outdated) + len(orphaned)} generated Dockerfile(s) in {into} differ from what "
                "the templates and matrix/images.yaml produce",
                "run `dlmatrix render` and commit the result",
            )
        log.text(f"{len(matrix.images)} Dockerfiles match their templates")
        return 0
    for path in write_all(matrix, options.into):
        log.text(f"wrote {shown(path)}")
    for path in remove_orphans(matrix, options.into):  # as docker-library's apply-templates.sh starts afresh
        log.text(f"removed {shown(path)}: no image of matrix/images.yaml produces it")
    return 0


COMMAND = Command(
    "render", "render dockerfiles/*/Dockerfile from the templates", add_arguments, RenderOptions.of, run
)
