"""The report page in a real headless Chromium (Debian's, driven by playwright): the answer and the
grid first, drill-down, permalinks, the skipped toggle, keyboard use, the full matrix."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from benchmarks.report_page import PUBLISHED, measure_in, synthetic
from dlmatrix.config.load import load_matrix
from dlmatrix.model.cells import Cell, Environment, ResultSet, judged_cell
from dlmatrix.model.libc import Libc
from dlmatrix.report.answer import build_answer
from dlmatrix.report.html import render_html
from dlmatrix.results.io import read_results
from tests.unit.test_report import GLIBC_OLD, RUN, cells_as_expected, flip

try:
    from playwright import sync_api
except ImportError:  # the tests then fail or skip through `needs`, not the module's collection
    sync_api = None  # type: ignore[assignment]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.needs("browser", Path(CHROMIUM).exists(), "Debian's chromium is missing", "bash .ci/setup"),
    pytest.mark.needs(
        "browser", sync_api is not None, "playwright is not installed", "pip install -e '.[test]'"
    ),
]

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOSTILE = "<script>document.title='pwned'</script>"
TAG = "dlmatrix/debian-bookworm-glibc:0123456789abcdef"
FEDORA = Environment("fedora-42-glibc", Libc("glibc", None), None)
NO_BASE = "base image fedora:42 is not present and no registry answered"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser
        browser.close()


def racy(results: list[str]) -> Cell:
    return judged_cell(load_matrix(), GLIBC_OLD, "app-linked", "pinned", results, [0.01] * len(results))


def skipped_image() -> list[Cell]:
    """An image whose base never came: every cell skipped, so its column folds away."""
    cells = []
    for cell in cells_as_expected()[:9]:
        skip = judged_cell(load_matrix(), FEDORA, cell.scenario, cell.runtime, ["skipped"], [0.0])
        cells.append(replace(skip, stderr=NO_BASE))
    return cells


def swap(cells: list[Cell], new: Cell) -> list[Cell]:
    return [new if c.key == new.key else c for c in cells]


@pytest.fixture
def report(tmp_path):
    """A run where one cell broke since the previous one and a race moved, with one image skipped."""
    before = swap(cells_as_expected(), racy(["crash:SIGSEGV", "crash:SIGSEGV", "pass"]))
    cells = flip(before, "debian-bookworm-musl", "app-dlopen-dlclose", "pinned", "crash:SIGSEGV")
    cells = [replace(c, stderr=HOSTILE) if c.verdict == "unexpected" else c for c in cells]
    cells = swap(cells, racy(["crash:SIGSEGV", "pass", "pass"])) + skipped_image()
    run = {**RUN, "images": {"debian-bookworm-glibc": TAG}}
    current = ResultSet(run, cells)
    path = tmp_path / "index.html"
    path.write_text(render_html(build_answer(current, ResultSet(RUN, before))))
    return path


@pytest.fixture
def page(browser, report):
    context = browser.new_context(offline=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(report.as_uri())
    yield page
    assert errors == []
    context.close()


def grid_cells(page) -> int:
    return int(page.locator("#grid button.g:visible").count())


def grid_button(page, runtime: str, image: str):
    return page.locator(f"#grid button.g[data-runtime='{runtime}'][data-image='{image}']")


def test_the_page_opens_with_the_answer_and_the_grid(page):
    assert page.title() == "dlmatrix compatibility report"
    assert page.locator("#family-lines li").count() == 1  # the model's line
    assert "unpinned crashes on glibc 2.31, 2.36" in page.locator("#family-lines").inner_text()
    assert page.locator("#family-lines").bounding_box()["y"] < page.locator("#grid").bounding_box()["y"]
    assert grid_cells(page) == 9  # 3 runtimes x 3 environments; the skipped image is folded
    assert page.locator("#shown").inner_text() == "9 grid cells shown"
    unpinned = grid_button(page, "unpinned", "debian-bookworm-glibc")
    assert unpinned.inner_text() == "✗ 1/3 SIGSEGV"
    assert unpinned.get_attribute("aria-label") == (
        "unpinned on glibc 2.36 (debian-bookworm-glibc): crashes in 1 of 3 scenarios, SIGSEGV"
    )
    assert "Newly broken (1)" in page.locator("#changes").inner_text()
    assert "Rate moved (1)" in page.locator("#changes").inner_text()


def test_a_racy_cell_shows_its_rate_as_a_chart(page):
    cell = page.locator("#grid td.s-racy")
    assert cell.count() == 1 and cell.locator("svg.rate").count() == 1
    assert cell.inner_text().strip() == "≈ racy 1/3 ‼"  # flaky here: no racy rule declares it
    cell.locator("button").click()
    chart = page.locator("#d-env-charts svg[role='img']")
    assert chart.count() == 1
    assert "glibc 2.31 : 1 of 3" in chart.get_attribute("aria-label")


def test_show_skipped_unfolds_the_skipped_image(page):
    folded = page.locator("#folded")
    assert "fedora-42-glibc" in folded.inner_text()
    folded.locator("summary").click()
    assert NO_BASE in folded.inner_text()
    assert grid_button(page, "pinned", "fedora-42-glibc").is_hidden()
    page.check("#f-skipped")
    assert grid_cells(page) == 12
    # its rules expect outcomes: without its base it is not run, never "not applicable"
    assert grid_button(page, "pinned", "fedora-42-glibc").inner_text() == "⊘ not run"
    assert "skipped=1" in page.url
    page.uncheck("#f-skipped")
    assert grid_cells(page) == 9


def test_a_grid_cell_drills_down_to_its_scenarios_and_each_to_its_evidence(page):
    grid_button(page, "unpinned", "debian-bookworm-glibc").click()
    assert page.locator("#details").is_visible()
    assert page.locator("#d-title").inner_text() == "unpinned on debian-bookworm-glibc"
    assert page.locator("#d-scenarios tr").count() == 3
    page.locator("#d-scenarios button", has_text="app-dlopen-dlclose").click()
    assert page.locator("#d-title").inner_text() == "app-dlopen-dlclose / unpinned on debian-bookworm-glibc"
    assert page.locator("#d-result").inner_text() == "✗ crash SIGSEGV"
    assert page.locator("#d-expected").inner_text() == "crash:SIGSEGV"
    assert "glibc unmaps the runtime" in page.locator("#d-reason").inner_text()
    assert page.locator("#d-libc").inner_text() == "glibc 2.36"
    assert page.locator("#d-evidence").inner_text().split() == ["mapped@after-close", "false"]
    assert page.locator("#d-command").inner_text().splitlines() == [
        f"docker run --rm {TAG} --scenario app-dlopen-dlclose --runtime unpinned --repeat 1",
        "dlmatrix run --backend docker --image debian-bookworm-glibc --scenario app-dlopen-dlclose "
        "--runtime unpinned --repeat 1 --out rerun",
    ]
    page.keyboard.press("Escape")
    assert page.locator("#details").is_hidden()
    assert "cell=" not in page.url


def test_a_scenario_filter_narrows_the_drill_down_and_says_the_grid_does_not(page):
    page.select_option("#f-scenario", "exit-fast")
    assert "the panel and the full matrix show exit-fast only" in page.locator("#shown").inner_text()
    grid_button(page, "adaptive", "debian-bookworm-glibc").click()
    assert page.locator("#d-scenarios tr").count() == 1
    assert page.locator("#d-scenarios").inner_text().split()[:3] == ["exit-fast", "◔", "timeout"]


def test_a_permalink_brings_back_the_filters_and_the_open_cell(page, browser):
    page.select_option("#f-libc", "glibc")
    page.select_option("#f-runtime", "pinned")
    assert grid_cells(page) == 2
    grid_button(page, "pinned", "debian-bookworm-glibc").click()
    page.locator("#d-scenarios button", has_text="exit-fast").click()
    page.click("#copy-link")
    link = page.locator("#link").input_value()
    assert link == page.url and "libc=glibc" in link and "runtime=pinned" in link
    again = browser.new_context(offline=True).new_page()
    again.goto(link)
    assert again.locator("#f-libc").input_value() == "glibc"
    assert again.locator("#f-runtime").input_value() == "pinned"
    assert grid_cells(again) == 2
    assert again.locator("#details").is_visible()
    assert again.locator("#d-title").inner_text() == "exit-fast / pinned on debian-bookworm-glibc"
    again.context.close()


def test_the_grid_and_the_panel_work_from_the_keyboard(page):
    assert page.get_by_role("table", name="Each runtime in each environment").is_visible()
    page.focus("#folded summary")  # the control just above the grid
    page.keyboard.press("Tab")  # one grid cell is in the tab order: the first
    focused = page.locator("#grid button.g:focus")
    assert focused.get_attribute("data-runtime") == "unpinned"
    assert focused.get_attribute("data-image") == "debian-bullseye-glibc"
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    focused = page.locator("#grid button.g:focus")
    assert (focused.get_attribute("data-runtime"), focused.get_attribute("data-image")) == (
        "pinned",
        "debian-bookworm-glibc",
    )
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="pinned on debian-bookworm-glibc")
    assert dialog.is_visible()
    assert page.evaluate("document.activeElement.id") == "d-title"
    page.keyboard.press("Escape")
    assert dialog.is_hidden()
    assert page.evaluate("document.activeElement.dataset.image") == "debian-bookworm-glibc"


def test_the_full_matrix_draws_on_demand_and_keeps_output_as_text(page):
    assert page.locator("#matrix").count() == 0  # drawn when opened, not at load
    page.click("#full-matrix summary")
    # <details> fires "toggle" as a task after the click returns: wait for the drawing it starts
    sync_api.expect(page.locator("#matrix button.cell:visible")).to_have_count(27)
    assert "full=1" in page.url
    page.select_option("#f-verdict", "unexpected")
    rows = page.locator("#matrix tbody tr")
    assert rows.count() == 1
    assert rows.locator("th").all_inner_texts() == ["app-dlopen-dlclose", "pinned"]
    rows.locator("td.unexpected button.cell").click()
    assert page.locator("#d-stderr").inner_text() == HOSTILE
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
    path.write_text(render_html(build_answer(ResultSet(RUN, cells))))
    context = browser.new_context(offline=True)
    page = context.new_page()
    page.goto(path.as_uri())
    groups = page.locator("#grid thead th.h3")
    assert [groups.nth(i).inner_text() for i in range(groups.count())] == ["i386", "amd64", "amd64"]
    page.select_option("#f-arch", "i386")
    assert grid_cells(page) == 3
    glibc = page.locator("#grid thead th.h1[data-family='glibc']")
    assert glibc.get_attribute("colspan") == "1"  # the family spans its visible columns only
    assert page.locator("#grid thead th.h1[data-family='musl']").is_hidden()
    page.locator("#grid button.g:visible").first.click()
    page.locator("#d-scenarios button").first.click()
    assert page.locator("#d-arch").inner_text() == "i386"
    context.close()


def test_the_page_benchmark_measures_a_synthetic_run(browser, tmp_path):
    path = tmp_path / "index.html"
    path.write_text(render_html(build_answer(synthetic(read_results(PUBLISHED).cells, 1000))))
    figures = measure_in(browser, path, loads=1)
    assert figures["page_bytes"] == path.stat().st_size
    assert len(figures["load_ms"]) == 1 and figures["load_ms"][0] > 0
    assert len(figures["filter_ms"]) == len(figures["filter_full_matrix_ms"]) == 10
