"""The HTML compatibility report, rendered from results.json alone."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import jinja2

from dlmatrix.results import Cell, ResultSet

SYMBOLS = {
    "pass": "✓",
    "crash": "✗",
    "exit": "≠",
    "timeout": "⏱",
    "build-error": "⚒",
    "error": "!",
    "skipped": "○",
}


@dataclass(frozen=True)
class Column:
    image: str
    family: str
    version: str | None


def columns(cells: list[Cell]) -> list[Column]:
    seen: dict[str, Column] = {}
    for cell in cells:
        seen.setdefault(cell.image, Column(cell.image, str(cell.libc["family"]), cell.libc["version"]))
    return sorted(seen.values(), key=lambda c: (c.family, c.image))


def label(cell: Cell) -> str:
    if cell.outcome == "crash":
        return f"crash {cell.signal}"
    if cell.outcome == "exit":
        return f"exit {cell.exit_code}"
    return cell.outcome


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("dlmatrix", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["label"] = label
    env.filters["symbol"] = lambda cell: SYMBOLS.get(cell.outcome, "?")
    env.filters["pretty_json"] = lambda value: json.dumps(value, indent=1, sort_keys=True)
    return env


def render_html(results: ResultSet) -> str:
    grid: dict[tuple[str, str], dict[str, Cell]] = defaultdict(dict)
    for cell in results.cells:
        grid[(cell.scenario, cell.runtime)][cell.image] = cell
    template = _environment().get_template("report.html.j2")
    return template.render(
        run=results.run,
        counts=results.counts(),
        columns=columns(results.cells),
        rows=list(grid.items()),
        total=len(results.cells),
    )


def write_report(results: ResultSet, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "index.html"
    path.write_text(render_html(results))
    return path
