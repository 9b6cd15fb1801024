"""The report's model: everything the report says, read from a result set once. The page,
summary.md, the badge, junit.xml and the terminal render an Answer and compute nothing of their
own, so that they cannot disagree and a result set is read once however many files it makes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from dlmatrix.model.cells import Cell, ResultSet
from dlmatrix.model.outcomes import FAILING_VERDICTS, UNMET_VERDICTS
from dlmatrix.report.grid import Grid, Header, build_grid, family_lines, header_rows
from dlmatrix.report.headlines import Headline, by_family, headlines
from dlmatrix.report.legend import HARNESS_PROBLEMS, LEGEND, SYMBOLS, Legend, state
from dlmatrix.report.seed import Seed, read_seed
from dlmatrix.report.untested import Untested, untested
from dlmatrix.report.words import label
from dlmatrix.results.changes import Changes, compare

Judgement = Literal["passed", "skipped", "error", "failure"]  # what junit.xml makes of a cell


@dataclass(frozen=True)
class CellView:
    """One cell as every renderer shows it: classified once, here."""

    cell: Cell
    symbol: str  # its outcome at a glance (legend.SYMBOLS)
    label: str  # its result in words, with the rate when attempts differ
    state: str  # its verdict, ok told apart into pass and expected-failure
    judgement: Judgement
    crashed: int  # attempts that crashed (a race's rate, with len(cell.attempts))


def view(cell: Cell) -> CellView:
    judgement: Judgement = "passed"
    if cell.verdict in ("skipped", *UNMET_VERDICTS):
        judgement = "skipped"  # junit has no other word for a result that is neither pass nor failure
    elif cell.outcome in HARNESS_PROBLEMS:
        judgement = "error"
    elif cell.verdict in FAILING_VERDICTS:
        judgement = "failure"
    crashed, _ = cell.crash_rate
    return CellView(cell, SYMBOLS.get(cell.outcome, "?"), label(cell), state(cell), judgement, crashed)


@dataclass(frozen=True)
class Answer:
    run: dict[str, Any]  # results.json's run: dates, commit, backend, engines, image tags
    cells: list[Cell]  # every cell, in the results' order
    views: list[CellView]  # the same, classified for display (junit.xml, the page's data, the tables)
    seed: Seed  # the first sentence, the seed in full, per architecture, the badge's message
    family_lines: list[tuple[str, str]]  # (runtime family, one line for it)
    grid: Grid  # a row per runtime, a column per environment
    headers: list[list[Header]]  # the column groups above the grid
    folded: set[str]  # the images and runtimes whose cells were all skipped
    headlines: list[Headline]  # one per runtime variant, in the results' order (the terminal's)
    headline_groups: list[tuple[str, list[Headline]]]  # the same by family (the page's, summary.md's)
    counts: dict[str, int]  # cells per verdict
    changes: Changes  # since the previous run (empty without one)
    failing: list[Cell]  # unexpected or flaky: summary.md's cells that need a look
    needs_a_look: list[Cell]  # those and the cells that could not be judged: the terminal's
    standing: str  # the verdicts in one word: as declared | incomplete | flaky | unexpected | no result
    libc_families: list[str]  # what the page's filters offer, in the grid's order
    arches: list[str]
    scenarios: list[str]
    untested: list[Untested]  # the runtimes and images whose every cell was skipped, and why
    legend: Legend = LEGEND


def build_answer(results: ResultSet, previous: ResultSet | None = None) -> Answer:
    """The report's model of a result set, compared with the previous one (None: no comparison)."""
    cells = results.cells
    grid = build_grid(cells)
    ran = headlines(cells)
    return Answer(
        run=results.run,
        cells=cells,
        views=[view(cell) for cell in cells],
        seed=read_seed(cells),
        family_lines=family_lines(grid),
        grid=grid,
        headers=header_rows(grid.columns),
        folded=grid.folded(),
        headlines=ran,
        headline_groups=by_family(ran),
        counts=results.counts(),
        changes=compare(previous, results),
        failing=results.failing(),
        needs_a_look=needs_a_look(cells),
        standing=standing(cells),
        libc_families=list(dict.fromkeys(c.family for c in grid.columns)),
        arches=list(dict.fromkeys(c.arch for c in grid.columns)),
        scenarios=list(dict.fromkeys(c.scenario for c in cells)),
        untested=untested(cells),
    )


def needs_a_look(cells: Sequence[Cell]) -> list[Cell]:
    """Cells a person must read: they missed their expectation, disagreed, raced without the race,
    or could not be judged. (Cells not run are told per image and runtime, with their reasons.)"""
    return [
        c
        for c in cells
        if c.verdict in (*FAILING_VERDICTS, "not-reproduced")
        or (c.outcome in HARNESS_PROBLEMS and c.verdict != "not-run")
    ]


def standing(cells: Sequence[Cell]) -> str:
    """Whether every cell is as declared: the worst verdict wins; a race not reproduced or a cell
    that did not run leaves it incomplete, and cells none of which ran are no result."""
    verdicts = {c.verdict for c in cells}
    if not cells or verdicts <= {"skipped", "not-run"}:
        return "no result"
    if "unexpected" in verdicts:
        return "unexpected"
    if verdicts & set(FAILING_VERDICTS):
        return "flaky"
    return "incomplete" if verdicts & set(UNMET_VERDICTS) else "as declared"
