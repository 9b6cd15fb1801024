"""The command line's conventions: argparse errors in the error/fix form, -q/--quiet, --json, a run
that tested nothing, `show`'s skip reasons, `explain`'s default results and a fresh --out."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from dlmatrix.cli import main as cli
from dlmatrix.cli import run as run_command
from dlmatrix.cli.report_set import previous_results
from dlmatrix.config.load import load_matrix
from dlmatrix.log import Logger
from dlmatrix.model.catalog import Matrix
from dlmatrix.model.cells import Cell, Environment, ResultSet, judged_cell, uniform_cells
from dlmatrix.model.libc import Libc
from dlmatrix.model.selector import Selector
from dlmatrix.report.untested import nothing_tested, nothing_tested_cause, untested, untested_lines
from dlmatrix.results.io import write_results
from tests.conftest import REPO
from tests.unit.test_log import Canned
from tests.unit.test_results import RUN

GLIBC = Environment("host-glibc", Libc("glibc", "2.36"), "gcc")
MUSL = Environment("host-musl", Libc("musl", "1.2.3"), "musl-gcc")
NOT_APPLICABLE = "not applicable: the host backend installs no packages"


@pytest.fixture(scope="module")
def matrix() -> Matrix:
    return load_matrix()


def skipped(matrix: Matrix, env: Environment, runtime: str, why: str = NOT_APPLICABLE) -> list[Cell]:
    return uniform_cells(matrix, env, "skipped", why, Selector.of("app-*", runtime).pairs(matrix))


def passed(matrix: Matrix, env: Environment, runtime: str = "pinned") -> Cell:
    return judged_cell(matrix, env, "app-linked", runtime, ["pass"], [0.1])


# argparse's errors


@pytest.mark.parametrize(
    ("argv", "cause", "fix"),
    [
        (["run", "--out", "x", "--foo"], "unrecognized arguments: --foo", "dlmatrix run --help"),
        (["list", "--bar", "1"], "unrecognized arguments: --bar 1", "dlmatrix list --help"),
        (["run"], "the following arguments are required: --out", "dlmatrix run --help"),
        (["frob"], "argument command: invalid choice: 'frob'", "dlmatrix --help"),
        (["run", "--out", "x", "--repeat", "zero"], "argument --repeat: ", "dlmatrix run --help"),
    ],
)
def test_argparse_errors_name_the_cause_and_the_fix(capsys, argv, cause, fix):
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    error, fixed = capsys.readouterr().err.splitlines()
    assert error.startswith(f"dlmatrix: error: {cause}")
    assert fixed == f"  fix: {fix} lists the options"


# -q/--quiet


@pytest.mark.parametrize(
    ("argv", "quiet"),
    [
        (["list"], False),
        (["-q", "list"], True),
        (["list", "-q"], True),
        (["--quiet", "show", "out"], True),
        (["show", "out", "--quiet"], True),
    ],
)
def test_quiet_is_taken_before_the_command_name_and_after_it(argv, quiet):
    assert cli.parse(argv).quiet is quiet


def test_quiet_silences_steps_progress_and_information_but_not_results_warnings_or_errors():
    out, err = io.StringIO(), io.StringIO()
    log = Logger(Console(file=out, width=200), stderr=err, ci="github", live=False, quiet=True)
    with log.group("dlmatrix run: builds and suites"), log.live():
        log.step("engine: Docker")
        log.stage("host-glibc", "building", "with gcc")
        log.cells("host-glibc", 1, 2)
    log.info("from reports/results.json")
    log.comment("shard 1/2: ...")
    log.text("2 ok of 2 cells")
    log.warning("not comparing with x")
    log.error("no engine")
    log.status("dlmatrix: interrupted by SIGINT; stopped")
    assert out.getvalue() == "2 ok of 2 cells\n"
    assert err.getvalue().splitlines() == [
        "dlmatrix: warning: not comparing with x",
        "dlmatrix: error: no engine",
        "dlmatrix: interrupted by SIGINT; stopped",
    ]


def test_a_quiet_run_keeps_what_needs_a_look_and_its_result_line(tmp_path, monkeypatch, capsys, matrix):
    wrong = judged_cell(matrix, GLIBC, "app-dlopen-dlclose", "unpinned", ["pass"], [0.1])  # expected: crash
    monkeypatch.setattr(run_command, "make_backend", lambda *_: Canned([passed(matrix, GLIBC), wrong]))
    assert cli.main(["run", "--out", str(tmp_path / "loud")]) == 1
    loud = capsys.readouterr().out.replace("loud", "quiet")
    assert cli.main(["-q", "run", "--out", str(tmp_path / "quiet")]) == 1
    quiet = capsys.readouterr().out
    # the answer, the families and the reasons are information
    assert "Why, once per mechanism:" in loud and "Why" not in quiet and "model: " not in quiet
    assert "1 cells need a look" in quiet and "app-dlopen-dlclose" in quiet
    assert "1 ok, 1 unexpected, 0 flaky, 0 not-reproduced, 0 skipped, 0 not-run of 2 cells" in quiet
    assert f"report: {tmp_path / 'quiet' / 'index.html'}" in quiet
    kept = quiet.splitlines()
    assert len(loud.splitlines()) > len(kept) and loud.splitlines()[-len(kept) :] == kept


# --json


def test_list_json_is_one_document_with_the_cells(capsys):
    assert cli.main(["list", "--json", "--runtime", "pinned", "--scenario", "app-linked"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert list(document) == ["cells"]
    first = document["cells"][0]
    assert list(first) == [
        "image", "libc", "libc_version", "arch", "scenario", "runtime", "expected", "reason",
    ]  # fmt: skip
    assert {(c["scenario"], c["runtime"]) for c in document["cells"]} == {("app-linked", "pinned")}
    assert len(document["cells"]) == len(load_matrix().hosts) + len(load_matrix().images)


@pytest.fixture
def results(tmp_path: Path, matrix: Matrix) -> Path:
    cells = [passed(matrix, GLIBC), *skipped(matrix, MUSL, "libuv")[:1]]
    write_results(ResultSet(RUN, cells), tmp_path / "results.json")
    return tmp_path


def test_show_json_has_the_counts_and_each_cell_with_why_it_was_skipped(capsys, results):
    assert cli.main(["show", str(results), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["results"] == str(results / "results.json")
    assert document["counts"] == {
        "ok": 1,
        "unexpected": 0,
        "flaky": 0,
        "not-reproduced": 0,
        "skipped": 1,
        "not-run": 0,
        "total": 2,
    }
    ran, skip = document["cells"]
    assert (ran["image"], ran["scenario"], ran["runtime"], ran["result"]) == (
        "host-glibc", "app-linked", "pinned", "pass",
    )  # fmt: skip
    assert ran["skipped_because"] is None and ran["attempts"] == ran["agreeing"] == 1
    assert (skip["verdict"], skip["skipped_because"]) == ("skipped", NOT_APPLICABLE)


def test_show_prints_a_skipped_cells_reason(capsys, results):
    assert cli.main(["show", str(results)]) == 0
    out = capsys.readouterr().out
    assert "why skipped" in out and "not applicable: the host backend" in out


def test_explain_json_holds_the_cells_as_results_json_does(capsys, results):
    assert cli.main(["explain", "host-glibc/app-linked/pinned", "--results", str(results), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["results"] == str(results / "results.json")
    [cell] = document["cells"]
    stored = json.loads((results / "results.json").read_text())["cells"][0]
    assert cell == stored


def test_with_json_the_run_progress_goes_to_stderr_and_stdout_is_the_summary(
    tmp_path, monkeypatch, capsys, matrix
):
    cells = [
        judged_cell(matrix, GLIBC, "app-dlopen-dlclose", "unpinned", ["pass"], [0.1]),
        passed(matrix, GLIBC),
    ]
    monkeypatch.setattr(run_command, "make_backend", lambda *_: Canned(cells))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")  # its fold markers must not reach stdout either
    out = tmp_path / "out"
    assert cli.main(["run", "--out", str(out), "--json"]) == 1
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert "::group::dlmatrix run: builds and suites" in captured.err
    assert list(document) == ["counts", "standing", "needs_a_look", "not_tested", "nothing_tested", "report"]
    assert document["counts"] == {
        "ok": 1,
        "unexpected": 1,
        "flaky": 0,
        "not-reproduced": 0,
        "skipped": 0,
        "not-run": 0,
        "total": 2,
    }
    assert [(c["scenario"], c["runtime"], c["verdict"]) for c in document["needs_a_look"]] == [
        ("app-dlopen-dlclose", "unpinned", "unexpected")
    ]
    assert document["not_tested"] == [] and document["nothing_tested"] is False
    assert document["report"]["directory"] == str(out)
    assert str(out / "results.json") in document["report"]["files"]


# a run that tested nothing


def test_a_runtime_skipped_everywhere_is_named_once_with_its_reason(matrix):
    cells = [*skipped(matrix, GLIBC, "libuv"), *skipped(matrix, MUSL, "libuv"), passed(matrix, GLIBC)]
    [found] = untested(cells)
    assert (found.axis, found.name, found.reasons) == ("runtime", "libuv", (NOT_APPLICABLE,))
    assert found.cells == len(cells) - 1
    assert untested_lines([found]) == [
        # glibc's cells were expected to pass (not run on a host), musl's are declared not applicable
        f"not tested: runtime libuv: all {found.cells} cells skipped or not run ({NOT_APPLICABLE})"
    ]
    assert not nothing_tested(cells)


def test_an_image_skipped_for_every_runtime_is_named_not_its_runtimes(matrix):
    missing = "musl-gcc is not installed; fix: apt-get install -y musl-tools"
    cells = [*skipped(matrix, MUSL, "pinned", missing), *skipped(matrix, MUSL, "unpinned", missing)]
    assert [(u.axis, u.name) for u in untested(cells)] == [("image", "host-musl")]
    assert nothing_tested(cells)
    assert nothing_tested_cause(untested(cells), len(cells)) == (
        f"nothing was tested: all {len(cells)} cells of image host-musl are not run ({missing})"
    )


def test_reasons_are_deduplicated_and_shortened(matrix):
    long = "x" * 400
    cells = [*skipped(matrix, GLIBC, "libuv", long), *skipped(matrix, MUSL, "libuv", "musl: n/a\nmore")]
    [found] = untested(cells)
    assert len(found.reasons) == 2 and found.reasons[1] == "musl: n/a"
    assert len(found.reasons[0]) == 160 and found.reasons[0].endswith("…")


def test_a_run_that_tested_nothing_exits_2_and_still_writes_its_report(tmp_path, monkeypatch, capsys, matrix):
    cells = [*skipped(matrix, GLIBC, "libuv"), *skipped(matrix, MUSL, "libuv")]
    monkeypatch.setattr(run_command, "make_backend", lambda *_: Canned(cells))
    out = tmp_path / "out"
    assert cli.main(["run", "--backend", "host", "--runtime", "libuv", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert f"not tested: runtime libuv: all {len(cells)} cells skipped or not run" in captured.out
    error, fix = captured.err.splitlines()
    assert error == (
        f"dlmatrix: error: nothing was tested: all {len(cells)} cells of runtime libuv are skipped or "
        f"not run ({NOT_APPLICABLE}); the report is in {out}"
    )
    assert fix.startswith("  fix: runtime plug-ins install their packages in the images") and "docker" in fix
    assert (out / "results.json").is_file() and (out / "index.html").is_file()


def test_a_host_run_that_tested_nothing_for_another_reason_is_not_sent_to_the_images(
    tmp_path, monkeypatch, capsys, matrix
):
    missing = "musl-gcc is not installed; fix: apt-get install musl-tools"
    cells = skipped(matrix, MUSL, "libuv", missing)
    monkeypatch.setattr(run_command, "make_backend", lambda *_: Canned(cells))
    out = tmp_path / "out"
    assert cli.main(["run", "--backend", "host", "--runtime", "libuv", "--out", str(out)]) == 2
    error, fix = capsys.readouterr().err.splitlines()
    assert missing in error
    assert fix.startswith("  fix: act on the reason") and "--backend docker" not in fix


# explain's results, and what a run compares with


def test_explain_reads_reports_of_the_current_directory_and_names_it(tmp_path, monkeypatch, capsys, results):
    (tmp_path / "reports").mkdir()
    (results / "results.json").rename(tmp_path / "reports" / "results.json")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["explain", "host-glibc/app-linked/pinned"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("from reports/results.json\n") and "pinned" in out


def test_explain_without_results_here_says_so_and_how(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["explain", "host-glibc/app-linked/pinned"]) == 2
    error, fix = capsys.readouterr().err.splitlines()
    assert error == f"dlmatrix: error: no reports/results.json in {tmp_path}"
    assert fix.startswith("  fix: name the results with --results PATH")


def test_a_fresh_out_never_compares_with_the_published_results(tmp_path, monkeypatch):
    assert (REPO / "reports" / "results.json").is_file()  # there are published results to avoid
    monkeypatch.chdir(REPO)
    log = Logger(Console(file=io.StringIO()), stderr=io.StringIO())
    assert previous_results(tmp_path / "fresh", None, log) == (None, None)
    (tmp_path / "fresh").mkdir()
    write_results(ResultSet(RUN, []), tmp_path / "fresh" / "results.json")
    assert previous_results(tmp_path / "fresh", None, log)[0] == tmp_path / "fresh" / "results.json"


def test_a_run_into_a_fresh_out_keeps_no_previous_results(tmp_path, monkeypatch, matrix):
    monkeypatch.setattr(run_command, "make_backend", lambda *_: Canned([passed(matrix, GLIBC)]))
    monkeypatch.chdir(REPO)
    assert cli.main(["-q", "run", "--out", str(tmp_path / "out")]) == 0
    assert not (tmp_path / "out" / "previous-results.json").exists()
    assert cli.main(["-q", "run", "--out", str(tmp_path / "out")]) == 0  # the second compares with the first
    assert (tmp_path / "out" / "previous-results.json").is_file()
