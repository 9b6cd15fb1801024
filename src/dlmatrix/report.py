"""The published report, rendered from results.json alone: index.html (self-contained: inline CSS
and JS, no network), junit.xml and summary.md, with what changed since the previous run."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

import jinja2

from dlmatrix.changes import Changes, compare
from dlmatrix.expectations import version_key
from dlmatrix.explain import elf_facts
from dlmatrix.headlines import by_family, headlines, seed_answer, seed_by_arch
from dlmatrix.junit import junit_xml
from dlmatrix.loader import story
from dlmatrix.results import Cell, ResultSet
from dlmatrix.summary import summary_markdown

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


@dataclass(frozen=True)
class Column:
    image: str
    family: str
    version: str | None
    arch: str = ""


def label(cell: Cell) -> str:
    """The result in words; when attempts differ (a race), with its rate."""
    text = cell.words
    hits = sum(attempt.result == cell.result for attempt in cell.attempts)
    return text if hits == len(cell.attempts) else f"{text} {hits}/{len(cell.attempts)}"


def state(cell: Cell) -> str:
    if cell.verdict == "ok":
        return "pass" if cell.outcome == "pass" else "expected-failure"
    return cell.verdict


def columns(cells: list[Cell]) -> list[Column]:
    """Grouped by C library family, then architecture (the most columns first: the host's), then
    version. A column's architecture is what its cells that ran report (the declared one otherwise)."""
    seen: dict[str, Column] = {}
    for cell in cells:
        column = Column(cell.image, str(cell.libc["family"]), cell.libc["version"], cell.arch)
        if cell.image not in seen or (cell.libc["version"] and not seen[cell.image].version):
            seen[cell.image] = column
    weight = Counter(c.arch for c in seen.values())
    return sorted(
        seen.values(),
        key=lambda c: (
            c.family,
            -weight[c.arch],
            c.arch,
            c.version is None,
            version_key(c.version or ""),
            c.image,
        ),
    )


def families(cols: list[Column]) -> list[tuple[str, int]]:
    spans = Counter(column.family for column in cols)
    return [(family, spans[family]) for family in dict.fromkeys(c.family for c in cols)]


def arch_groups(cols: list[Column]) -> list[tuple[str, str, int]]:
    """(family, arch, span) for the header row under the families: columns are sorted, so each
    family's architectures are contiguous."""
    spans = Counter((column.family, column.arch) for column in cols)
    return [
        (family, arch, spans[family, arch])
        for family, arch in dict.fromkeys((c.family, c.arch) for c in cols)
    ]


def cell_data(cell: Cell) -> dict[str, Any]:
    data = asdict(cell)
    data.update(label=label(cell), state=state(cell), symbol=SYMBOLS.get(cell.outcome, "?"))
    # the same words as `dlmatrix explain`: the runtime library's ELF facts and the loader's account
    data.update(
        elf=elf_facts(cell.evidence), story=story(cell.loader, cell.evidence, str(cell.libc["family"]))
    )
    return data


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("dlmatrix", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(label=label, state=state, symbol=lambda cell: SYMBOLS.get(cell.outcome, "?"))
    return env


def render_html(results: ResultSet, changes: Changes | None = None) -> str:
    cols = columns(results.cells)
    index = {cell.key: i for i, cell in enumerate(results.cells)}
    rows = list(dict.fromkeys((cell.scenario, cell.runtime) for cell in results.cells))
    template = _environment().get_template("report.html.j2")
    return template.render(
        run=results.run,
        counts=results.counts(),
        states=STATES,
        symbols=SYMBOLS,
        columns=cols,
        families=families(cols),
        arch_groups=arch_groups(cols),
        arches=list(dict.fromkeys(c.arch for c in cols)),
        rows=rows,
        index=index,
        cells=results.cells,
        cells_data=[cell_data(cell) for cell in results.cells],
        headline_groups=by_family(headlines(results.cells)),
        seed_answer=seed_answer(results.cells),
        seed_arches=seed_by_arch(results.cells),
        state_counts=Counter(state(cell) for cell in results.cells),
        changes=changes or Changes(),
        runtimes=list(dict.fromkeys(r for _, r in rows)),
        scenarios=list(dict.fromkeys(s for s, _ in rows)),
    )


def report_files(results: ResultSet, previous: ResultSet | None = None) -> dict[str, str | bytes]:
    """index.html, junit.xml and summary.md, to be written beside results.json (all at once)."""
    changes = compare(previous, results)
    return {
        "index.html": render_html(results, changes),
        "junit.xml": junit_xml(results),
        "summary.md": summary_markdown(results, changes),
    }
