"""The report renderers: HTML, junit.xml, summary.md, headlines and the comparison with a previous run."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from typing import Any

import pytest

from dlmatrix.cli.main import main
from dlmatrix.config.load import load_matrix
from dlmatrix.model.cells import Cell, Environment, ResultSet, judged_cell
from dlmatrix.model.expectations import Rule
from dlmatrix.model.libc import Libc
from dlmatrix.report.answer import build_answer
from dlmatrix.report.headlines import headlines
from dlmatrix.report.html import OUTPUT_LIMIT, render_html
from dlmatrix.report.junit import junit_xml
from dlmatrix.report.legend import state
from dlmatrix.report.markdown import summary_markdown
from dlmatrix.report.seed import read_seed
from dlmatrix.results.changes import compare
from dlmatrix.results.io import write_results

RUN = {
    "tool": "dlmatrix",
    "tool_version": "0.1.0",
    "git_commit": "abc123",
    "host": "h",
    "backend": "docker",
    "repeat": 1,
    "started": "2026-11-26T10:00:00+00:00",
    "finished": "2026-11-26T10:05:00+00:00",
    "kernel": "6.1.0",
    "docker_version": "20.10.24",
}
GLIBC = Environment("debian-bookworm-glibc", Libc("glibc", "2.36"), "gcc 12.2.0")
GLIBC_OLD = Environment("debian-bullseye-glibc", Libc("glibc", "2.31"), "gcc 10.2.1")
MUSL = Environment("debian-bookworm-musl", Libc("musl", "1.2.3"), "gcc 12.2.0")


def cells_as_expected() -> list[Cell]:
    """A small but honest result set: every cell with the outcome its expectation declares."""
    matrix = load_matrix()
    cells = []
    for env in (GLIBC_OLD, GLIBC, MUSL):
        for scenario in ("app-linked", "app-dlopen-dlclose", "exit-fast"):
            for runtime in ("unpinned", "pinned", "adaptive"):
                probe = judged_cell(matrix, env, scenario, runtime, ["pass"], [0.01])
                assert probe.expected is not None
                cell = judged_cell(
                    matrix,
                    env,
                    scenario,
                    runtime,
                    [probe.expected],
                    [0.01],
                    evidence={"mapped@after-close": env.libc.family == "musl"},
                )
                cells.append(cell)
    return cells


@pytest.fixture
def results() -> ResultSet:
    return ResultSet(dict(RUN), cells_as_expected())


def flip(cells: list[Cell], image: str, scenario: str, runtime: str, result: str) -> list[Cell]:
    matrix = load_matrix()
    env = {e.image: e for e in (GLIBC, GLIBC_OLD, MUSL)}[image]
    return [
        judged_cell(matrix, env, scenario, runtime, [result], [0.02])
        if c.key == (image, scenario, runtime)
        else c
        for c in cells
    ]


def test_program_output_is_escaped_everywhere(results, tmp_path):
    hostile = "<script>alert('pwned')</script><img src=x onerror=alert(1)>"
    cells = [
        replace(results.cells[0], stderr=hostile, stdout=hostile, evidence={"note": hostile}, reason=hostile),
        *results.cells[1:],
    ]
    answer = build_answer(ResultSet(RUN, cells))
    html = render_html(answer)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "\\u003cscript\\u003ealert" in html  # in the JSON island, which JS shows as text only
    assert "<script>" not in summary_markdown(answer)
    ET.fromstring(junit_xml(answer))  # well-formed despite the markup


def page_json(html: str) -> dict[str, Any]:
    found = re.search(r'<script id="page-data" type="application/json">(.*?)</script>', html, re.S)
    assert found is not None
    return dict(json.loads(found.group(1)))


def test_the_page_opens_with_a_grid_grouped_by_libc_family_then_version(results):
    html = render_html(build_answer(results))
    header = re.search(r'<table class="grid".*?<thead>(.*?)</thead>', html, re.S)
    assert header is not None
    assert re.findall(r'class="h1" colspan="(\d)" data-family="(\w+)"', header.group(1)) == [
        ("2", "glibc"),
        ("1", "musl"),
    ]
    assert re.findall(
        r'class="h2" colspan="1" data-family="\w+" data-version="([0-9.]+)"', header.group(1)
    ) == [
        "2.31",
        "2.36",
        "1.2.3",
    ]
    assert 'class="h3"' in header.group(1) and 'class="h4"' not in header.group(1)  # no arch level: one arch
    assert html.count('<button type="button" class="g"') == 9  # 3 runtimes x 3 environments
    assert "✗ 1/3 SIGSEGV" in html and "✓ survives" in html and "≠ 1/3 timeout" in html
    assert html.index('id="family-lines"') < html.index('id="grid"') < html.index('id="full-matrix"')
    data = page_json(html)
    assert len(data["cells"]) == len(results.cells)  # every cell travels, for the drill-down
    strings = data["strings"]
    assert len(strings) == len(set(strings))  # each string once
    reason = results.cells[0].reason
    assert strings.count(reason) == 1 and sum(c.reason == reason for c in results.cells) > 1


def test_the_page_carries_program_output_clipped_and_results_json_keeps_it_whole(results):
    long = "x" * (OUTPUT_LIMIT + 500)
    cells = [replace(results.cells[0], stdout=long), *results.cells[1:]]
    strings = page_json(render_html(build_answer(ResultSet(RUN, cells))))["strings"]
    assert "x" * OUTPUT_LIMIT + "\n… (500 more characters in results.json)" in strings
    assert long not in strings


def test_cell_states():
    matrix = load_matrix()
    assert state(judged_cell(matrix, GLIBC, "app-dlopen-dlclose", "pinned", ["pass"], [0.1])) == "pass"
    assert state(judged_cell(matrix, GLIBC, "app-dlopen-dlclose", "unpinned", ["crash:SIGSEGV"], [0.1])) == (
        "expected-failure"
    )
    assert (
        state(judged_cell(matrix, GLIBC, "app-dlopen-dlclose", "pinned", ["crash:SIGSEGV"], [0.1]))
        == "unexpected"
    )
    assert state(judged_cell(matrix, GLIBC, "reopen", "pinned", ["pass", "timeout"], [0.1, 2])) == "flaky"
    assert state(judged_cell(matrix, GLIBC, "reopen", "pinned", ["skipped"], [0])) == "not-run"
    assert state(judged_cell(matrix, MUSL, "reopen", "lttng-ust", ["skipped"], [0])) == "skipped"


def test_headlines_say_where_each_variant_fails_and_why(results):
    by_runtime = {h.runtime: h.sentence() for h in headlines(results.cells)}
    unpinned = by_runtime["unpinned"]
    assert "glibc 2.31, 2.36: crash SIGSEGV in 1 of 3 scenarios, passes 2. Why: glibc unmaps" in unpinned
    assert "musl 1.2.3: passes all 3 scenarios. Why: musl's dlclose() never unmaps" in unpinned
    assert "timeout in 1 of 3 scenarios" in by_runtime["adaptive"]


def test_a_runtime_whose_every_cell_failed_to_build_is_not_measured_not_safe(results):
    """A plug-in that cannot be used must not read as "crashes on no C library here"."""
    broken = [
        replace(c, outcome="build-error", signal=None, exit_code=None, verdict="unexpected", evidence={})
        for c in results.cells
        if c.runtime == "pinned"
    ]
    [headline] = headlines(broken)
    assert headline.headline().startswith("Not measured here: no cell ran its scenario")
    assert "None" not in headline.sentence() and "crashes on no C library" not in headline.sentence()


def source_cells(outcomes: dict[tuple[str, str], str]) -> list[Cell]:
    """Cells of runtimes built from source (they carry upstream_commit), judged as declared."""
    matrix = load_matrix()
    return [
        judged_cell(matrix, env, scenario, runtime, [result], [0.01], evidence={"upstream_commit": "c" * 40})
        for env in (GLIBC_OLD, GLIBC, MUSL)
        for (scenario, runtime), result in outcomes.items()
    ]


def test_the_seed_answer_comes_from_the_source_built_cells(results):
    assert read_seed(results.cells).in_full is None  # no runtime built from source in this run
    assert read_seed(results.cells).sentence == (  # so the first sentence is the model's
        "The model runtimes after dlclose(): unpinned crashes on glibc 2.31 to 2.36, the runtime unmapped "
        "while its threads run; pinned and adaptive never crash there; on musl 1.2.3 every version "
        "survives, because musl's dlclose() never unmaps."
    )  # these cells say "unmapped" for pinned too (mapped@after-close false): no "kept mapped"
    cells = source_cells(
        {
            ("app-dlopen-dlclose", "lttng-ust-2.13.9-nopin"): "crash:SIGSEGV",
            ("app-tracepoints", "lttng-ust-2.13.9-nopin"): "crash:SIGSEGV",
            ("app-dlopen-dlclose", "lttng-ust-2.12.10-nopin"): "pass",
            ("app-tracepoints", "lttng-ust-2.12.10-nopin"): "crash:SIGSEGV",
            ("app-dlopen-dlclose", "lttng-ust-2.13.9"): "pass",
            ("app-tracepoints", "lttng-ust-2.13.9"): "pass",
        }
    )
    musl = {(c.image, c.scenario, c.runtime) for c in cells if c.libc.family == "musl" and c.result != "pass"}
    cells = [c for c in cells if (c.image, c.scenario, c.runtime) not in musl] + [
        judged_cell(load_matrix(), MUSL, s, r, ["pass"], [0.01], evidence={"upstream_commit": "c" * 40})
        for _, s, r in musl
    ]
    seed = read_seed(cells)
    answer = seed.in_full
    assert answer is not None
    assert answer.startswith(
        "LTTng-UST built from upstream source: lttng-ust-2.13.9-nopin crashes after dlclose() in "
        "app-dlopen-dlclose and app-tracepoints on glibc 2.31, 2.36; lttng-ust-2.12.10-nopin crashes "
        "after dlclose() in app-tracepoints on glibc 2.31, 2.36; lttng-ust-2.13.9 survives every scenario"
    )
    assert (
        "In the seed's own shape lttng-ust-2.12.10-nopin survives without the pin: kept loaded by a "
        "relocation-dependency cycle, whatever the pin does." in answer
    )
    assert answer.endswith("On musl 1.2.3 every version survives, because musl's dlclose() never unmaps.")
    sentence = seed.sentence
    assert sentence == (
        "LTTng-UST after dlclose(): lttng-ust-2.13.9-nopin and lttng-ust-2.12.10-nopin crash on glibc 2.31 "
        "to 2.36; lttng-ust-2.13.9 never crashes there; on musl 1.2.3 every version survives, because "
        "musl's dlclose() never unmaps."
    )
    model = build_answer(ResultSet(dict(RUN), cells))
    page = render_html(model)
    assert page.index('id="seed-sentence"') < page.index('id="grid"') < page.index('id="seed-answer"')
    summary = summary_markdown(model)
    assert summary.splitlines()[2] == f"**The seed's answer.** {sentence}"
    assert f"**The seed in full.** {answer}" in summary


def test_one_changed_cell_is_reported_as_exactly_that(results):
    broken = ResultSet(
        RUN, flip(results.cells, "debian-bookworm-musl", "app-dlopen-dlclose", "pinned", "crash:SIGSEGV")
    )
    changes = compare(results, broken)
    assert [c.key for c in changes.broken] == [("debian-bookworm-musl", "app-dlopen-dlclose", "pinned")]
    assert changes.broken[0].before == "pass (ok)" and changes.broken[0].after == "crash:SIGSEGV (unexpected)"
    assert changes.fixed == changes.new == changes.removed == []
    back = compare(broken, results)
    assert [c.key for c in back.fixed] == [("debian-bookworm-musl", "app-dlopen-dlclose", "pinned")]
    assert back.broken == []


def test_new_and_removed_cells(results):
    fewer = ResultSet(RUN, [c for c in results.cells if c.image != "debian-bullseye-glibc"])
    changes = compare(fewer, results)
    assert len(changes.new) == 9 and changes.removed == [] and changes.broken == []
    assert len(compare(results, fewer).removed) == 9
    assert compare(None, results).previous_run is None


def test_changes_appear_on_the_page_and_in_the_summary(results):
    broken = ResultSet(RUN, flip(results.cells, "debian-bookworm-glibc", "app-linked", "unpinned", "exit:4"))
    answer = build_answer(broken, results)
    html = render_html(answer)
    assert '<table class="changes" data-group="newly broken">' in html
    assert "<td>debian-bookworm-glibc</td><td>app-linked</td><td>unpinned</td><td>pass (ok)</td>" in html
    summary = summary_markdown(answer)
    assert "### Newly broken (1)" in summary
    assert "| debian-bookworm-glibc | app-linked | unpinned | pass (ok) | exit:4 (unexpected) |" in summary
    assert "## Cells that need a look" in summary and "| exit:4 | pass | unexpected |" in summary


def test_junit_keeps_failures_and_errors_apart(results, tmp_path):
    cells = flip(results.cells, "debian-bookworm-glibc", "app-linked", "pinned", "crash:SIGSEGV")
    cells = flip(cells, "debian-bookworm-musl", "app-linked", "pinned", "build-error")
    cells = flip(cells, "debian-bookworm-musl", "exit-fast", "pinned", "skipped")
    root = ET.fromstring(junit_xml(build_answer(ResultSet(RUN, cells))))
    cases = root.findall(".//testcase")
    assert len(cases) == len(cells)
    assert {s.get("name") for s in root.findall("testsuite")} == {
        "dlmatrix debian-bullseye-glibc",
        "dlmatrix debian-bookworm-glibc",
        "dlmatrix debian-bookworm-musl",
    }
    failed = [c for c in cases if c.find("failure") is not None]
    errored = [c for c in cases if c.find("error") is not None]
    skipped = [c for c in cases if c.find("skipped") is not None]
    assert [(c.get("classname"), c.get("name")) for c in failed] == [
        ("debian-bookworm-glibc", "app-linked[pinned]")
    ]
    assert [(c.get("classname"), c.get("name")) for c in errored] == [
        ("debian-bookworm-musl", "app-linked[pinned]")
    ]
    assert [c.get("name") for c in skipped] == ["exit-fast[pinned]"]
    properties = {p.get("name"): p.get("value") for p in failed[0].findall("properties/property")}
    assert properties["libc.version"] == "2.36" and properties["result"] == "crash:SIGSEGV"
    assert properties["expected"] == "pass" and properties["runtime"] == "pinned"


def test_report_command_renders_all_files_from_results_alone(results, tmp_path, capsys):
    previous = tmp_path / "old.json"
    write_results(results, previous)
    out = tmp_path / "out"
    changed = ResultSet(RUN, flip(results.cells, "debian-bookworm-glibc", "exit-fast", "pinned", "timeout"))
    write_results(changed, out / "results.json")
    assert main(["report", str(out), "--previous", str(previous)]) == 0
    assert {p.name for p in out.iterdir()} == {
        "results.json",
        "index.html",
        "junit.xml",
        "summary.md",
        "badge.svg",
    }
    assert "### Newly broken (1)" in (out / "summary.md").read_text()
    assert json.loads((out / "results.json").read_text())["summary"] == {"ok": 26, "unexpected": 1}
    assert f"compared with {previous}" in capsys.readouterr().out


def test_a_racy_cell_shows_its_rate():
    racy = Rule("reopen", "unpinned", "glibc", "*", "crash:SIGSEGV", "a race, for this test", racy=True)
    matrix = replace(load_matrix(), rules=(racy, *load_matrix().rules))
    cell = judged_cell(
        matrix,
        GLIBC,
        "reopen",
        "unpinned",
        ["pass", "crash:SIGSEGV", "pass", "crash:SIGSEGV", "pass", "crash:SIGSEGV"],
        [1, 0.1, 1, 0.1, 1, 0.1],
    )
    assert cell.verdict == "ok" and cell.racy and cell.result == "crash:SIGSEGV"
    html = render_html(build_answer(ResultSet(RUN, [cell])))
    assert "≈ racy 3/6" in html and '<svg class="rate"' in html
    assert 'width="17.5"' in html  # half the bar: 3 of 6 attempts crashed
    assert "crash SIGSEGV 3/6" in page_json(html)["strings"]  # the cell's own label, in the panel


def test_a_library_built_from_a_commit_is_not_the_seeds_subject(results):
    """A plug-in built from a git commit carries upstream_commit too; the seed stays LTTng-UST's."""
    commit = {"upstream_commit": "c" * 40}
    library = [
        judged_cell(
            load_matrix(), GLIBC, "app-dlopen-dlclose", "libuv", ["crash:SIGSEGV"], [0.01], evidence=commit
        )
    ]
    assert library[0].family == "library"
    assert read_seed(results.cells + library).sentence == read_seed(results.cells).sentence
    assert read_seed(results.cells + library).in_full is None
