"""dlmatrix merge: one results.json from the results of shards (or of engines, or of machines),
refusing inputs that do not belong together and naming what is missing."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dlmatrix.errors import DlmatrixError
from dlmatrix.model.cells import ResultSet
from dlmatrix.model.shards import parse_shard
from dlmatrix.results.io import read_results

MIXED_FIX = "merge results of one commit and one dlmatrix version, or pass --allow-mixed to merge them anyway"
# What must agree across the inputs, with what the message calls it.
AGREEING = (("tool_version", "dlmatrix versions"), ("git_commit", "commits"), ("backend", "backends"))


def results_path(path: Path) -> Path:
    return path / "results.json" if path.is_dir() else path


def load_all(paths: Sequence[Path]) -> list[tuple[Path, ResultSet]]:
    """Every input, read and checked against its schema; a file of another schema version is
    refused by read_results (its message names the file)."""
    if not paths:
        raise DlmatrixError("nothing to merge", "name the shards' results.json files (or their directories)")
    return [(results_path(p), read_results(results_path(p))) for p in paths]


def check_agreement(inputs: list[tuple[Path, ResultSet]], allow_mixed: bool) -> None:
    for path, results in inputs:
        if "partial" in results.run:
            raise DlmatrixError(
                f"{path} holds a run cut short ({results.run['partial']}): some of its cells never ran",
                "run that shard again and merge its results.json",
            )
    for key, what in AGREEING:
        seen: dict[str, list[str]] = {}
        for path, results in inputs:
            seen.setdefault(str(results.run.get(key)), []).append(str(path))
        if len(seen) > 1 and not allow_mixed:
            found = "; ".join(f"{value} ({', '.join(files)})" for value, files in seen.items())
            raise DlmatrixError(f"the inputs come from different {what}: {found}", MIXED_FIX)


def check_shards(inputs: list[tuple[Path, ResultSet]]) -> None:
    """Shards of one plan: all of N, each once, none missing."""
    shards = {path: results.run.get("selection", {}).get("shard") for path, results in inputs}
    named = {path: shard for path, shard in shards.items() if shard}
    if not named:
        return
    counts = {parse_shard(shard)[1] for shard in named.values()}
    if len(counts) > 1 or len(named) != len(inputs):
        listed = ", ".join(f"{path}: {shard or 'not a shard'}" for path, shard in shards.items())
        raise DlmatrixError(
            f"the inputs are not shards of one plan: {listed}", "merge the shards of one plan"
        )
    count = counts.pop()
    have: dict[int, Path] = {}
    for path, shard in named.items():
        index = parse_shard(shard)[0]
        if index in have:
            raise DlmatrixError(
                f"shard {shard} is given twice: {have[index]} and {path}", "give each shard once"
            )
        have[index] = path
    missing = [f"{index}/{count}" for index in range(1, count + 1) if index not in have]
    if missing:
        raise DlmatrixError(
            f"shard(s) {', '.join(missing)} missing: {len(have)} of {count} given",
            "add their results.json (a failed CI job's artifact), or run them: dlmatrix run --shard "
            + missing[0],
        )


def merged_cells(inputs: list[tuple[Path, ResultSet]]) -> list[Any]:
    """Every cell once, in the order first seen: a cell in two inputs must have the same outcome and
    verdict there."""
    cells: dict[tuple[str, str, str], tuple[Path, Any]] = {}
    for path, results in inputs:
        for cell in results.cells:
            if cell.key in cells:
                first, earlier = cells[cell.key]
                if (earlier.result, earlier.verdict) != (cell.result, cell.verdict):
                    raise DlmatrixError(
                        f"cell {'/'.join(cell.key)} is in {first} ({earlier.result}, {earlier.verdict}) and "
                        f"in {path} ({cell.result}, {cell.verdict})",
                        "the inputs overlap and disagree: merge one run of each cell",
                    )
                continue
            cells[cell.key] = (path, cell)
    return [cell for _, cell in cells.values()]


def merged_run(inputs: list[tuple[Path, ResultSet]]) -> dict[str, Any]:
    """The first input's run record, spanning all: earliest start, latest finish, every engine."""
    runs = [results.run for _, results in inputs]
    run = dict(runs[0])
    run["started"] = min(r["started"] for r in runs)
    run["finished"] = max(r["finished"] for r in runs)
    engines = {(e["name"], e["version"]): e for r in runs for e in r.get("engines", [])}
    if engines:
        run["engines"] = list(engines.values())
    images = {name: tag for r in runs for name, tag in r.get("images", {}).items()}
    if images:
        run["images"] = dict(sorted(images.items()))
    versions = dict.fromkeys(v for r in runs for v in str(r.get("docker_version") or "").split("; ") if v)
    run["docker_version"] = "; ".join(versions) or None
    selection = dict(run.get("selection") or {})
    selection.pop("shard", None)
    selection.pop("units", None)  # together the shards cover their common selection
    run["selection"] = selection
    run["runtimes"] = {name: r for one in runs for name, r in one.get("runtimes", {}).items()}
    run["merged"] = [
        {
            "file": str(path),
            "shard": results.run.get("selection", {}).get("shard"),
            "git_commit": results.run.get("git_commit"),
            "engines": [e["name"] for e in results.run.get("engines", [])],
            "cells": len(results.cells),
        }
        for path, results in inputs
    ]
    return run


def merge(paths: Sequence[Path], allow_mixed: bool = False) -> ResultSet:
    """One result set from many; DlmatrixError (exit 2) for inputs that do not belong together."""
    inputs = load_all(paths)
    check_agreement(inputs, allow_mixed)
    check_shards(inputs)
    return ResultSet(merged_run(inputs), merged_cells(inputs))
