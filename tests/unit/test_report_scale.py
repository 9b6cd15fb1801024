"""The report at ten thousand cells (benchmarks/report_page.py): the synthetic run is what it claims,
and the page stays under 5 MB (a size, not a time: sizes do not depend on the machine)."""

from __future__ import annotations

from benchmarks.report_page import PUBLISHED, synthetic
from dlmatrix.report.answer import build_answer
from dlmatrix.report.grid import build_grid
from dlmatrix.report.html import render_html
from dlmatrix.results.io import read_results


def test_ten_thousand_cells_make_a_page_under_five_megabytes():
    results = synthetic(read_results(PUBLISHED).cells, 10_000)
    assert len(results.cells) == 10_000
    assert len({c.key for c in results.cells}) == 10_000
    grid = build_grid(results.cells)
    assert len(grid.columns) == 40 and len(grid.runtimes) == 25
    assert len(grid.folded_columns) == 2  # the two images that never ran
    assert any(s.status == "racy" for s in grid.summaries.values())
    page = render_html(build_answer(results)).encode()
    assert len(page) < 5_000_000, f"the page is {len(page) / 1e6:.2f} MB"
