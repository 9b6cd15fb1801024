"""`dlmatrix bench --cold ENGINE`: from nothing to results on a fresh engine, then from a restored
cache, then warm, each with its parts (bases, builds, suites).

ENGINE must hold none of the selection's images or bases and no build cache (a second dockerd of
its own, docs/performance.md "Cold, restored, warm"), so that cold means cold: its bases are made
(pulled, or built offline), every image is built. Then `dlmatrix cache export` of what it ran, the
images and bases removed, `dlmatrix cache import`, the same run again (it must build nothing), and
once more warm. Parts are summed over the images, which overlap: more than the wall time."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.table import Table

from dlmatrix.backends.oci.bases import BaseProvider
from dlmatrix.backends.oci.cache import Kept, choose, export_cache, import_cache
from dlmatrix.backends.oci.engine import Engine
from dlmatrix.backends.oci.parts import totals
from dlmatrix.cli.bench_runs import Ran, busy_cpu_seconds, verdicts
from dlmatrix.errors import DlmatrixError
from dlmatrix.log import Logger
from dlmatrix.model.catalog import Matrix
from dlmatrix.model.selector import Selector

PHASES = ("cold", "restored", "warm")


def not_fresh(matrix: Matrix, engine: Engine, selection: Selector) -> list[str]:
    """What the engine already holds of the selection: its bases, its images, a build cache."""
    held = []
    provider = BaseProvider.looking(engine)
    for image in (i for i in matrix.images if selection.image(i.name)):
        if base := provider.present(image):
            held.append(f"base {base.ref}")
        if engine.listing(["images", "--quiet", f"dlmatrix/{image.name}"]):
            held.append(f"images dlmatrix/{image.name}")
    for line in engine.listing(["system", "df", "--format", "{{.Type}}\t{{.Size}}"]):
        kind, _, size = line.partition("\t")
        if kind == "Build Cache" and size not in ("0B", "0"):
            held.append(f"a build cache of {size}")
    return sorted(set(held))


def phase(work: Callable[[], Ran]) -> tuple[dict[str, Any], Ran]:
    busy, started = busy_cpu_seconds(), time.monotonic()
    ran = work()
    figures = {
        "wall_s": round(time.monotonic() - started, 1),
        "busy_cpu_s": round(busy_cpu_seconds() - busy, 1),
        "images_built": len(ran.built),
        "parts_s": totals(ran.parts),
        "cells": len(ran.cells),
        "verdicts": verdicts(ran.cells),
    }
    return figures, ran


def cold_figures(
    matrix: Matrix, selection: Selector, spec: str, run_on: Callable[[str, str], Ran], log: Logger
) -> dict[str, Any]:
    """run_on(engine spec, title) runs the selection on that engine alone."""
    engine = Engine(spec)
    held = not_fresh(matrix, engine, selection)
    if held:
        raise DlmatrixError(
            f"{engine.title} is not fresh: it holds {', '.join(held)}",
            "name an engine of its own for --cold (docs/performance.md starts one), or empty this one",
        )
    figures: dict[str, Any] = {"engine": engine.describe()}
    figures["cold"], cold = phase(lambda: run_on(spec, "cold: bases, builds, suites"))
    with tempfile.TemporaryDirectory(prefix="dlmatrix-bench-cache-") as directory:
        kept = choose(matrix, engine, list(cold.tags.values()), selection.image, bases_only=False)
        exported = export_cache(engine, kept, Path(directory))
        forget(engine, kept)
        log.text(f"bench: exported {len(kept)} images ({exported.bytes / 1e9:.2f} GB), removed them")
        imported = import_cache(engine, Path(directory))
        figures["restored"], _ = phase(lambda: run_on(spec, "restored: the cache imported"))
    figures["restored"] |= {"import_s": round(imported.seconds, 1), "export_s": round(exported.seconds, 1)}
    figures["restored"]["cache_gb"] = round(exported.bytes / 1e9, 2)
    figures["restored"]["with_import_s"] = round(imported.seconds + figures["restored"]["wall_s"], 1)
    figures["warm"], _ = phase(lambda: run_on(spec, "warm"))
    return figures


def forget(engine: Engine, kept: Sequence[Kept]) -> None:
    """The engine as fresh as it was (not_fresh checked it held nothing): the images and bases go,
    and so does the build cache, which would otherwise still hold their layers, so that the import
    loads them all, as on a fresh machine."""
    for removed in kept:
        engine.remove_image(removed.ref)
    if engine.spec.cli == "docker":
        engine.listing(["builder", "prune", "--all", "--force"])


def print_cold(figures: dict[str, Any], log: Logger) -> None:
    table = Table("", *PHASES, title=f"dlmatrix bench --cold ({figures['engine']})")
    rows: dict[str, Callable[[dict[str, Any]], Any]] = {
        "wall (s)": lambda p: p["wall_s"],
        "busy CPU (s)": lambda p: p["busy_cpu_s"],
        "bases (s, summed)": lambda p: p["parts_s"]["base"],
        "builds (s, summed)": lambda p: p["parts_s"]["build"],
        "suites (s, summed)": lambda p: p["parts_s"]["suite"],
        "images built": lambda p: p["images_built"],
        "cache import (s)": lambda p: p.get("import_s", "-"),
        "import + run (s)": lambda p: p.get("with_import_s", "-"),
    }
    for name, value in rows.items():
        table.add_row(name, *(str(value(figures[p])) for p in PHASES))
    log.print(table)
    log.text(
        f"cells {figures['cold']['cells']}, verdicts {figures['cold']['verdicts']}; "
        f"cache {figures['restored']['cache_gb']} GB, exported in {figures['restored']['export_s']} s"
    )
