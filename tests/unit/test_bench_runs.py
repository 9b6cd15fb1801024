"""The bench's own runs keep no results: its figures name the cells that did not answer as expected."""

from __future__ import annotations

from dlmatrix.cli.bench_runs import to_read, verdicts
from dlmatrix.config.load import load_matrix
from dlmatrix.model.cells import Environment, judged_cell
from dlmatrix.model.libc import Libc

GLIBC = Environment("debian-bookworm-glibc", Libc("glibc", "2.36"), "gcc 12")


def test_the_warm_figures_name_each_unexpected_or_flaky_cell_with_what_it_gave():
    matrix = load_matrix()
    cells = [
        judged_cell(matrix, GLIBC, "app-dlopen-dlclose", "unpinned", ["crash:SIGSEGV"], [0.1]),  # ok
        judged_cell(matrix, GLIBC, "app-dlopen-dlclose", "pinned", ["exit:13"], [0.1]),  # unexpected
        judged_cell(matrix, GLIBC, "app-linked", "pinned", ["pass", "exit:3", "pass"], [0.1] * 3),  # flaky
    ]
    assert verdicts(cells) == {"ok": 1, "unexpected": 1, "flaky": 1}
    assert to_read(cells) == [
        "unexpected: app-dlopen-dlclose pinned on debian-bookworm-glibc: exit:13 (expected pass)",
        "flaky: app-linked pinned on debian-bookworm-glibc: " + cells[2].result + " (expected pass)",
    ]
