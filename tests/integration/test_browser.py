"""The report page in a real headless Chromium (Debian's, driven by playwright): filters and details."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from dlmatrix.changes import compare
from dlmatrix.report import render_html
from dlmatrix.results import ResultSet
from tests.unit.test_report import RUN, cells_as_expected, flip

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright comes with the test extra")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is missing: .ci/setup")

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, tmp_path):
    """The report of a run where one cell broke since the previous one, opened from disk, offline."""
    previous = ResultSet(RUN, cells_as_expected())
    cells = flip(previous.cells, "debian-bookworm-musl", "app-dlopen-dlclose", "pinned", "crash:SIGSEGV")
    cells = [
        replace(c, stderr="<script>document.title='pwned'</script>")
        if c.key == ("debian-bookworm-musl", "app-dlopen-dlclose", "pinned")
        else c
        for c in cells
    ]
    current = ResultSet(RUN, cells)
    path = tmp_path / "index.html"
    path.write_text(render_html(current, compare(previous, current)))
    context = browser.new_context(offline=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    yield page
    assert errors == []
    context.close()


def visible_cells(page):
    return page.locator("#matrix td[data-verdict]:not(.dim):visible").count()


def test_page_loads_offline_with_the_full_matrix(page):
    assert page.title() == "dlmatrix compatibility report"
    assert visible_cells(page) == 27
    assert page.locator("#shown").inner_text() == "27 cells shown"
    assert page.locator("#headlines li").count() == 3
    assert "Newly broken (1)" in page.locator("#changes").inner_text()


def test_filter_by_libc_family_hides_the_other_columns(page):
    page.select_option("#f-family", "musl")
    assert visible_cells(page) == 9
    assert page.locator("#matrix thead th[data-family='glibc']").first.is_hidden()
    assert page.locator("#matrix thead th[data-family='musl']").first.is_visible()


def test_filter_by_runtime_and_scenario(page):
    page.select_option("#f-runtime", "pinned")
    assert visible_cells(page) == 9
    page.select_option("#f-scenario", "exit-fast")
    assert page.locator("#matrix tbody tr:visible").count() == 1
    assert visible_cells(page) == 3


def test_filter_by_verdict_leaves_the_unexpected_cell(page):
    page.select_option("#f-verdict", "unexpected")
    assert page.locator("#shown").inner_text() == "1 cells shown"
    row = page.locator("#matrix tbody tr:visible")
    assert row.count() == 1
    assert row.locator("th").all_inner_texts() == ["app-dlopen-dlclose", "pinned"]


def test_a_cell_opens_its_details_with_the_evidence(page):
    assert page.locator("#details").is_hidden()
    page.locator("#matrix tr[data-scenario='app-dlopen-dlclose'][data-runtime='unpinned'] button.cell").nth(
        1
    ).click()
    details = page.locator("#details")
    assert details.is_visible()
    assert page.locator("#d-title").inner_text() == "app-dlopen-dlclose / unpinned on debian-bookworm-glibc"
    assert page.locator("#d-result").inner_text() == "✗ crash SIGSEGV"
    assert page.locator("#d-expected").inner_text() == "crash:SIGSEGV"
    assert "glibc unmaps the runtime" in page.locator("#d-reason").inner_text()
    assert page.locator("#d-libc").inner_text() == "glibc 2.36"
    assert page.locator("#d-evidence").inner_text().split() == ["mapped@after-close", "false"]
    page.keyboard.press("Escape")
    assert details.is_hidden()


def test_program_output_shows_as_text_not_markup(page):
    page.select_option("#f-verdict", "unexpected")
    page.locator("#matrix td[data-verdict=unexpected] button.cell").click()
    assert page.locator("#d-stderr").inner_text() == "<script>document.title='pwned'</script>"
    assert page.title() == "dlmatrix compatibility report"
    assert page.locator("#details script").count() == 0


def test_filter_by_architecture_keeps_the_group_headers_aligned(browser, tmp_path):
    arches = {
        "debian-bullseye-glibc": "i386",
        "debian-bookworm-glibc": "amd64",
        "debian-bookworm-musl": "amd64",
    }
    cells = [replace(c, arch=arches[c.image]) for c in cells_as_expected()]
    path = tmp_path / "arch.html"
    path.write_text(render_html(ResultSet(RUN, cells)))
    context = browser.new_context(offline=True)
    page = context.new_page()
    page.goto(path.as_uri())
    groups = page.locator("#matrix thead th.group[data-arch]")
    assert [groups.nth(i).inner_text() for i in range(groups.count())] == ["amd64", "i386", "amd64"]
    page.select_option("#f-arch", "i386")
    assert visible_cells(page) == 9
    glibc = page.locator("#matrix thead th.group[data-family='glibc']:not([data-arch])")
    assert glibc.get_attribute("colspan") == "1"  # the family spans its visible columns only
    assert page.locator("#matrix thead th.group[data-family='musl']").first.is_hidden()
    page.locator("#matrix td[data-arch='i386'] button.cell").first.click()
    assert page.locator("#d-arch").inner_text() == "i386"
    context.close()
