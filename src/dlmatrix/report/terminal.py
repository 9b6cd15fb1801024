"""What the terminal shows of a finished run: the answer, not the whole table.

The headlines, the counts, the cells that need a look (unexpected, flaky, error) and where
the report is; the full table is one flag away (`run --table`, `dlmatrix show DIR`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from dlmatrix.model.cells import Cell, ResultSet
from dlmatrix.report.headlines import headlines
from dlmatrix.report.html import label

VERDICT_STYLE = {"ok": "green", "unexpected": "bold red", "flaky": "yellow", "skipped": "dim"}
VERDICTS = ("ok", "unexpected", "flaky", "skipped")


def counts_line(results: ResultSet) -> str:
    counts = results.counts()
    return ", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICTS) + f" of {len(results.cells)} cells"


def needs_a_look(cells: Sequence[Cell]) -> list[Cell]:
    """Cells a person must read: they missed their expectation, disagreed, or could not be judged."""
    return [c for c in cells if c.verdict in ("unexpected", "flaky") or c.outcome in ("error", "build-error")]


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
            f"[{VERDICT_STYLE[cell.verdict]}]{cell.verdict}[/]",
            f"{same}/{len(cell.attempts)}",
        )
    return table


def print_outcome(results: ResultSet, written: Sequence[Path], console: Console, table: bool) -> None:
    if table:
        console.print(cell_table(results.cells))
    for headline in headlines(results.cells):
        console.print(f"[bold]{headline.runtime}[/]: {headline.sentence()}")
    look = needs_a_look(results.cells)
    if look:
        console.print(cell_table(look, title=f"{len(look)} cells need a look"))
    console.print(counts_line(results))
    if written:
        page = written[0].parent / "index.html"
        others = ", ".join(p.name for p in written if p != page)
        console.print(f"report: {page} (with {others})")
