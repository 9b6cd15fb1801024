"""`dlmatrix bench`: how far a run is from its physical floor, against the naive design, and how
long an edit of the catalog takes to reach a result. It prints and records; it asserts nothing.

- warm: every image already built; wall time, CPU-seconds the whole machine was busy
  (/proc/stat), floor = max(busy / cores, the longest attempt), ratio = wall / floor.
- naive: one `docker run` per cell on one image, as many containers at once as cores,
  against ours on the same image and cells.
- edit: one expectation's reason changed in a copy of the project, one scenario re-run on
  every image: seconds, and how many images that rebuilt (0 by design).
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
from rich.console import Console
from rich.table import Table

from dlmatrix.backends.oci.backend import ContainerBackend
from dlmatrix.backends.oci.engine import Engine
from dlmatrix.backends.oci.tokens import CellBudget
from dlmatrix.config.load import load_matrix
from dlmatrix.errors import DlmatrixError
from dlmatrix.model.catalog import Matrix
from dlmatrix.model.cells import Cell
from dlmatrix.model.estimates import default_budget
from dlmatrix.model.selector import Selector
from dlmatrix.progress import RunProgress
from dlmatrix.suite.bundle import catalog_input
from dlmatrix.suite.command import suite_arguments
from dlmatrix.suite.output import parse_lines


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
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


@dataclass
class Measured:
    wall_s: float
    busy_cpu_s: float
    cells: list[Cell]


def busy_cpu_seconds() -> float:
    """CPU-seconds the whole machine was not idle since boot (/proc/stat, all cores)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def measure(work: Callable[[], list[Cell]]) -> Measured:
    busy, started = busy_cpu_seconds(), time.monotonic()
    cells = work()
    return Measured(time.monotonic() - started, busy_cpu_seconds() - busy, cells)


def docker_cells(
    matrix: Matrix, selection: Selector, jobs: int, console: Console, engines: tuple[str, ...] = ("default",)
) -> ContainerBackend:
    """Our design, run: its cells, the images it had to build and the tags it ran."""
    with tempfile.TemporaryDirectory(prefix="dlmatrix-bench-") as scratch, RunProgress(console) as progress:
        on = [Engine(spec) for spec in engines]
        backend = ContainerBackend(matrix, on, Path(scratch), selection, progress, CellBudget(jobs))
        backend.cells = backend.run()
        return backend


def naive_cells(matrix: Matrix, selection: Selector, tag: str, jobs: int) -> list[Cell]:
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
        return parse_lines(matrix, image, lines).cells

    with ThreadPoolExecutor(max_workers=jobs) as pool:
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
        yield load_matrix(root)


def longest_attempt(cells: list[Cell]) -> float:
    return max((a.duration_s for c in cells for a in c.attempts), default=0.0)


def verdicts(cells: list[Cell]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for cell in cells:
        counts[cell.verdict] = counts.get(cell.verdict, 0) + 1
    return counts


def command_bench(matrix: Matrix, args: argparse.Namespace, console: Console) -> int:
    cores = os.cpu_count() or 1
    selection = Selector.of(args.scenario, args.runtime, args.image)
    console.print("bench: building what is missing (not measured)")
    built_first = len(docker_cells(matrix, selection, args.jobs, console).built)
    warm = measure(lambda: docker_cells(matrix, selection, args.jobs, console).cells)
    floor = max(warm.busy_cpu_s / cores, longest_attempt(warm.cells))
    figures: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": cores,
        "jobs": args.jobs,
        "selection": {"image": args.image, "scenario": args.scenario},
        "images_built_before": built_first,
        "warm": {
            "wall_s": round(warm.wall_s, 1),
            "busy_cpu_s": round(warm.busy_cpu_s, 1),
            "longest_attempt_s": round(longest_attempt(warm.cells), 2),
            "floor_s": round(floor, 1),
            "ratio": round(warm.wall_s / floor, 2) if floor else None,
            "cells": len(warm.cells),
            "verdicts": verdicts(warm.cells),
        },
    }
    figures["naive"] = naive_figures(matrix, args, cores, console)
    figures["edit"] = edit_figures(matrix, args, console)
    if args.spread_engine:
        figures["spread"] = spread_figures(matrix, selection, args, warm, console)
    print_figures(figures, previous_figures(args.out), console)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=1) + "\n")
    console.print(f"bench: wrote {args.out}")
    return 0


def naive_figures(matrix: Matrix, args: argparse.Namespace, cores: int, console: Console) -> dict[str, Any]:
    selection = Selector.of(args.scenario, args.runtime, args.naive_image)
    tags: dict[str, str] = {}

    def ours_work() -> list[Cell]:
        backend = docker_cells(matrix, selection, args.jobs, console)
        tags.update(backend.tags)
        return backend.cells

    ours = measure(ours_work)
    if args.naive_image not in tags:
        raise DlmatrixError(f"no image {args.naive_image} ran", "name a buildable image with --naive-image")
    naive = measure(lambda: naive_cells(matrix, selection, tags[args.naive_image], cores))
    return {
        "image": args.naive_image,
        "cells": len(ours.cells),
        "naive_cells": len(naive.cells),
        "ours_wall_s": round(ours.wall_s, 1),
        "naive_wall_s": round(naive.wall_s, 1),
        "speedup": round(naive.wall_s / ours.wall_s, 1) if ours.wall_s else None,
        "same_verdicts": verdicts(ours.cells) == verdicts(naive.cells),
    }


def edit_figures(matrix: Matrix, args: argparse.Namespace, console: Console) -> dict[str, Any]:
    scenario = "app-dlopen-dlclose"
    with edited_copy(matrix) as edited:
        selection = Selector.of(scenario, args.runtime, args.image)
        rebuilt: list[int] = []

        def work() -> list[Cell]:
            backend = docker_cells(edited, selection, args.jobs, console)
            rebuilt.append(len(backend.built))
            return backend.cells

        run = measure(work)
    return {
        "scenario": scenario,
        "seconds": round(run.wall_s, 1),
        "images_rebuilt": rebuilt[0],
        "cells": len(run.cells),
    }


def spread_figures(
    matrix: Matrix, selection: Selector, args: argparse.Namespace, warm: Measured, console: Console
) -> dict[str, Any]:
    engines = ("default", args.spread_engine)
    console.print(f"bench: building what is missing on {args.spread_engine} (not measured)")
    docker_cells(matrix, selection, args.jobs, console, engines)
    spread = measure(lambda: docker_cells(matrix, selection, args.jobs, console, engines).cells)
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


def print_figures(figures: dict[str, Any], previous: dict[str, Any] | None, console: Console) -> None:
    table = Table("figure", "now", *(["previous"] if previous else []), title="dlmatrix bench")
    before = _rows(previous) if previous else {}
    for name, value in _rows(figures).items():
        table.add_row(name, value, *([before.get(name, "-")] if previous else []))
    console.print(table)
    console.print(
        f"{figures['warm']['cells']} cells, verdicts {figures['warm']['verdicts']}, "
        f"{figures['jobs']} attempts in flight on {figures['cores']} cores"
    )
