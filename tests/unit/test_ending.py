"""The end of a run on the terminal: one screen, each reason once, the rest one command away."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from dlmatrix.cli.main import main
from dlmatrix.log import LOG_WIDTH, Logger
from dlmatrix.model.cells import ResultSet
from dlmatrix.model.outcomes import VERDICTS
from dlmatrix.report.answer import Answer, build_answer
from dlmatrix.report.ending import mechanisms
from dlmatrix.report.terminal import print_outcome
from dlmatrix.results.io import read_results, write_results
from tests.conftest import REPO
from tests.unit.test_report import GLIBC_OLD, RUN, cells_as_expected, flip

PUBLISHED = REPO / "reports" / "results.json"
WRITTEN = [Path("reports/index.html"), Path("reports/results.json"), Path("reports/summary.md")]
SCREEN = 40  # rows: the one screen
OPENING = 50  # characters of a reason that the ending always keeps (it cuts at 60 at the least)


def render(answer: Answer, width: int, written: list[Path] = WRITTEN, headlines: bool = False) -> str:
    """The ending as a terminal this wide shows it: long lines wrapped, each row a line."""
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, highlight=False)
    print_outcome(answer, written, Logger(console, stderr=io.StringIO(), live=False), headlines=headlines)
    return out.getvalue()


def flat(text: str) -> str:
    """The text with its wrapping undone, to find what a wrapped line says."""
    return " ".join(text.split())


def opening(reason: str) -> str:
    return flat(reason)[:OPENING]


def reasons(answer: Answer) -> set[str]:
    return {f.why for h in answer.headlines for f in h.findings if f.why}


@pytest.fixture(scope="module")
def published() -> Answer:
    """The published run (an older one: its verdicts are as stored, whatever today's rules say)."""
    return build_answer(read_results(PUBLISHED))


@pytest.mark.parametrize("width", [LOG_WIDTH, 120, 80])
def test_the_published_runs_ending_fits_one_screen(published, width):
    text = render(published, width)
    lines, said = text.splitlines(), flat(text)
    assert len(lines) <= SCREEN, text
    families = {c.family for c in published.cells if c.verdict not in ("skipped", "not-run")}
    assert families and all(any(line.startswith(f"{f}: ") for line in lines) for f in families)
    assert all(f"{published.counts.get(v, 0)} {v}" in said for v in VERDICTS)
    assert f"of {len(published.cells)} cells" in said
    assert lines[-1] == "report: reports/index.html (with results.json, summary.md)"
    if published.needs_a_look:
        assert f"{len(published.needs_a_look)} cells need a look" in said
    assert all(f"not tested: image {u.name}" in said for u in published.untested if u.axis == "image")


@pytest.mark.parametrize("width", [LOG_WIDTH, 120, 80])
def test_the_published_runs_ending_says_each_reason_once_or_counts_it(published, width):
    said = flat(render(published, width))
    distinct = reasons(published)
    assert len(distinct) > 1
    shown = [r for r in distinct if opening(r) in said]
    assert all(said.count(opening(r)) == 1 for r in shown)
    more = re.search(r"and (\d+) more reasons|Why: (\d+) reasons", said)
    hidden = int(next(g for g in more.groups() if g)) if more else 0
    assert len(shown) + hidden == len(distinct)
    # the headlines say a reason once per C library group: the ending, once per mechanism
    assert any(sum(h.sentence().count(r) for h in published.headlines) > 1 for r in distinct)


def test_the_published_runs_ending_is_a_fraction_of_its_headlines(published):
    ending = render(published, LOG_WIDTH)
    full = render(published, LOG_WIDTH, headlines=True)
    assert full.endswith(ending) and len(ending.encode()) * 4 < len(full.encode())


def test_a_reason_given_for_several_c_libraries_and_runtimes_is_said_once_naming_them():
    # pinned's two glibc versions end differently, so its headline gives the same reason twice
    cells = flip(cells_as_expected(), GLIBC_OLD.image, "app-linked", "pinned", "crash:SIGSEGV")
    answer = build_answer(ResultSet(RUN, cells))
    [pinned] = [h for h in answer.headlines if h.runtime == "pinned"]
    glibc = {f.why for f in pinned.findings if f.family == "glibc"}
    assert len([f for f in pinned.findings if f.family == "glibc"]) == 2 and len(glibc) == 1
    said = flat(render(answer, LOG_WIDTH))
    assert said.count(opening(glibc.pop())) == 1
    assert "pinned on glibc 2.31, 2.36: " in said
    musl = next(m for m in mechanisms(answer.headlines) if "musl" in m.libcs)
    assert sorted(musl.runtimes) == ["adaptive", "pinned", "unpinned"]
    assert said.count(opening(musl.reason)) == 1
    assert "every model runtime on musl 1.2.3: " in said  # all three of the run's model runtimes


def test_cells_that_need_a_look_are_collapsed_past_ten_and_the_command_shown_lists_them(tmp_path, capsys):
    cells = cells_as_expected()
    for code, cell in enumerate(cells[:14], start=10):  # each its own exit code: no two alike
        cells = flip(cells, cell.image, cell.scenario, cell.runtime, f"exit:{code}")
    results = ResultSet(RUN, cells)
    write_results(results, tmp_path / "results.json")
    answer = build_answer(results)
    assert len(answer.needs_a_look) == 14
    text = render(answer, LOG_WIDTH, [tmp_path / "index.html", tmp_path / "results.json"])
    lines = text.splitlines()
    start = lines.index("14 cells need a look:")
    assert [line.startswith("  unexpected: ") for line in lines[start + 1 : start + 12]] == [True] * 10 + [
        False
    ]
    command = f"dlmatrix show {tmp_path} --verdict unexpected"
    assert f"and 4 more cells: `{command}` lists them, as does {tmp_path}/index.html" in flat(text)
    assert main([*command.split()[1:], "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["cells"]
    assert [(c["image"], c["scenario"], c["runtime"]) for c in listed] == [c.key for c in answer.needs_a_look]


def test_cells_alike_are_one_line_naming_their_images():
    cells = cells_as_expected()
    for cell in cells:
        if (cell.runtime, cell.scenario) == ("pinned", "app-linked") and cell.libc.family == "glibc":
            cells = flip(cells, cell.image, cell.scenario, cell.runtime, "exit:7")
    said = render(build_answer(ResultSet(RUN, cells)), LOG_WIDTH)
    assert "2 cells need a look:" in said
    assert (
        "  unexpected: pinned on debian-bullseye-glibc and debian-bookworm-glibc: exit 7 (expected pass) "
        "in app-linked\n"
    ) in said


def test_show_takes_verdicts_and_refuses_an_unknown_one(tmp_path, capsys):
    write_results(ResultSet(RUN, cells_as_expected()), tmp_path / "results.json")
    assert main(["show", str(tmp_path), "--verdict", "ok,flaky", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["counts"]["ok"] == len(cells_as_expected()) == len(document["cells"])
    assert main(["show", str(tmp_path), "--verdict", "unexpected", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cells"] == []
    assert main(["show", str(tmp_path), "--verdict", "failed"]) == 2
    assert "--verdict failed: no such verdict" in capsys.readouterr().err


def test_report_prints_the_ending_and_with_headlines_each_runtime_in_full(tmp_path, capsys):
    write_results(ResultSet(RUN, cells_as_expected()), tmp_path / "results.json")
    assert main(["report", str(tmp_path)]) == 0
    short = capsys.readouterr().out
    assert "Why, once per mechanism:" in short and f"report: {tmp_path / 'index.html'}" in short
    assert main(["report", str(tmp_path), "--headlines"]) == 0
    long = capsys.readouterr().out
    assert "pinned: Protection: " in long and "pinned: Protection: " not in short
