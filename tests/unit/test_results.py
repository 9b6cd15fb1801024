import json

import jsonschema
import pytest

from dlmatrix.config.load import load_matrix
from dlmatrix.errors import DlmatrixError
from dlmatrix.model.cells import Environment, ResultSet, judged_cell, uniform_cells
from dlmatrix.model.libc import Libc
from dlmatrix.model.selector import Selector
from dlmatrix.results.io import read_results, schema, write_results
from dlmatrix.suite.output import parse_lines, suite_cells

GLIBC = Environment("host-glibc", Libc("glibc", "2.36"), "gcc 12.2.0")
RUN = {
    "tool": "dlmatrix",
    "tool_version": "0",
    "git_commit": None,
    "host": "h",
    "backend": "host",
    "repeat": 2,
    "started": "2026-01-01T00:00:00+00:00",
    "finished": "2026-01-01T00:00:01+00:00",
}


def test_judged_cell_classifies_against_expectations():
    matrix = load_matrix()
    cell = judged_cell(matrix, GLIBC, "app-dlopen-dlclose", "unpinned", ["crash:SIGSEGV"] * 2, [0.1, 0.2])
    assert (cell.outcome, cell.signal, cell.exit_code) == ("crash", "SIGSEGV", None)
    assert cell.expected == "crash:SIGSEGV" and cell.verdict == "ok"
    wrong = judged_cell(matrix, GLIBC, "app-dlopen-dlclose", "pinned", ["crash:SIGSEGV"], [0.1])
    assert wrong.verdict == "unexpected"
    flaky = judged_cell(
        matrix, GLIBC, "app-dlopen-dlclose", "unpinned", ["crash:SIGSEGV", "pass"], [0.1, 0.3]
    )
    assert flaky.verdict == "flaky" and flaky.outcome == "pass" and flaky.duration_s == 0.3


def test_results_round_trip_and_follow_the_schema(tmp_path):
    matrix = load_matrix()
    cells = uniform_cells(matrix, GLIBC, "build-error", "cc: not found", Selector.of("reopen").pairs(matrix))
    assert len(cells) == len(Selector.of("reopen").pairs(matrix)) == 20  # 4 model, 8 LTTng-UST, 8 libraries
    assert {c.verdict for c in cells} == {"unexpected"}
    path = tmp_path / "results.json"
    write_results(ResultSet(RUN, cells), path)
    data = json.loads(path.read_text())
    jsonschema.validate(data, schema())
    assert data["schema_version"] == 1 and data["summary"] == {"unexpected": 20}
    assert read_results(path).cells == cells


def test_unreadable_results_say_how_to_fix(tmp_path):
    with pytest.raises(DlmatrixError, match="does not exist"):
        read_results(tmp_path / "results.json")
    (tmp_path / "results.json").write_text('{"schema_version": 99}')
    with pytest.raises(DlmatrixError, match="does not follow results schema 1"):
        read_results(tmp_path / "results.json")


def test_suite_output_is_parsed_and_rejudged():
    lines = [
        '{"type":"env","libc":{"family":"musl","version":"1.2.3"},"compiler":"gcc 12","kernel":"6"}',
        "garbage that is not JSON",
        json.dumps(
            {
                "type": "cell",
                "scenario": "reopen",
                "runtime": "unpinned",
                "expected": "pass",
                "evidence": {"mapped@after-close": True},
                "stdout": "",
                "stderr": "<b>x</b>",
                "attempts": [{"result": "pass", "duration_s": 0.01}],
            }
        ),
    ]
    output = parse_lines(load_matrix(), "img", lines)
    assert output.environment == Environment("img", Libc("musl", "1.2.3"), "gcc 12", "6")
    [cell] = output.cells
    assert cell.verdict == "ok" and cell.evidence == {"mapped@after-close": True}
    assert output.unparsed == ["garbage that is not JSON"]


def test_evidence_survives_results_json_field_for_field(tmp_path):
    """What a cell measured is what its reasons rest on: written and read back, nothing of it lost."""
    evidence = {
        "mapped@after-close": False,
        "mapped_noload@after-close": False,
        "dtor_runs@after-close": 1,
        "threads_after": 2,
        "upstream_commit": "c" * 40,
        "loader": {"lines": ["calling fini: ./libdlm.so [0]"], "unloaded": True},
    }
    matrix = load_matrix()
    cell = judged_cell(matrix, GLIBC, "app-dlopen-dlclose", "unpinned", ["crash:SIGSEGV"], [0.1], evidence)
    path = tmp_path / "results.json"
    write_results(ResultSet(RUN, [cell]), path)
    assert json.loads(path.read_text())["cells"][0]["evidence"] == evidence
    [back] = read_results(path).cells
    assert back.evidence == evidence and back == cell


def test_the_summary_counts_every_verdict_skipped_included(tmp_path):
    matrix = load_matrix()
    ran = judged_cell(matrix, GLIBC, "app-dlopen-dlclose", "pinned", ["pass"], [0.1])
    skipped = judged_cell(matrix, GLIBC, "reopen", "pinned", ["skipped"], [0])
    wrong = judged_cell(matrix, GLIBC, "app-dlopen-dlclose", "pinned", ["crash:SIGSEGV"], [0.1])
    results = ResultSet(RUN, [ran, skipped, skipped, wrong])
    assert results.counts() == {"ok": 1, "not-run": 2, "unexpected": 1}  # reopen's rule expects a pass
    write_results(results, tmp_path / "results.json")
    assert json.loads((tmp_path / "results.json").read_text())["summary"] == results.counts()


def test_a_serial_groups_lanes_are_kept_per_attempt_and_only_where_they_exist(tmp_path):
    """dlm-suite says per attempt of a serial group (LTTng-UST) the lane uid it ran under, or that it
    took turns; results.json keeps it for those attempts and writes nothing for the others."""
    attempts = [{"result": "pass", "duration_s": 0.5, "lane": 10100}, {"result": "pass", "duration_s": 0.4}]
    turns = {"result": "pass", "duration_s": 0.1, "lane": "serial"}
    lines = [
        '{"type":"env","libc":{"family":"glibc","version":"2.36"},"compiler":"gcc 12","kernel":"6"}',
        '{"type":"lanes","used":true,"first_uid":10100,"count":4,"user":10001}',
        json.dumps({"type": "cell", "scenario": "reopen", "runtime": "lttng-ust", "expected": "pass",
                    "evidence": {}, "stdout": "", "stderr": "", "attempts": attempts}),
        json.dumps({"type": "cell", "scenario": "reopen", "runtime": "pinned", "expected": "pass",
                    "evidence": {}, "stdout": "", "stderr": "", "attempts": [turns]}),
    ]  # fmt: skip
    output = parse_lines(load_matrix(), "img", lines)
    assert output.lanes == {"type": "lanes", "used": True, "first_uid": 10100, "count": 4, "user": 10001}
    lttng, pinned = output.cells
    assert [a.lane for a in lttng.attempts] == [10100, None] and pinned.attempts[0].lane == "serial"
    path = tmp_path / "results.json"
    write_results(ResultSet(RUN, output.cells), path)
    stored = json.loads(path.read_text())["cells"]
    assert stored[0]["attempts"] == attempts and stored[1]["attempts"][0]["lane"] == "serial"
    assert read_results(path).cells == output.cells
    stored[0]["attempts"][0]["lane"] = 0  # a lane is a uid other than root's
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"schema_version": 1, "run": RUN, "summary": {}, "cells": stored}, schema())


def test_an_images_serial_group_that_took_turns_is_warned_about_once_with_dlm_suites_reason():
    why = "cannot switch to uid 10100: Invalid argument"  # an engine's user namespace without it
    turns = [{"result": "pass", "duration_s": 0.1, "lane": "serial"}] * 2
    lines = [
        '{"type":"env","libc":{"family":"glibc","version":"2.36"},"compiler":"gcc 12","kernel":"6"}',
        json.dumps({"type": "lanes", "used": False, "why": why}),
        *(
            json.dumps({"type": "cell", "scenario": scenario, "runtime": "lttng-ust", "expected": "pass",
                        "evidence": {}, "stdout": "", "stderr": "", "attempts": turns})
            for scenario in ("reopen", "app-linked")
        ),
    ]  # fmt: skip
    matrix, selector = load_matrix(), Selector.of("reopen,app-linked", "lttng-ust")
    warned: list[str] = []
    suite_cells(matrix, GLIBC, lines, "-", selector, warned.append, lanes=True)
    assert warned == [
        f"host-glibc: the attempts of lttng-ust took turns, one at a time (dlm-suite: {why}); "
        "their races' rates differ from a run in lanes"
    ]
    suite_cells(matrix, GLIBC, lines, "-", selector, warned.append)  # the host backend: turns are its way
    lanes = lines[1].replace('"used": false', '"used": true')
    suite_cells(matrix, GLIBC, [lines[0], lanes, *lines[2:]], "-", selector, warned.append, lanes=True)
    assert len(warned) == 1
