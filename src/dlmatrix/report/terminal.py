"""What the terminal shows of a finished run: the answer, not the whole table.

The ending (report.ending: one screen) and, a flag away, the full table (`run --table`, `dlmatrix
show DIR`) and each runtime's headline in full (`run --headlines`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from dlmatrix.log import Logger
from dlmatrix.model.cells import Cell, ResultSet
from dlmatrix.model.outcomes import NOT_RAN
from dlmatrix.report.answer import Answer
from dlmatrix.report.ending import ending
from dlmatrix.report.grid import skip_reason
from dlmatrix.report.legend import LEGEND
from dlmatrix.report.untested import shorten
from dlmatrix.report.words import label, verdict_counts

__all__ = ["cell_table", "counts_line", "print_outcome", "verdict_counts"]


def counts_line(results: ResultSet) -> str:
    """The counts of any result set (`show` prints a selection's, `merge` and `report` the whole)."""
    return verdict_counts(results.counts(), len(results.cells))


def cell_table(cells: Sequence[Cell], title: str | None = None) -> Table:
    """The cells as rows; a skipped cell's reason in a last column, there when one is skipped."""
    columns = ["environment", "libc", "scenario", "runtime", "result", "expected", "verdict", "attempts"]
    skips = any(c.verdict in NOT_RAN for c in cells)
    table = Table(*columns, *(["why skipped or not run"] if skips else []), title=title)
    for cell in cells:
        same = sum(a.result == cell.result for a in cell.attempts)
        why = [shorten(skip_reason(cell)) if cell.verdict in NOT_RAN else ""] if skips else []
        table.add_row(
            cell.image,
            f"{cell.libc.family} {cell.libc.version or '?'}",
            cell.scenario,
            cell.runtime,
            label(cell),
            cell.expected or "-",
            f"[{LEGEND.verdict_styles[cell.verdict]}]{cell.verdict}[/]",
            f"{same}/{len(cell.attempts)}",
            *(escape(w) for w in why),
        )
    return table


def print_outcome(
    answer: Answer, written: Sequence[Path], log: Logger, table: bool = False, headlines: bool = False
) -> None:
    """The ending, one screen: its information (not with --quiet), then what --quiet keeps: the
    cells that need a look, what was not tested, the counts and where the report is. Before it,
    with table, every cell; with headlines, each runtime's headline in full (its reasons per C
    library, as summary.md gives them)."""
    if table:
        log.print(cell_table(answer.cells))
    if headlines:
        for headline in answer.headlines:
            log.info(f"[bold]{escape(headline.runtime)}[/]: {escape(headline.sentence())}", markup=True)
    end = ending(answer, written, log.console.width)
    for line in end.told:
        log.info(line)
    for line in end.kept:
        log.text(line)
