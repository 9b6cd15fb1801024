"""`dlmatrix init`: in a library's own repository, a runtime plug-in that builds it from the working
tree, the project file and a CI file (docs/ci.md)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from dlmatrix.cli.command import Command
from dlmatrix.log import Logger
from dlmatrix.model.catalog import BUILD_SYSTEMS
from dlmatrix.runtimes.scaffold import ACTION, CI_KINDS, InitRequest, write_init


@dataclass(frozen=True)
class InitOptions:
    request: InitRequest

    @classmethod
    def of(cls, args: argparse.Namespace) -> InitOptions:
        return cls(
            InitRequest(
                root=Path.cwd(),
                plugin_dir=args.into,
                name=args.name,
                build_system=args.build_system,
                ci=args.ci,
                action=args.action,
                force=args.force,
            )
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--into",
        type=Path,
        default=Path(".dlmatrix"),
        metavar="DIR",
        help="the plug-in's directory, relative to the repository (default: .dlmatrix)",
    )
    parser.add_argument("--name", help="the runtime's name (default: from the soname, else the directory's)")
    parser.add_argument(
        "--build-system",
        choices=BUILD_SYSTEMS,
        help="how to build the library (default: guessed from its files)",
    )
    parser.add_argument(
        "--ci", choices=CI_KINDS, default="github", help="the CI file to write (default: github)"
    )
    parser.add_argument(
        "--action", default=ACTION, metavar="OWNER/REPO@REF", help=f"the dlmatrix action (default: {ACTION})"
    )
    parser.add_argument("--force", action="store_true", help="overwrite files that exist")


def run(options: InitOptions, log: Logger) -> int:
    written = write_init(options.request)
    root = options.request.root
    for path in written:
        log.text(f"wrote {path.relative_to(root)}")
    plugin = options.request.plugin_dir
    log.text(
        f"next: fill in the TODOs of {plugin}/runtime.yaml and {plugin}/provider.c, then try it here: "
        "dlmatrix run --backend host --out ../dlmatrix-report (outside the tree that is built)"
    )
    return 0


COMMAND = Command(
    "init",
    "in your library's repository: a runtime plug-in that builds it, the project file and a CI file",
    add_arguments,
    InitOptions.of,
    run,
)
