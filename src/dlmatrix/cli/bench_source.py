"""`dlmatrix bench --source-plugin DIR`: what editing one .c file of a plug-in built from its own
tree (`source.path`) costs: the plug-in is run once (whatever is missing is built), run again
unchanged, then one .c file of a copy of its tree gains a definition and it is run a third time.
Each run's seconds, the plug-in stages it rebuilt and the objects they compiled (build-source.sh
prints both; with no compiler cache, every object of a rebuilt stage is compiled again)."""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rich.table import Table

from dlmatrix.config.load import load_matrix
from dlmatrix.errors import DlmatrixError
from dlmatrix.log import Logger
from dlmatrix.model.catalog import PLUGIN_FILE, Matrix

# build-source.sh's last line when it built: "built NAME in N s (C compiled, H from the compiler cache)"
BUILT = re.compile(r"built (\S+) in (\d+) s(?: \((\d+) compiled, (\d+) from the compiler cache\))?")
SCENARIO = "app-dlopen-dlclose"
EIGHT_AMD64 = "debian-*-glibc,debian-*-musl"  # the Debian releases' amd64 images, glibc and musl
SOURCES = (".c",)


@dataclass(frozen=True)
class SourceRun:
    """One run of the plug-in on the images: how long, and what its build stages did."""

    seconds: float
    images_rebuilt: int
    stages_rebuilt: int
    compiled: int | None  # None: no compiler cache told (the classic builder, or no ccache)
    from_cache: int | None
    cells: int

    def figures(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 1),
            "images_rebuilt": self.images_rebuilt,
            "stages_rebuilt": self.stages_rebuilt,
            "objects_compiled": self.compiled,
            "objects_from_cache": self.from_cache,
            "cells": self.cells,
        }


def stage_builds(logs: dict[str, str], plugin: str) -> list[tuple[int | None, int | None]]:
    """(compiled, from the cache) per stage of plugin that ran, from the images' build logs."""
    found: list[tuple[int | None, int | None]] = []
    for text in logs.values():
        for match in BUILT.finditer(text):
            if match.group(1) == plugin:
                counts = match.group(3, 4)
                found.append((int(counts[0]), int(counts[1])) if counts[0] is not None else (None, None))
    return found


def summed(builds: list[tuple[int | None, int | None]], index: int) -> int | None:
    values = [build[index] for build in builds]
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


def edited_file(tree: Path, plugin: Path) -> Path:
    """The .c file the edit touches: the first in name order outside the plug-in's own directory
    (`dlmatrix init` puts it in the tree, and staging leaves it out)."""
    files = sorted(
        p for p in tree.rglob("*") if p.suffix in SOURCES and p.is_file() and not p.is_relative_to(plugin)
    )
    if not files:
        raise DlmatrixError(f"{tree} has no .c file to edit", "name a plug-in whose source.path tree has C")
    return files[0]


def edit(path: Path) -> None:
    """A definition the compiler must compile (a comment would be a preprocessed cache hit)."""
    with path.open("a") as source:
        source.write(f"\nconst int dlmatrix_bench_edit_{time.time_ns()} = 1;\n")


@contextmanager
def plugin_copy(plugin_dir: Path) -> Iterator[tuple[Path, Path, str]]:
    """A copy of the plug-in and of its source tree (the user's files are never edited): the
    copy's plug-in directory, its tree, and the plug-in's name. A plug-in inside its tree (as
    `dlmatrix init` writes it, `path: ..`) keeps its place in the copy."""
    path = plugin_dir / PLUGIN_FILE
    try:
        data = yaml.safe_load(path.read_text())
        tree = (plugin_dir / data["source"]["path"]).resolve()
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        raise DlmatrixError(
            f"{path} declares no source.path", "name a plug-in built from its own tree (docs/runtimes.md)"
        ) from None
    with tempfile.TemporaryDirectory(prefix="dlmatrix-bench-source-") as scratch:
        copied_tree = Path(scratch) / "tree"
        shutil.copytree(tree, copied_tree, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        if plugin_dir.resolve().is_relative_to(tree):
            yield copied_tree / plugin_dir.resolve().relative_to(tree), copied_tree, str(data["name"])
            return
        copied_plugin = Path(scratch) / "plugin"
        shutil.copytree(plugin_dir, copied_plugin, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        data["source"]["path"] = str(copied_tree)
        (copied_plugin / PLUGIN_FILE).write_text(yaml.safe_dump(data, sort_keys=False))
        yield copied_plugin, copied_tree, str(data["name"])


def source_edit_figures(
    matrix: Matrix,
    plugin_dir: Path,
    images: str,
    run: Callable[[Matrix, str, str, str], tuple[float, list[str], dict[str, str], int]],
) -> dict[str, Any]:
    """run(matrix, scenario, runtime, images) -> (seconds, images built, their build logs, cells)."""
    with plugin_copy(plugin_dir) as (plugin, tree, name):
        copy = load_matrix(matrix.root, runtime_dirs=(plugin,))  # this plug-in alone

        def once() -> SourceRun:
            seconds, built, logs, cells = run(copy, SCENARIO, name, images)
            builds = stage_builds(logs, name)
            return SourceRun(seconds, len(built), len(builds), summed(builds, 0), summed(builds, 1), cells)

        first, unchanged = once(), once()
        touched = edited_file(tree, plugin)
        edit(touched)
        edited = once()
    return {
        "plugin": name,
        "images": images,
        "scenario": SCENARIO,
        "edited": touched.relative_to(tree).as_posix(),
        "first": first.figures(),
        "unchanged": unchanged.figures(),
        "edited_run": edited.figures(),
    }


def print_source(figures: dict[str, Any], log: Logger) -> None:
    table = Table(
        "run",
        "seconds",
        "images rebuilt",
        "stages rebuilt",
        "objects compiled",
        "from the cache",
        title=f"dlmatrix bench: {figures['plugin']} on {figures['images']}, {figures['scenario']}",
    )
    runs = (("first", "first (builds what is missing)"), ("unchanged", "again, unchanged"))
    for run, title in (*runs, ("edited_run", f"{figures['edited']} edited")):
        one = figures[run]
        counts = (one[key] for key in ("objects_compiled", "objects_from_cache"))
        table.add_row(
            title,
            *(str(one[key]) for key in ("seconds", "images_rebuilt", "stages_rebuilt")),
            *("-" if count is None else str(count) for count in counts),
        )
    log.print(table)
