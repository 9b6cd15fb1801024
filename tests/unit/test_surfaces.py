"""What the surfaces say of cells that are not plainly ok: summary.md's and --json's counts, the
badge's colour, and the seed's musl clause, each against the cells counted or read by hand."""

from __future__ import annotations

from dataclasses import replace

from dlmatrix.config.load import load_matrix
from dlmatrix.model.cells import Cell, ResultSet, judged_cell
from dlmatrix.model.expectations import Rule
from dlmatrix.report.answer import build_answer
from dlmatrix.report.badge import badge_svg
from dlmatrix.report.documents import counts
from dlmatrix.report.legend import STANDING_COLOURS
from dlmatrix.report.markdown import summary_markdown
from dlmatrix.report.seed import read_seed
from tests.unit.test_report import GLIBC, MUSL, RUN, cells_as_expected, flip, source_cells

BOOKWORM_MUSL = MUSL.image


def with_skips() -> list[Cell]:
    """The honest result set with two cells that did not run."""
    cells = flip(cells_as_expected(), BOOKWORM_MUSL, "exit-fast", "pinned", "skipped")
    return flip(cells, BOOKWORM_MUSL, "app-linked", "adaptive", "skipped")


def test_summary_md_counts_ok_and_not_run_apart():
    cells = with_skips()  # their rules expect a pass: not run, not skipped
    assert [c.verdict for c in cells].count("not-run") == 2 and len(cells) == 27
    summary = summary_markdown(build_answer(ResultSet(RUN, cells)))
    assert (
        "**25** ok, **0** unexpected, **0** flaky, **0** not-reproduced, **0** skipped, **2** not-run "
        "of 27 cells" in summary
    )


def test_the_json_counts_name_every_verdict_not_run_included():
    assert counts(with_skips()) == {
        "ok": 25, "unexpected": 0, "flaky": 0, "not-reproduced": 0, "skipped": 0, "not-run": 2, "total": 27,
    }  # fmt: skip


def test_a_cell_not_run_or_a_race_not_reproduced_yellows_the_badge():
    assert badge_colour(with_skips()) == STANDING_COLOURS["incomplete"]
    assert "(incomplete)" in badge_svg(build_answer(ResultSet(RUN, with_skips())))
    racy = Rule("reopen", "unpinned", "glibc", "*", "crash:SIGSEGV", "a race, for this test", racy=True)
    matrix = replace(load_matrix(), rules=(racy, *load_matrix().rules))
    calm = judged_cell(matrix, GLIBC, "reopen", "unpinned", ["pass"] * 5, [0.1] * 5)
    assert calm.verdict == "not-reproduced"
    cells = [c for c in cells_as_expected() if c.key != calm.key] + [calm]
    assert badge_colour(cells) == STANDING_COLOURS["incomplete"]
    assert calm in build_answer(ResultSet(RUN, cells)).needs_a_look


def badge_colour(cells: list[Cell]) -> str:
    svg = badge_svg(build_answer(ResultSet(RUN, cells)))
    [colour] = {c for c in STANDING_COLOURS.values() if f'fill="{c}"' in svg}
    return colour


def test_the_badge_turns_yellow_on_one_flaky_cell_and_red_on_one_unexpected():
    cells = cells_as_expected()
    assert badge_colour(cells) == STANDING_COLOURS["as declared"] == "#4c1"
    matrix = load_matrix()
    racing = judged_cell(
        matrix, GLIBC, "app-dlopen-dlclose", "unpinned", ["crash:SIGSEGV", "pass"], [0.1, 0.2]
    )
    assert racing.verdict == "flaky"
    flaky = [racing if c.key == racing.key else c for c in cells]
    assert badge_colour(flaky) == STANDING_COLOURS["flaky"] == "#dfb317"
    assert "(flaky)" in badge_svg(build_answer(ResultSet(RUN, flaky)))
    wrong = flip(flaky, BOOKWORM_MUSL, "app-linked", "pinned", "crash:SIGSEGV")
    assert badge_colour(wrong) == STANDING_COLOURS["unexpected"]  # the worst verdict wins


def test_a_musl_cell_that_crashes_is_never_told_as_every_version_surviving():
    cells = flip(cells_as_expected(), BOOKWORM_MUSL, "app-dlopen-dlclose", "unpinned", "crash:SIGSEGV")
    sentence = read_seed(cells).sentence
    assert sentence is not None and sentence.endswith("on musl 1.2.3 some crash too (see the musl columns).")
    assert "every version survives" not in sentence
    assert "every version survives" not in summary_markdown(build_answer(ResultSet(RUN, cells)))


def test_a_source_built_musl_seed_that_crashes_is_not_every_version_surviving():
    cells = source_cells({("app-dlopen-dlclose", "lttng-ust-2.13.9-nopin"): "crash:SIGSEGV"})  # musl too
    assert [c.result for c in cells if c.libc.family == "musl"] == ["crash:SIGSEGV"]
    seed = read_seed(cells)
    assert seed.in_full is not None and seed.sentence is not None
    assert seed.in_full.endswith("On musl 1.2.3 not every version survives the seed (see the musl columns).")
    assert "every version survives" not in seed.sentence
