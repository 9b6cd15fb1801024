"""`dlmatrix bench`: how far a run is from its physical floor, against the naive design, and how
long an edit of the catalog takes to reach a result. It prints and records; it asserts nothing.

- warm: every image already built; wall time, CPU-seconds the whole machine was busy
  (/proc/stat), floor = max(busy / cores, the longest attempt), ratio = wall / floor.
- naive: one `docker run` per cell on one image, as many containers at once as cores,
  against ours on the same image and cells.
- edit: one expectation's reason changed in a copy of the project, one scenario re-run on
  every image: seconds, and how many images that rebuilt (0 by design).
- source (--source-plugin DIR, measured alone): one .c file of a plug-in built from its own tree
  edited, and the plug-in re-run on the eight amd64 Debian images (cli.bench_source).
- spread (with --spread-engine): the warm run on the default engine and on it plus another,
  the images spread between them; what is missing on the other is built first, not measured.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from rich.table import Table

from dlmatrix.backends.oci.dockerfiles import write_all
from dlmatrix.backends.oci.engine import Engine
from dlmatrix.cli.bench_cold import cold_figures, print_cold
from dlmatrix.cli.bench_runs import Measured, Ran, docker_run, longest_attempt, measure, to_read, verdicts
from dlmatrix.cli.bench_source import EIGHT_AMD64, print_source, source_edit_figures
from dlmatrix.cli.command import Command, checkout
from dlmatrix.config.load import load_matrix
from dlmatrix.config.project import find_project
from dlmatrix.errors import DlmatrixError
from dlmatrix.log import Logger
from dlmatrix.model.catalog import Matrix
from dlmatrix.model.cells import Cell
from dlmatrix.model.estimates import default_budget
from dlmatrix.model.selector import Selector
from dlmatrix.suite.bundle import catalog_input
from dlmatrix.suite.command import suite_arguments
from dlmatrix.suite.output import parse_lines


@dataclass(frozen=True)
class BenchOptions:
    image: str  # one glob each: the warm run's images, every part's scenarios and runtimes
    scenario: str
    runtime: str
    naive_image: str
    jobs: int  # attempts in flight
    out: Path  # the figures, as JSON (and the previous figures, compared with)
    spread_engine: str | None  # also time the warm run spread over the default engine and this one
    source_plugin: Path | None  # instead, time an edit of this plug-in's tree (source.path)
    source_images: str
    cold: str | None  # instead, time cold, cache-restored and warm runs on this fresh engine

    @classmethod
    def of(cls, args: argparse.Namespace) -> BenchOptions:
        return cls(
            args.image,
            args.scenario,
            args.runtime,
            args.naive_image,
            args.jobs,
            args.out,
            args.spread_engine,
            args.source_plugin,
            args.source_images,
            args.cold,
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--image", default="*", metavar="GLOB", help="images of the warm run (glob)")
    parser.add_argument("--scenario", default="*", metavar="GLOB", help="scenarios of every part (glob)")
    parser.add_argument(
        "--runtime", default="*", metavar="GLOB", help="runtime variants of every part (glob)"
    )
    parser.add_argument(
        "--naive-image", default="debian-bookworm-glibc", metavar="NAME", help="the image of the naive part"
    )
    parser.add_argument("--jobs", type=int, default=default_budget(), metavar="N", help="attempts in flight")
    parser.add_argument(
        "--out", type=Path, default=Path("bench-results.json"), metavar="FILE", help="figures, as JSON"
    )
    parser.add_argument(
        "--spread-engine",
        metavar="ENGINE",
        help="also time the warm run spread over the default engine and this one",
    )
    parser.add_argument(
        "--source-plugin",
        type=Path,
        metavar="DIR",
        help="instead, time editing one .c file of this plug-in's tree (source.path) on --source-images",
    )
    parser.add_argument(
        "--cold",
        metavar="ENGINE",
        help="instead, time --image from nothing on this fresh engine, from its restored cache, and warm",
    )
    parser.add_argument(
        "--source-images", default=EIGHT_AMD64, metavar="GLOBS", help="the images of --source-plugin"
    )


def naive_cells(matrix: Matrix, selection: Selector, tag: str, jobs: int, log: Logger) -> list[Cell]:
    """The naive design: one container per cell, `jobs` containers at once."""
    engine, catalog = Engine(), catalog_input(matrix)
    image = selection.images.include[0]
    pairs = selection.pairs(matrix, image)

    def one(index: int) -> list[Cell]:
        scenario, runtime = pairs[index]
        cell = Selector.of(scenario.name, runtime.name, image, selection.repeat)
        name = f"dlmatrix-naive-{os.getpid()}-{index}"
        with engine.container(name, tag, [*suite_arguments(matrix, cell, 1), "--suite", "-"], catalog) as p:
            assert p.stdin is not None and p.stdout is not None
            p.stdin.close()
            lines = p.stdout.readlines()
            p.wait()
        output = parse_lines(matrix, image, lines)
        for warning in output.warnings:
            log.warning(warning)
        return output.cells

    with ThreadPoolExecutor(max_workers=jobs) as pool:  # it logs nothing: no fold either
        return [cell for batch in pool.map(one, range(len(pairs))) for cell in batch]


@contextmanager
def edited_copy(matrix: Matrix) -> Iterator[Matrix]:
    """A copy of the project with one expectation's reason changed: a catalog-only edit."""
    with tempfile.TemporaryDirectory(prefix="dlmatrix-edit-") as scratch:
        root = Path(scratch)
        for part in ("matrix", "dockerfiles", "src/c"):
            shutil.copytree(matrix.root / part, root / part)
        path = root / "matrix" / "expectations.yaml"
        data = yaml.safe_load(path.read_text())
        data["expectations"][0]["reason"] += f" (edited by dlmatrix bench at {time.time():.0f})"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        copy = load_matrix(root)
        write_all(copy)  # a checkout's copy: a no-op; an installed catalog has no Dockerfiles to copy
        yield copy


def run(options: BenchOptions, log: Logger) -> int:
    matrix = checkout(log, find_project())
    cores = os.cpu_count() or 1
    if options.source_plugin:
        return source_bench(matrix, options, log)
    selection = Selector.of(options.scenario, options.runtime, options.image)
    if options.cold:
        return cold_bench(matrix, selection, options, options.cold, log)
    log.text("bench: building what is missing (not measured)")
    built_first = len(docker_run(matrix, selection, options.jobs, log, "build what is missing").built)
    warm = measure(lambda: docker_run(matrix, selection, options.jobs, log, "warm run").cells)
    figures: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": cores,
        "jobs": options.jobs,
        "selection": {"image": options.image, "scenario": options.scenario},
        "images_built_before": built_first,
        "warm": warm_figures(warm, cores),
    }
    figures["naive"] = naive_figures(matrix, options, cores, log)
    figures["edit"] = edit_figures(matrix, options, log)
    if options.spread_engine:
        figures["spread"] = spread_figures(matrix, selection, options, options.spread_engine, warm, log)
    print_figures(figures, previous_figures(options.out), log)
    write_figures(options.out, figures, log)
    return 0


def warm_figures(warm: Measured, cores: int) -> dict[str, Any]:
    """floor = max(busy / cores, the longest attempt): no schedule of these attempts is faster."""
    floor = max(warm.busy_cpu_s / cores, longest_attempt(warm.cells))
    return {
        "wall_s": round(warm.wall_s, 1),
        "busy_cpu_s": round(warm.busy_cpu_s, 1),
        "longest_attempt_s": round(longest_attempt(warm.cells), 2),
        "floor_s": round(floor, 1),
        "ratio": round(warm.wall_s / floor, 2) if floor else None,
        "cells": len(warm.cells),
        "verdicts": verdicts(warm.cells),
        "to_read": to_read(warm.cells),
    }


def naive_figures(matrix: Matrix, options: BenchOptions, cores: int, log: Logger) -> dict[str, Any]:
    selection = Selector.of(options.scenario, options.runtime, options.naive_image)
    tags: dict[str, str] = {}

    def ours_work() -> list[Cell]:
        ran = docker_run(matrix, selection, options.jobs, log, f"ours on {options.naive_image}")
        tags.update(ran.tags)
        return ran.cells

    ours = measure(ours_work)
    if options.naive_image not in tags:
        raise DlmatrixError(
            f"no image {options.naive_image} ran", "name a buildable image with --naive-image"
        )
    naive = measure(lambda: naive_cells(matrix, selection, tags[options.naive_image], cores, log))
    return {
        "image": options.naive_image,
        "cells": len(ours.cells),
        "naive_cells": len(naive.cells),
        "ours_wall_s": round(ours.wall_s, 1),
        "naive_wall_s": round(naive.wall_s, 1),
        "speedup": round(naive.wall_s / ours.wall_s, 1) if ours.wall_s else None,
        "same_verdicts": verdicts(ours.cells) == verdicts(naive.cells),
    }


def edit_figures(matrix: Matrix, options: BenchOptions, log: Logger) -> dict[str, Any]:
    scenario = "app-dlopen-dlclose"
    with edited_copy(matrix) as edited:
        selection = Selector.of(scenario, options.runtime, options.image)
        rebuilt: list[int] = []

        def work() -> list[Cell]:
            ran = docker_run(edited, selection, options.jobs, log, "an edit of the catalog")
            rebuilt.append(len(ran.built))
            return ran.cells

        run = measure(work)
    return {
        "scenario": scenario,
        "seconds": round(run.wall_s, 1),
        "images_rebuilt": rebuilt[0],
        "cells": len(run.cells),
    }


def cold_bench(matrix: Matrix, selection: Selector, options: BenchOptions, spec: str, log: Logger) -> int:
    def run_on(engine: str, title: str) -> Ran:
        return docker_run(matrix, selection, options.jobs, log, title, (engine,))

    figures = cold_figures(matrix, selection, spec, run_on, log)
    figures |= {"date": datetime.now(UTC).isoformat(timespec="seconds"), "selection": selection.metadata()}
    print_cold(figures, log)
    write_figures(options.out, {"cold": figures}, log)
    return 0


def write_figures(path: Path, figures: dict[str, Any], log: Logger) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=1) + "\n")
    log.text(f"bench: wrote {path}")


def source_bench(matrix: Matrix, options: BenchOptions, log: Logger) -> int:
    assert options.source_plugin is not None
    figures = source_edit_figures(
        matrix, options.source_plugin, options.source_images, timed_run(options, log)
    )
    print_source(figures, log)
    write_figures(options.out, {"source": figures}, log)
    return 0


def timed_run(
    options: BenchOptions, log: Logger
) -> Callable[[Matrix, str, str, str], tuple[float, list[str], dict[str, str], int]]:
    def run(
        matrix: Matrix, scenario: str, runtime: str, images: str
    ) -> tuple[float, list[str], dict[str, str], int]:
        started = time.monotonic()
        ran = docker_run(
            matrix, Selector.of(scenario, runtime, images), options.jobs, log, f"{runtime}: {scenario}"
        )
        return time.monotonic() - started, ran.built, ran.logs, len(ran.cells)

    return run


def spread_figures(
    matrix: Matrix, selection: Selector, options: BenchOptions, other: str, warm: Measured, log: Logger
) -> dict[str, Any]:
    engines = ("default", other)
    log.text(f"bench: building what is missing on {other} (not measured)")
    docker_run(matrix, selection, options.jobs, log, f"build what is missing on {other}", engines)
    spread = measure(
        lambda: docker_run(matrix, selection, options.jobs, log, "warm run, two engines", engines).cells
    )
    return {
        "engines": list(engines),
        "one_engine_wall_s": round(warm.wall_s, 1),
        "two_engines_wall_s": round(spread.wall_s, 1),
        "two_engines_busy_cpu_s": round(spread.busy_cpu_s, 1),
        "speedup": round(warm.wall_s / spread.wall_s, 2) if spread.wall_s else None,
        "same_verdicts": verdicts(warm.cells) == verdicts(spread.cells),
    }


def previous_figures(path: Path) -> dict[str, Any] | None:
    try:
        loaded: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return loaded


def _rows(figures: dict[str, Any]) -> dict[str, str]:
    warm, naive, edit = figures["warm"], figures["naive"], figures["edit"]
    spread = figures.get("spread") or {}
    spreading = {
        "warm wall, two engines (s)": str(spread.get("two_engines_wall_s")),
        "one engine / two engines": str(spread.get("speedup")),
    }
    return (spreading if spread else {}) | {
        "warm wall (s)": str(warm["wall_s"]),
        "busy CPU (s, all cores)": str(warm["busy_cpu_s"]),
        "longest attempt (s)": str(warm["longest_attempt_s"]),
        "floor (s)": str(warm["floor_s"]),
        "ratio wall / floor": str(warm["ratio"]),
        f"naive, {naive['image']} (s)": str(naive["naive_wall_s"]),
        f"ours, {naive['image']} (s)": str(naive["ours_wall_s"]),
        "naive / ours": str(naive["speedup"]),
        "edit to result (s)": str(edit["seconds"]),
        "images rebuilt by the edit": str(edit["images_rebuilt"]),
    }


def print_figures(figures: dict[str, Any], previous: dict[str, Any] | None, log: Logger) -> None:
    table = Table("figure", "now", *(["previous"] if previous else []), title="dlmatrix bench")
    before = _rows(previous) if previous else {}
    for name, value in _rows(figures).items():
        table.add_row(name, value, *([before.get(name, "-")] if previous else []))
    log.print(table)
    log.text(
        f"{figures['warm']['cells']} cells, verdicts {figures['warm']['verdicts']}, "
        f"{figures['jobs']} attempts in flight on {figures['cores']} cores"
    )
    for line in figures["warm"].get("to_read", []):
        log.text(f"  {line}")


COMMAND = Command(
    "bench", "measure the run against its floor and the naive design", add_arguments, BenchOptions.of, run
)
