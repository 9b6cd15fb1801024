"""What the terminal shows of a finished run: the answer, not the whole table.

The headlines, the counts, the cells that need a look (unexpected, flaky, error) and where
the report is; the full table is one flag away (`run --table`, `dlmatrix show DIR`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from dlmatrix.model.cells import Cell, ResultSet
from dlmatrix.model.outcomes import VERDICTS
from dlmatrix.report.answer import Answer
from dlmatrix.report.legend import LEGEND
from dlmatrix.report.words import label


def counts_line(results: ResultSet) -> str:
    """The counts of any result set (`show` prints a selection's, `merge` and `report` the whole)."""
    return verdict_counts(results.counts(), len(results.cells))


def verdict_counts(counts: Mapping[str, int], total: int) -> str:
    return ", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICTS) + f" of {total} cells"


def cell_table(cells: Sequence[Cell], title: str | None = None) -> Table:
    table = Table(
        "environment", "libc", "scenario", "runtime", "result", "expected", "verdict", "attempts", title=title
    )
    for cell in cells:
        same = sum(a.result == cell.result for a in cell.attempts)
        table.add_row(
            cell.image,
            f"{cell.libc.family} {cell.libc.version or '?'}",
            cell.scenario,
            cell.runtime,
            label(cell),
            cell.expected or "-",
            f"[{LEGEND.verdict_styles[cell.verdict]}]{cell.verdict}[/]",
            f"{same}/{len(cell.attempts)}",
        )
    return table


def print_outcome(answer: Answer, written: Sequence[Path], console: Console, table: bool) -> None:
    if table:
        console.print(cell_table(answer.cells))
    for headline in answer.headlines:
        console.print(f"[bold]{headline.runtime}[/]: {headline.sentence()}")
    if answer.needs_a_look:
        look = answer.needs_a_look
        console.print(cell_table(look, title=f"{len(look)} cells need a look"))
    console.print(verdict_counts(answer.counts, len(answer.cells)))
    if written:
        page = written[0].parent / "index.html"
        others = ", ".join(p.name for p in written if p != page)
        console.print(f"report: {page} (with {others})")
