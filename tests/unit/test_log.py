"""The one console (dlmatrix.log): CI fold groups, NO_COLOR, and the words of warnings and errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.table import Table

from dlmatrix.cli import main as cli
from dlmatrix.cli import run as run_command
from dlmatrix.config.load import load_matrix
from dlmatrix.log import Logger, ci_of, fold_end, fold_start, section_name
from dlmatrix.model.cells import Cell, Environment, judged_cell
from dlmatrix.model.libc import Libc
from dlmatrix.model.selector import Selector
from dlmatrix.suite.output import suite_cells

ESC = "\x1b"


def logger(environ: dict[str, str], terminal: bool = False) -> tuple[Logger, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return Logger.from_environment(environ, out, err, force_terminal=terminal), out, err


def test_fold_markers_are_those_github_and_gitlab_read():
    assert fold_start("github", "n", "dlmatrix bases: default", 0) == "::group::dlmatrix bases: default"
    assert fold_end("github", "n", 0) == "::endgroup::"
    name = section_name("dlmatrix run: builds and suites", 3)
    assert name == "dlmatrix-3-dlmatrix-run-builds-and-suites"
    assert fold_start("gitlab", name, "dlmatrix run: builds and suites", 1700000000) == (
        f"\x1b[0Ksection_start:1700000000:{name}[collapsed=true]\r\x1b[0Kdlmatrix run: builds and suites"
    )
    assert fold_end("gitlab", name, 1700000009) == f"\x1b[0Ksection_end:1700000009:{name}\r\x1b[0K"


@pytest.mark.parametrize(
    ("environ", "ci"),
    [
        ({}, None),
        ({"GITHUB_ACTIONS": "true"}, "github"),
        ({"GITLAB_CI": "true"}, "gitlab"),
        ({"GITLAB_CI": "true", "NO_COLOR": "1"}, None),  # its markers are escapes
        ({"GITHUB_ACTIONS": "true", "NO_COLOR": "1"}, "github"),  # plain text: still folds
        ({"GITHUB_ACTIONS": "false", "GITLAB_CI": ""}, None),
    ],
)
def test_the_ci_that_folds_is_read_from_the_environment(environ, ci):
    assert ci_of(environ) == ci


def test_a_group_folds_what_is_printed_inside_and_does_not_nest():
    log, out, _ = logger({"GITHUB_ACTIONS": "true"})
    with log.group("outer"):
        log.text("inside")
        with log.group("inner"):  # GitHub's groups do not nest: this one is no group
            log.text("deeper")
    log.text("after")
    assert out.getvalue().splitlines() == ["::group::outer", "inside", "deeper", "::endgroup::", "after"]


def test_a_group_ends_when_what_it_folds_fails():
    log, out, _ = logger({"GITLAB_CI": "true"})
    with pytest.raises(RuntimeError), log.group("run"):
        raise RuntimeError("stopped")
    start, end = out.getvalue().rstrip("\n").split("\n")  # not splitlines(): the markers hold \r
    assert "section_start:" in start and ":dlmatrix-1-run[collapsed=true]\r" in start
    assert "section_end:" in end and end.endswith(":dlmatrix-1-run\r\x1b[0K")


def test_outside_ci_a_group_prints_nothing():
    log, out, _ = logger({})
    with log.group("bases"):
        log.text("inside")
    assert out.getvalue() == "inside\n"


def everything(log: Logger) -> None:
    """One of each thing a command prints on stdout, with styles."""
    table = Table("verdict", title="cells")
    table.add_row("[bold red]unexpected[/]")
    log.print(table)
    log.print("[bold]pinned[/]: a headline")
    log.step("engine: Docker")
    with log.live():
        log.stage("debian-bookworm-musl", "running")
        log.cells("debian-bookworm-musl", 2, 4)
        log.stage("debian-bookworm-musl", "done")


def test_no_color_means_no_escape_at_all_even_on_a_terminal():
    styled, out, _ = logger({}, terminal=True)
    everything(styled)
    assert ESC in out.getvalue()  # what NO_COLOR takes away is there without it
    plain, out, _ = logger({"NO_COLOR": "1"}, terminal=True)
    everything(plain)
    text = out.getvalue()
    assert ESC not in text and "unexpected" in text and "pinned: a headline" in text
    assert "debian-bookworm-musl: 2/4 cells" in text  # no live display (it moves the cursor): lines


def test_an_empty_no_color_is_no_no_color():
    log, out, _ = logger({"NO_COLOR": ""}, terminal=True)
    log.print("[bold]x[/]")
    assert ESC in out.getvalue()


def test_no_color_reaches_every_command(monkeypatch, capsys):
    monkeypatch.setenv("FORCE_COLOR", "1")  # as if on a terminal: rich would style the table
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert cli.main(["list", "--runtime", "pinned", "--scenario", "app-linked"]) == 0
    assert ESC in capsys.readouterr().out
    monkeypatch.setenv("NO_COLOR", "1")
    assert cli.main(["list", "--runtime", "pinned", "--scenario", "app-linked"]) == 0
    assert ESC not in capsys.readouterr().out


def test_warnings_and_errors_keep_their_words_on_stderr():
    log, out, err = logger({"GITHUB_ACTIONS": "true"})
    log.warning("not comparing with x: truncated")
    log.error("the Docker engine stopped answering")
    assert out.getvalue() == ""
    assert err.getvalue().splitlines() == [
        "dlmatrix: warning: not comparing with x: truncated",
        "dlmatrix: error: the Docker engine stopped answering",
    ]


def test_a_disagreement_of_the_suite_is_a_warning_of_the_logger():
    matrix = load_matrix()
    env = Environment("img", Libc("musl", "1.2.3"), "gcc 12")
    lines = [
        '{"type":"env","libc":{"family":"musl","version":"1.2.3"},"compiler":"gcc 12"}',
        json.dumps({"type": "cell", "scenario": "reopen", "runtime": "unpinned", "expected": "crash",
                    "evidence": {}, "stdout": "", "stderr": "",
                    "attempts": [{"result": "pass", "duration_s": 0.01}]}),
    ]  # fmt: skip
    log, _, err = logger({})
    cells, missing = suite_cells(matrix, env, lines, "", Selector.of("reopen", "unpinned"), log.warning)
    assert len(cells) == 1 and missing == 0
    assert err.getvalue() == (
        "dlmatrix: warning: img reopen/unpinned: dlm-suite expected crash, dlmatrix expected pass; "
        "using dlmatrix's\n"
    )


class Canned:
    """A backend (dlmatrix.backends.registry.Backend) whose run gives one cell."""

    docker_version = None

    def __init__(self, cells: list[Cell]) -> None:
        self.cells = cells

    def run(self) -> list[Cell]:
        return self.cells

    def finished(self) -> list[Cell]:
        return []

    def engine_records(self) -> list[dict[str, str]]:
        return []

    def image_tags(self) -> dict[str, str]:
        return {}

    def stage_seconds(self) -> dict[str, dict[str, float]]:

        return {}


@pytest.mark.parametrize("backend", ["docker", "host"])
def test_the_run_folds_on_github_and_its_outcome_stays_outside(tmp_path: Path, monkeypatch, capsys, backend):
    env = Environment("debian-bookworm-glibc", Libc("glibc", "2.36"), "gcc")
    cells = [judged_cell(load_matrix(), env, "app-linked", "pinned", ["pass"], [0.1])]
    monkeypatch.setattr(run_command, "make_backend", lambda *_: Canned(cells))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert cli.main(["run", "--backend", backend, "--out", str(tmp_path / "out")]) == 0
    lines = capsys.readouterr().out.splitlines()
    # the host backend reports its stages too (each host building, running n of m cells, done)
    assert lines[:2] == ["::group::dlmatrix run: builds and suites", "::endgroup::"]
    assert any(line.startswith("report: ") for line in lines[2:])
