"""index.html, rendered from the report's model: self-contained (inline CSS, JS and SVG, no
network). The page opens with the seed's answer and the summary grid; every cell's details travel
as compact JSON (strings stored once) and are drawn on demand, so it stays small and fast at ten
thousand cells. results.json remains the full record."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

import jinja2
from markupsafe import Markup

from dlmatrix.report.answer import Answer, CellView
from dlmatrix.report.explain import elf_facts, story

OUTPUT_LIMIT = 4000  # characters of stdout/stderr the page carries per cell; results.json has all


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
    *("stdout", "stderr", "emulated", "crashed"),
]


def page_cell(seen: CellView, column: int, s: Strings) -> list[Any]:
    cell = seen.cell
    family = cell.libc.family
    values = {
        "column": column,
        "scenario": s(cell.scenario),
        "runtime": s(cell.runtime),
        "result": s(cell.result),
        "symbol": s(seen.symbol),
        "label": s(seen.label),
        "state": s(seen.state),
        "verdict": s(cell.verdict),
        "expected": s(cell.expected),
        "reason": s(cell.reason),
        "attempts": [[s(a.result), a.duration_s] for a in cell.attempts],
        "duration_s": cell.duration_s,
        "racy": int(cell.racy),
        "engine": s(cell.engine),
        "compiler": s(cell.compiler),
        # the same words as `dlmatrix explain`: the runtime library's ELF facts and the loader's account;
        # pairs flat (name, value, name, value...): at ten thousand cells a bracket pair per fact
        # is a megabyte of the page
        "elf": [s(text) for pair in elf_facts(cell.evidence) for text in pair],
        "story": [s(line) for line in story(cell.loader, cell.evidence, family)],
        "evidence": [s(text) for key, value in cell.evidence.items() for text in (key, json.dumps(value))],
        "stdout": s(_clip(cell.stdout)),
        "stderr": s(_clip(cell.stderr)),
        "emulated": int(cell.emulated),
        "crashed": seen.crashed,
    }
    return [values[name] for name in CELL_FIELDS]


def page_data(answer: Answer) -> dict[str, Any]:
    s = Strings()
    where = {column.image: i for i, column in enumerate(answer.grid.columns)}
    tags = answer.run.get("images", {})
    return {
        "fields": CELL_FIELDS,
        "columns": [
            [c.image, c.family, c.version or "?", c.arch, tags.get(c.image, "")] for c in answer.grid.columns
        ],
        "cells": [page_cell(seen, where[seen.cell.image], s) for seen in answer.views],
        "strings": s.table,
        "backend": answer.run.get("backend", ""),
        "repeat": answer.run.get("repeat", 1),
        "legend": answer.legend.script_tables(),
    }


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("dlmatrix.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _inline(name: str) -> Markup:
    """The page's style or script, as written: read, not rendered as a template, so that nothing in
    the CSS or JS (a `${{` in a template literal, a `{#`) is ever taken for Jinja."""
    return Markup(files("dlmatrix.report").joinpath("templates", name).read_text(encoding="utf-8"))


def _script_data(answer: Answer) -> str:
    data = json.dumps(page_data(answer), separators=(",", ":"))  # ASCII: lone surrogates too
    # nothing in program output can close the script element or open a comment in it
    return data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_html(answer: Answer) -> str:
    template = _environment().get_template("report.html.j2")
    return template.render(
        answer=answer,
        legend=answer.legend,
        style=_inline("report.css"),
        script=_inline("report.js"),
        page_data=_script_data(answer),
    )
