"""What the terminal shows of a finished run: the answer, not the whole table.

The headlines, the counts, the cells that need a look (unexpected, flaky, error) and where
the report is; the full table is one flag away (`run --table`, `dlmatrix show DIR`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from dlmatrix.log import Logger
from dlmatrix.model.cells import Cell, ResultSet
from dlmatrix.model.outcomes import NOT_RAN, VERDICTS
from dlmatrix.report.answer import Answer
from dlmatrix.report.grid import skip_reason
from dlmatrix.report.legend import LEGEND
from dlmatrix.report.untested import shorten, untested_lines
from dlmatrix.report.words import label


def counts_line(results: ResultSet) -> str:
    """The counts of any result set (`show` prints a selection's, `merge` and `report` the whole)."""
    return verdict_counts(results.counts(), len(results.cells))


def verdict_counts(counts: Mapping[str, int], total: int) -> str:
    return ", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICTS) + f" of {total} cells"


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


def report_line(written: Sequence[Path]) -> str:
    page = written[0].parent / "index.html"
    others = ", ".join(p.name for p in written if p != page)
    return f"report: {page} (with {others})"


def print_outcome(answer: Answer, written: Sequence[Path], log: Logger, table: bool) -> None:
    """The headlines (informational: not with --quiet), then what --quiet keeps: the cells that need
    a look, what was not tested, the counts and where the report is."""
    if table:
        log.print(cell_table(answer.cells))
    for headline in answer.headlines:
        log.info(f"[bold]{escape(headline.runtime)}[/]: {escape(headline.sentence())}", markup=True)
    if answer.needs_a_look:
        look = answer.needs_a_look
        log.print(cell_table(look, title=f"{len(look)} cells need a look"))
    for line in untested_lines(answer.untested):
        log.text(line)
    log.text(verdict_counts(answer.counts, len(answer.cells)))
    if written:
        log.text(report_line(written))
