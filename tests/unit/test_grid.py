"""The summary grid, the badge and the changes grouped: pure logic over result sets."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

from dlmatrix.config.load import load_matrix
from dlmatrix.model.cells import Cell, Environment, ResultSet, judged_cell
from dlmatrix.model.libc import Libc
from dlmatrix.report.answer import build_answer, standing
from dlmatrix.report.badge import badge_svg
from dlmatrix.report.grid import family_lines, summarise
from dlmatrix.report.markdown import grid_markdown, summary_markdown
from dlmatrix.report.seed import read_seed
from dlmatrix.results.changes import compare
from tests.unit.test_report import GLIBC, MUSL, RUN, cells_as_expected

MATRIX = load_matrix()


def attempts(*results: str, scenario: str = "reopen", env: Environment = GLIBC) -> Cell:
    return judged_cell(MATRIX, env, scenario, "unpinned", list(results), [0.1] * len(results))


def test_a_grid_cell_says_crashes_racy_fails_survives_or_not_applicable():
    crashed = summarise([(0, attempts("crash:SIGSEGV")), (1, attempts("pass", scenario="app-linked"))])
    assert (crashed.status, crashed.symbol, crashed.short) == ("crashes", "✗", "1/2 SIGSEGV")
    assert crashed.text == "crashes in 1 of 2 scenarios, SIGSEGV"
    worst = summarise([(0, attempts("crash:SIGABRT")), (1, attempts("crash:SIGSEGV", scenario="exit-fast"))])
    assert worst.worst == "SIGSEGV"  # the signal of a jump into unmapped code comes first
    mixed = [(0, attempts("crash:SIGSEGV")), (1, attempts("pass", "crash:SIGSEGV", scenario="cycles"))]
    mixed.append((2, attempts("pass", scenario="app-linked")))
    both = summarise(mixed)  # one k/n rule: a scenario crashed when some attempt did (the seed's too)
    assert (both.status, both.short, both.scenarios) == ("crashes", "2/3 SIGSEGV", ("reopen", "cycles"))
    racy = summarise([(0, attempts("crash:SIGSEGV", "pass", "pass", "pass"))])
    assert (racy.status, racy.short, racy.rate) == ("racy", "racy 1/4", 0.25)
    assert racy.text == "racy: 1 of 4 attempts crashed, in 1 of 1 scenarios"
    fails = summarise([(0, attempts("timeout")), (1, attempts("pass", scenario="app-linked"))])
    assert (fails.status, fails.text) == ("fails", "no crash; timeout in 1 of 2 scenarios")
    survives = summarise([(0, attempts("pass"))])
    assert (survives.status, survives.text) == ("survives", "survives all 1 scenarios")
    skipped = replace(attempts("skipped"), stderr="base image fedora:42 is not present\n  fix: pull it")
    none = summarise([(0, skipped)])  # its rule expects a crash: not run, no result
    assert (none.status, none.symbol, none.short, none.text) == (
        "not-run",
        "⊘",
        "not run",
        "not run: base image fedora:42 is not present",
    )
    declared = summarise([(0, replace(skipped, verdict="skipped"))])  # a rule saying not applicable
    assert (declared.status, declared.symbol, declared.skipped_reason) == (
        "n/a",
        "○",
        "base image fedora:42 is not present",
    )
    both = summarise([(0, skipped), (1, replace(skipped, verdict="skipped"))])
    assert both.status == "not-run"  # one cell expected to run makes the pair not run, not n/a
    assert crashed.deviations == 0 and survives.deviations == 1  # reopen's rule says crash


def test_wholly_skipped_environments_and_runtimes_fold_away_with_their_reason():
    cells = cells_as_expected()
    fedora = Environment("fedora-42-glibc", Libc("glibc", None), None)
    cells += [
        replace(judged_cell(MATRIX, fedora, c.scenario, c.runtime, ["skipped"], [0.0]), stderr="no base")
        for c in cells[:9]
    ]
    cells += [
        replace(c, runtime="ghost", outcome="skipped", verdict="skipped", stderr="not built")
        for c in cells[:3]
    ]
    answer = build_answer(ResultSet(RUN, cells))
    grid = answer.grid
    assert [(c.image, why) for c, why in grid.folded_columns] == [("fedora-42-glibc", "no base")]
    assert grid.folded_rows == [("ghost", "not built")]
    assert grid.folded() == {"fedora-42-glibc", "ghost"}
    table = "\n".join(grid_markdown(answer))
    assert "fedora" not in table.splitlines()[0] and "| ghost |" not in table
    assert (
        "Every cell skipped or not run, so left out: fedora-42-glibc (no base); ghost (not built)." in table
    )


def test_the_grid_groups_rows_by_family_and_says_a_line_per_family():
    answer = build_answer(ResultSet(RUN, cells_as_expected()))
    grid = answer.grid
    assert grid.rows == [("model", ["unpinned", "pinned", "adaptive"])]
    assert [c.image for c in grid.columns] == [
        "debian-bullseye-glibc",
        "debian-bookworm-glibc",
        "debian-bookworm-musl",
    ]
    (family, line), *_ = family_lines(grid)
    assert family == "model"
    assert line == (
        "unpinned crashes on glibc 2.31, 2.36; pinned survives every scenario wherever it ran; "
        "adaptive ends with timeout in exit-fast on glibc 2.31, 2.36 and musl 1.2.3."
    )
    table = grid_markdown(answer)
    assert table[0] == (
        "| runtime | glibc 2.31<br>debian-bullseye | glibc 2.36<br>debian-bookworm "
        "| musl 1.2.3<br>debian-bookworm |"
    )
    assert table[3] == "| unpinned | ✗ 1/3 SIGSEGV | ✗ 1/3 SIGSEGV | ✓ survives |"


def test_the_summary_carries_the_grid_under_the_answer():
    results = ResultSet(RUN, cells_as_expected())
    summary = summary_markdown(build_answer(results))
    assert summary.index("- **model**:") < summary.index("## Each runtime in each environment")
    assert "| pinned | ✓ survives | ✓ survives | ✓ survives |" in summary


def test_a_race_that_moved_is_its_own_group_of_changes():
    before = ResultSet(RUN, [attempts("crash:SIGSEGV", "crash:SIGSEGV", "pass", "pass")])
    after = ResultSet(RUN, [attempts("crash:SIGSEGV", "pass", "pass", "pass")])
    changes = compare(before, after)
    assert [c.key for c in changes.rate_moved] == [("debian-bookworm-glibc", "reopen", "unpinned")]
    assert changes.rate_moved[0].before.endswith("2/4 attempts crashed)")
    assert changes.rate_moved[0].after.endswith("1/4 attempts crashed)")
    assert [title for title, group in changes.groups() if group] == ["rate moved"]
    assert compare(after, after).empty  # the same rate: nothing moved


def test_the_badge_counts_the_seed_and_is_coloured_by_the_verdicts():
    cells = cells_as_expected()
    assert read_seed(cells).message == "model: 1 crash, 2 survive on glibc"
    assert standing(cells) == "as declared"
    svg = ET.fromstring(badge_svg(build_answer(ResultSet(RUN, cells))))
    assert svg.get("aria-label") == "dlclose() seed: model: 1 crash, 2 survive on glibc (as declared)"
    assert svg.findall("{http://www.w3.org/2000/svg}rect")[1].get("fill") == "#4c1"
    broken = [replace(cells[0], verdict="unexpected"), *cells[1:]]
    assert standing(broken) == "unexpected" and 'fill="#e05d44"' in badge_svg(
        build_answer(ResultSet(RUN, broken))
    )
    musl = judged_cell(MATRIX, MUSL, "app-dlopen-dlclose", "pinned", ["pass"], [0.1])
    assert read_seed([musl]).message == "no result"  # musl only: no glibc answer
