"""The report's model: built once from a result set, every rendering reads it, and the published
report re-renders from its results.json byte for byte."""

from __future__ import annotations

import cProfile
import pstats
import shutil
from pathlib import Path

import pytest

from dlmatrix.cli.main import main
from dlmatrix.model.cells import ResultSet
from dlmatrix.report.answer import build_answer
from dlmatrix.report.files import report_files
from dlmatrix.report.legend import LEGEND
from dlmatrix.results.io import read_results
from tests.unit.test_report import RUN, cells_as_expected, flip

REPORTS = Path(__file__).resolve().parents[2] / "reports"
TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "dlmatrix" / "report" / "templates"
PACKAGE = TEMPLATES.parent
# what reads the result set: each must run once per answer, and never in a rendering
BUILDERS = {
    ("grid.py", "build_grid"),
    ("grid.py", "family_lines"),
    ("grid.py", "header_rows"),
    ("grid.py", "columns"),
    ("headlines.py", "headlines"),
    ("headlines.py", "by_family"),
    ("seed.py", "read_seed"),
    ("seed.py", "seed_by_arch"),
    ("changes.py", "compare"),
}


@pytest.mark.parametrize("name", ["index.html", "junit.xml", "summary.md", "badge.svg"])
def test_the_published_report_re_renders_byte_for_byte(name, published):
    content = published[name]
    assert (content.encode() if isinstance(content, str) else content) == (REPORTS / name).read_bytes()


def test_the_report_command_re_renders_the_published_report_byte_for_byte(tmp_path):
    """`dlmatrix report DIR` itself (its default previous file, its writing): a copy of reports/
    comes out of it unchanged."""
    copy = tmp_path / "reports"
    shutil.copytree(REPORTS, copy)
    assert main(["report", str(copy)]) == 0
    for name in ("index.html", "junit.xml", "summary.md", "badge.svg", "results.json"):
        assert (copy / name).read_bytes() == (REPORTS / name).read_bytes(), name


@pytest.fixture(scope="module")
def published() -> dict[str, str | bytes]:
    """reports/ rendered again as `dlmatrix report reports` does: from results.json, compared
    with previous-results.json."""
    answer = build_answer(
        read_results(REPORTS / "results.json"), read_results(REPORTS / "previous-results.json")
    )
    return report_files(answer)


def calls(profile: cProfile.Profile) -> dict[tuple[str, str], int]:
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    return {(Path(file).name, function): count[1] for (file, _, function), count in stats.items()}


def test_the_answer_reads_the_results_once_and_the_renderings_not_at_all():
    current = ResultSet(
        RUN, flip(cells_as_expected(), "debian-bookworm-glibc", "exit-fast", "pinned", "timeout")
    )
    previous = ResultSet(RUN, cells_as_expected())
    profile = cProfile.Profile()
    answer = profile.runcall(build_answer, current, previous)
    built = calls(profile)
    assert {builder: built.get(builder) for builder in BUILDERS} == dict.fromkeys(BUILDERS, 1)
    profile = cProfile.Profile()
    files = profile.runcall(report_files, answer)
    assert set(files) == {"index.html", "junit.xml", "summary.md", "badge.svg"}
    assert BUILDERS.isdisjoint(calls(profile))


def test_the_page_is_three_files_and_its_tables_come_from_the_legend():
    template = (TEMPLATES / "report.html.j2").read_text()
    script, style = (TEMPLATES / "report.js").read_text(), (TEMPLATES / "report.css").read_text()
    assert len(template.splitlines()) < 300
    for state in (*LEGEND.failing, "expected-failure", *LEGEND.not_run[1:]):  # ("skipped" names a toggle)
        assert f'"{state}"' not in script + template  # no verdict, state or result of their own
    assert all(
        f"'{verdict}'" not in template and f'"{verdict}"' not in template for verdict in LEGEND.verdicts
    )
    assert LEGEND.rate_bar not in script + style + template
    assert "background: var(--" not in style and "--ok:" not in style  # the colours are the legend's
    page = report_files(build_answer(ResultSet(RUN, cells_as_expected())))["index.html"]
    assert isinstance(page, str) and script in page and style in page  # one self-contained file
    assert "<script src" not in page and "<link" not in page
