"""The published report, rendered from results.json alone: index.html (self-contained: inline CSS,
JS and SVG, no network), junit.xml, summary.md and badge.svg, with what changed since the
previous run. The page opens with the seed's answer and the summary grid; every cell's details
travel as compact JSON (strings stored once) and are drawn on demand, so it stays small and
fast at ten thousand cells. results.json remains the full record."""

from __future__ import annotations

import json
from typing import Any

import jinja2

from dlmatrix.model.cells import Cell, ResultSet
from dlmatrix.report.badge import badge_svg
from dlmatrix.report.explain import elf_facts, story
from dlmatrix.report.grid import (
    DEVIATES,
    STATUS_MEANINGS,
    STATUS_SYMBOLS,
    Grid,
    build_grid,
    family_lines,
    header_rows,
)
from dlmatrix.report.headlines import by_family, headlines, seed_answer, seed_by_arch, seed_sentence
from dlmatrix.report.junit import junit_xml
from dlmatrix.report.markdown import summary_markdown
from dlmatrix.results.changes import Changes, compare

SYMBOLS = {
    "pass": "✓",
    "crash": "✗",
    "exit": "≠",
    "timeout": "◔",
    "build-error": "⚒",
    "error": "!",
    "skipped": "○",
}
STATES = {  # state: what the legend says
    "pass": "passed, as expected",
    "expected-failure": "failed as expected (crash, exit or timeout declared in matrix/expectations.yaml)",
    "unexpected": "differs from the expectation",
    "flaky": "attempts disagree with each other",
    "skipped": "skipped or not applicable here (reason in the details)",
}
FAMILY_TITLES = {"model": "The model (src/c/runtime.c)", "LTTng-UST": "LTTng-UST", "library": "Libraries"}
OUTPUT_LIMIT = 4000  # characters of stdout/stderr the page carries per cell; results.json has all


def label(cell: Cell) -> str:
    """The result in words; when attempts differ (a race), with its rate."""
    text = cell.words
    hits = sum(attempt.result == cell.result for attempt in cell.attempts)
    return text if hits == len(cell.attempts) else f"{text} {hits}/{len(cell.attempts)}"


def state(cell: Cell) -> str:
    if cell.verdict == "ok":
        return "pass" if cell.outcome == "pass" else "expected-failure"
    return cell.verdict


def _clip(text: str) -> str:
    if len(text) <= OUTPUT_LIMIT:
        return text
    return text[:OUTPUT_LIMIT] + f"\n… ({len(text) - OUTPUT_LIMIT} more characters in results.json)"


class Strings:
    """Every string the page carries, once: cells share reasons, evidence and loader lines."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def __call__(self, text: str | None) -> int:
        return self.index.setdefault(text or "", len(self.index))

    @property
    def table(self) -> list[str]:
        return list(self.index)


# the order of a cell's fields in the page's data; the page's script reads them by these names
CELL_FIELDS = [
    *("column", "scenario", "runtime", "result", "symbol", "label", "state", "verdict", "expected"),
    *("reason", "attempts", "duration_s", "racy", "engine", "compiler", "elf", "story", "evidence"),
    *("stdout", "stderr", "emulated"),
]


def page_cell(cell: Cell, column: int, s: Strings) -> list[Any]:
    family = cell.libc.family
    values = {
        "column": column,
        "scenario": s(cell.scenario),
        "runtime": s(cell.runtime),
        "result": s(cell.result),
        "symbol": s(SYMBOLS.get(cell.outcome, "?")),
        "label": s(label(cell)),
        "state": s(state(cell)),
        "verdict": s(cell.verdict),
        "expected": s(cell.expected),
        "reason": s(cell.reason),
        "attempts": [[s(a.result), a.duration_s] for a in cell.attempts],
        "duration_s": cell.duration_s,
        "racy": int(cell.racy),
        "engine": s(cell.engine),
        "compiler": s(cell.compiler),
        # the same words as `dlmatrix explain`: the runtime library's ELF facts and the loader's account
        "elf": [[s(name), s(value)] for name, value in elf_facts(cell.evidence)],
        "story": [s(line) for line in story(cell.loader, cell.evidence, family)],
        "evidence": [[s(key), s(json.dumps(value))] for key, value in cell.evidence.items()],
        "stdout": s(_clip(cell.stdout)),
        "stderr": s(_clip(cell.stderr)),
        "emulated": int(cell.emulated),
    }
    return [values[name] for name in CELL_FIELDS]


def page_data(results: ResultSet, grid: Grid) -> dict[str, Any]:
    s = Strings()
    where = {column.image: i for i, column in enumerate(grid.columns)}
    tags = results.run.get("images", {})
    return {
        "fields": CELL_FIELDS,
        "columns": [
            [c.image, c.family, c.version or "?", c.arch, tags.get(c.image, "")] for c in grid.columns
        ],
        "cells": [page_cell(cell, where[cell.image], s) for cell in results.cells],
        "strings": s.table,
        "backend": results.run.get("backend", ""),
        "repeat": results.run.get("repeat", 1),
    }


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("dlmatrix.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(results: ResultSet, changes: Changes | None = None) -> str:
    grid = build_grid(results.cells)
    data = json.dumps(page_data(results, grid), separators=(",", ":"))  # ASCII: lone surrogates too
    template = _environment().get_template("report.html.j2")
    scenarios = list(dict.fromkeys(cell.scenario for cell in results.cells))
    return template.render(
        run=results.run,
        counts=results.counts(),
        states=STATES,
        statuses=STATUS_MEANINGS,
        deviates=DEVIATES,
        status_symbols=STATUS_SYMBOLS,
        symbols=SYMBOLS,
        grid=grid,
        headers=header_rows(grid.columns),
        folded=grid.folded(),
        family_titles=FAMILY_TITLES,
        family_lines=family_lines(grid),
        cells=results.cells,
        # nothing in program output can close the script element or open a comment in it
        page_data=data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"),
        headline_groups=by_family(headlines(results.cells)),
        seed_answer=seed_answer(results.cells),
        seed_sentence=seed_sentence(results.cells),
        seed_arches=seed_by_arch(results.cells),
        changes=changes or Changes(),
        arches=list(dict.fromkeys(c.arch for c in grid.columns)),
        libc_families=list(dict.fromkeys(c.family for c in grid.columns)),
        scenarios=scenarios,
    )


def report_files(results: ResultSet, previous: ResultSet | None = None) -> dict[str, str | bytes]:
    """index.html, junit.xml, summary.md and badge.svg, to be written beside results.json (all at once)."""
    changes = compare(previous, results)
    return {
        "index.html": render_html(results, changes),
        "junit.xml": junit_xml(results),
        "summary.md": summary_markdown(results, changes),
        "badge.svg": badge_svg(results.cells),
    }
