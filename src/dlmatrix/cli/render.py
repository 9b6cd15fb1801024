"""`dlmatrix render [--check]`: dockerfiles/*/Dockerfile from the templates, and none that no
image produces."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from dlmatrix.backends.oci.dockerfiles import orphans, remove_orphans, stale, write_all
from dlmatrix.cli.command import Command, checkout
from dlmatrix.errors import DlmatrixError
from dlmatrix.log import Logger


@dataclass(frozen=True)
class RenderOptions:
    check: bool  # only compare: a stale committed Dockerfile is an error

    @classmethod
    def of(cls, args: argparse.Namespace) -> RenderOptions:
        return cls(args.check)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true", help="fail if a committed Dockerfile is stale")


def run(options: RenderOptions, log: Logger) -> int:
    matrix = checkout(log)
    if options.check:
        outdated, orphaned = stale(matrix), orphans(matrix)
        for path in outdated:
            log.text(f"stale: {path.relative_to(matrix.root)}")
        for path in orphaned:
            log.text(f"orphan: {path.relative_to(matrix.root)} (no image of matrix/images.yaml produces it)")
        if outdated or orphaned:
            raise DlmatrixError(
                f"{len(outdated) + len(orphaned)} generated Dockerfile(s) differ from what the "
                "templates and matrix/images.yaml produce",
                "run `dlmatrix render` and commit the result",
            )
        log.text(f"{len(matrix.images)} Dockerfiles match their templates")
        return 0
    for path in write_all(matrix):
        log.text(f"wrote {path.relative_to(matrix.root)}")
    for path in remove_orphans(matrix):  # as docker-library's apply-templates.sh starts afresh
        log.text(f"removed {path.relative_to(matrix.root)}: no image of matrix/images.yaml produces it")
    return 0


COMMAND = Command(
    "render", "render dockerfiles/*/Dockerfile from the templates", add_arguments, RenderOptions.of, run
)
