"""The options several commands share, and their typed values: the selection globs, --engine,
--durations, --runtimes, --sources, and `positive` for counts."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dlmatrix.backends.oci.spec import ENGINE_FORMS
from dlmatrix.config.load import load_matrix
from dlmatrix.config.project import AXES, Project
from dlmatrix.model.arches import environment_arches, native_arches, outside_arches
from dlmatrix.model.catalog import Matrix
from dlmatrix.model.selector import Selector, split_globs
from dlmatrix.runtimes.sources import cache_dir


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1 (0 or -3 jobs is a mistake, not 1 job)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is out of range: use 1 or more")
    return value


def add_selection(parser: argparse.ArgumentParser) -> None:
    """Include and exclude globs per axis: each option repeatable, each value a comma-separated list."""
    for axis, what in (
        ("scenario", "scenarios"),
        ("runtime", "runtime variants"),
        ("image", "images or hosts"),
    ):
        parser.add_argument(
            f"--{axis}",
            action="append",
            default=[],
            metavar="GLOB[,GLOB]",
            help=f"{what} to include (default: all)",
        )
        parser.add_argument(
            f"--skip-{axis}", action="append", default=[], metavar="GLOB[,GLOB]", help=f"{what} to leave out"
        )
    parser.add_argument(
        "--arch",
        action="append",
        default=[],
        metavar="ARCH[,ARCH]",
        help="architectures to include (Debian's names, globs; `native`: those this machine runs "
        "without emulation; default: all)",
    )
    parser.add_argument(
        "--skip-arch", action="append", default=[], metavar="ARCH[,ARCH]", help="architectures to leave out"
    )


@dataclass(frozen=True)
class Selection:
    """The selection options as given: per axis, the include and the exclude values (each a
    comma-separated list of globs), in the order given."""

    scenario: tuple[str, ...] = ()
    runtime: tuple[str, ...] = ()
    image: tuple[str, ...] = ()
    arch: tuple[str, ...] = ()
    skip_scenario: tuple[str, ...] = ()
    skip_runtime: tuple[str, ...] = ()
    skip_image: tuple[str, ...] = ()
    skip_arch: tuple[str, ...] = ()

    @classmethod
    def of(cls, args: argparse.Namespace) -> Selection:
        return cls(
            tuple(args.scenario), tuple(args.runtime), tuple(args.image), tuple(args.arch),
            tuple(args.skip_scenario), tuple(args.skip_runtime), tuple(args.skip_image),
            tuple(args.skip_arch),
        )  # fmt: skip

    def under(self, project: Project | None) -> Selection:
        """The project file's globs as defaults: per axis, includes given here replace the file's,
        excludes given here add to the file's."""
        if project is None:
            return self
        mine = {axis: getattr(self, axis) for axis in AXES}
        for axis in AXES:
            mine[axis] = mine[axis] or project.select.get(axis, ())
            skip = f"skip_{axis}"
            # once each: plan hands its runs the file's excludes again, and they read the file too
            mine[skip] = tuple(dict.fromkeys(project.select.get(f"skip-{axis}", ()) + getattr(self, skip)))
        return Selection(**mine)

    def selector(
        self, matrix: Matrix | None, arches: Mapping[str, str] | None = None, repeat: int = 1
    ) -> Selector:
        """--arch and --skip-arch become the environments they leave out (arches: each environment's
        architecture, by default as matrix/ declares it). Without them no matrix is needed."""
        outside: list[str] = []
        if self.arch or self.skip_arch:
            matrix = matrix or load_matrix()
            outside = outside_arches(
                environment_arches(matrix) if arches is None else arches,
                split_globs(self.arch),
                split_globs(self.skip_arch),
                native_arches(matrix),
            )
        return Selector.of(
            list(self.scenario) or "*",
            list(self.runtime) or "*",
            list(self.image) or "*",
            repeat,
            skip_scenario=list(self.skip_scenario),
            skip_runtime=list(self.skip_runtime),
            skip_image=[*self.skip_image, *outside],
        )

    def options(self) -> list[str]:
        """The options that give this selection again, as a command line (image, scenario,
        runtime, arch: the order `plan` has always named them in)."""
        given = {
            "image": (self.image, self.skip_image),
            "scenario": (self.scenario, self.skip_scenario),
            "runtime": (self.runtime, self.skip_runtime),
            "arch": (self.arch, self.skip_arch),
        }
        options: list[str] = []
        for axis, (include, exclude) in given.items():
            options += [item for value in include for item in (f"--{axis}", value)]
            options += [item for value in exclude for item in (f"--skip-{axis}", value)]
        return options


def add_engine(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        action="append",
        default=[],
        metavar="ENGINE[,ENGINE]",
        help="the engine(s) to run on, repeatable; images are spread across them by load. "
        f"An engine is {ENGINE_FORMS}",
    )


def engines_of(args: argparse.Namespace) -> tuple[str, ...]:
    """--engine's values, each a comma-separated list, as one list of engine specs."""
    return tuple(split_globs(args.engine))


def add_durations(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--durations",
        type=Path,
        metavar="PATH",
        help="a results.json (or its directory) whose measured durations balance the shards "
        "(default: cell counts); plan and every run --shard must be given the same one",
    )


def add_runtimes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runtimes",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="add the runtime plug-in in DIR, or every plug-in in DIR's subdirectories (docs/runtimes.md); "
        "repeatable",
    )


def add_sources(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sources",
        metavar="DIR",
        help="where upstream snapshots are looked up first (then $DLMATRIX_SOURCES, a path list, "
        f"then {cache_dir()}); `dlmatrix sources` fetches into it",
    )
