"""Bad input and faults cost one cell or one clear error, never a result (issue 9): the pure parts."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rich.console import Console

from dlmatrix.backends.oci.failures import EngineFailure, failure_from
from dlmatrix.children import Cancelled, Children
from dlmatrix.cli import main as cli
from dlmatrix.cli import report_set
from dlmatrix.cli import run as run_command
from dlmatrix.config.load import load_matrix
from dlmatrix.errors import ConfigError, DlmatrixError
from dlmatrix.interrupts import Interrupted, install, settle
from dlmatrix.log import Logger
from dlmatrix.model.cells import Cell, Environment, ResultSet, judged_cell
from dlmatrix.model.libc import Libc
from dlmatrix.report.answer import build_answer
from dlmatrix.report.junit import junit_xml
from dlmatrix.results.changes import compare
from dlmatrix.results.io import read_results, write_results
from dlmatrix.results.outdir import OutputDir
from tests.conftest import edit_yaml

RUN = {
    "tool": "dlmatrix",
    "tool_version": "0",
    "git_commit": None,
    "host": "h",
    "started": "2026-01-01T00:00:00+00:00",
    "finished": "2026-01-01T00:00:01+00:00",
    "backend": "docker",
    "repeat": 1,
}
GLIBC = Environment("debian-bookworm-glibc", Libc("glibc", "2.36"), "gcc 12")
ESCAPES = "ld.so: \x1b[31mbad LD_PRELOAD\x1b[0m\x00\x07 \ud800 \ufffe end"


def cell(scenario="app-linked", runtime="pinned", stderr="", image=GLIBC):
    matrix = load_matrix()
    return judged_cell(matrix, image, scenario, runtime, ["exit:3"], [0.1], stderr=stderr, stdout=stderr)


def test_control_bytes_in_output_are_escaped_in_junit_not_fatal(tmp_path, capsys):
    results = ResultSet(dict(RUN), [cell(stderr=ESCAPES)])
    root = ET.fromstring(junit_xml(build_answer(results)))
    text = root.find(".//system-err")
    assert text is not None and text.text is not None
    assert "\\x1b[31mbad LD_PRELOAD\\x1b[0m\\x00\\x07 \\ud800 \\ufffe end" in text.text
    # the same through `dlmatrix report`, from a results.json that carries them
    write_results(results, tmp_path / "results.json")
    assert cli.main(["report", str(tmp_path), "--previous", str(tmp_path / "results.json")]) == 0
    ET.parse(tmp_path / "junit.xml")
    assert {p.name for p in tmp_path.iterdir()} == {
        "results.json",
        "index.html",
        "junit.xml",
        "summary.md",
        "badge.svg",
    }


def test_results_that_are_not_utf8_are_a_clear_error(tmp_path):
    path = tmp_path / "results.json"
    path.write_bytes(b'{"run": "\xff\xfe"}')
    with pytest.raises(DlmatrixError, match=r"not a results file .not UTF-8 JSON") as caught:
        read_results(path)
    assert "remove it" in caught.value.fix


def test_a_corrupt_previous_result_is_named_and_the_run_goes_on(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text('{"truncated')
    with open(tmp_path / "log", "w") as file:
        log = Logger(Console(file=file, width=300), stderr=file)
        assert report_set.previous_results(out, None, log) == (None, None)
    warning = f"dlmatrix: warning: not comparing with {out / 'results.json'}"
    assert warning in (tmp_path / "log").read_text()


def test_output_directory_is_locked_for_one_run(tmp_path):
    with (
        OutputDir(tmp_path / "out"),
        pytest.raises(DlmatrixError, match=r"another dlmatrix run .pid [0-9]+. is writing to"),
    ):
        OutputDir(tmp_path / "out").open()
    with OutputDir(tmp_path / "out"):  # released at the end of the first run
        pass
    assert not (tmp_path / "out" / ".dlmatrix.lock").exists()


@pytest.mark.parametrize("kind", ["file", "under-a-file"])
def test_an_output_directory_that_cannot_be_written_is_refused_before_any_work(tmp_path, kind):
    (tmp_path / "file").write_text("x")
    path = tmp_path / "file" if kind == "file" else tmp_path / "file" / "out"
    with pytest.raises(DlmatrixError, match=r"file, not a directory|cannot write to --out"):
        OutputDir(path).open()


def test_artifacts_are_written_all_or_none(tmp_path):
    out = tmp_path / "out"
    with OutputDir(out) as directory:
        directory.write({"results.json": "old", "index.html": "old"})
        (out / "blocked").write_text("a file where a directory is needed")
        with pytest.raises(DlmatrixError, match=r"nothing there was changed"):
            directory.write({"results.json": "new", "index.html": "new", "blocked/junit.xml": b"new"})
    assert (out / "results.json").read_text() == "old" and (out / "index.html").read_text() == "old"
    assert sorted(p.name for p in out.iterdir()) == ["blocked", "index.html", "results.json"]


def test_a_run_of_a_few_cells_does_not_remove_the_others():
    previous = ResultSet(dict(RUN), [cell("app-linked"), cell("app-dlopen-dlclose"), cell("reopen")])
    current = ResultSet({**RUN, "selection": {"image": "*", "scenario": "app-*", "runtime": "*"}}, [cell()])
    changes = compare(previous, current)
    assert [c.key[1] for c in changes.removed] == ["app-dlopen-dlclose"]  # selected, and gone
    on_the_host = ResultSet({**current.run, "backend": "host", "selection": {}}, current.cells)
    assert compare(previous, on_the_host).removed == []  # another backend covers other environments


def test_duplicate_yaml_keys_are_refused(project):
    path = project / "matrix" / "runtimes.yaml"
    path.write_text(
        path.read_text().replace("  - name: pinned\n", "  - name: pinned\n    name: pinned2\n", 1)
    )
    with pytest.raises(ConfigError, match=r"runtimes.yaml: .syntax.: .*the key 'name' is given twice"):
        load_matrix(project)


@pytest.mark.parametrize("step", ["cycles:0:zz", "open:zz", "fire:c", "sleep:12345678", "check:" + "x" * 70])
def test_steps_the_drivers_cannot_take_are_refused(project, step):
    edit_yaml(project, "scenarios.yaml", lambda d: d["scenarios"][0]["steps"].append(step))
    with pytest.raises(ConfigError, match=r"scenarios\[0\].steps\[\d+\]") as caught:
        load_matrix(project)
    assert "P: a, b or origin" in str(caught.value) or "too long" in str(caught.value)


def test_names_longer_than_dlm_suite_holds_are_refused(project):
    edit_yaml(project, "scenarios.yaml", lambda d: d["scenarios"][0].update(name="s" * 49))
    with pytest.raises(ConfigError, match=r"scenarios\[0\].name: .* is too long"):
        load_matrix(project)


@pytest.mark.parametrize("value", ["0", "-3", "two"])
def test_jobs_out_of_range_is_a_usage_error(value, capsys):
    with pytest.raises(SystemExit) as caught:
        cli.build_parser().parse_args(["run", "--out", "x", "--jobs", value])
    assert caught.value.code == 2
    assert "--jobs" in capsys.readouterr().err


def test_a_bug_exits_70_with_its_traceback(monkeypatch, capsys):
    def broken(*_: object) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setitem(cli.COMMANDS, "list", dataclasses.replace(cli.COMMANDS["list"], run=broken))
    assert cli.main(["list"]) == cli.EXIT_BUG == 70
    err = capsys.readouterr().err
    assert "RuntimeError: a bug" in err and "this is a bug in dlmatrix" in err


def test_a_bug_in_the_report_keeps_the_results_of_the_run(tmp_path, monkeypatch, capsys):
    matrix = load_matrix()
    env = Environment("img", Libc("glibc", "2.36"), "gcc")
    cells = [judged_cell(matrix, env, "app-dlopen-dlclose", "pinned", ["pass"], [0.1])]

    def broken_report(*_: object) -> dict[str, str | bytes]:
        raise RuntimeError("a bug in the report")

    class Canned:  # a backend (dlmatrix.backends.registry.Backend) whose run gives these cells
        docker_version = None

        def run(self) -> list[Cell]:
            return cells

        def finished(self) -> list[Cell]:
            return []

        def engine_records(self) -> list[dict[str, str]]:
            return []

        def image_tags(self) -> dict[str, str]:
            return {}

        def stage_seconds(self) -> dict[str, dict[str, float]]:

            return {}

    monkeypatch.setattr(run_command, "make_backend", lambda *_: Canned())
    monkeypatch.setattr(report_set, "report_files", broken_report)
    out = tmp_path / "out"
    assert cli.main(["run", "--out", str(out)]) == cli.EXIT_BUG
    assert [c.runtime for c in read_results(out / "results.json").cells] == ["pinned"]
    assert not (out / "index.html").exists()
    err = capsys.readouterr().err
    assert "a bug in the report" in err and f"dlmatrix report {out}" in err


@pytest.mark.parametrize(
    ("stderr", "cause", "fix"),
    [
        ("write /var/lib/docker/tmp/x: no space left on device", "ran out of disk space", "dlmatrix prune"),
        (
            "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock",
            "may not use the Docker engine",
            "docker group",
        ),
        (
            "Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon running?",
            "no Docker",
            "start",
        ),
    ],
)
def test_engine_failures_are_told_apart_from_command_failures(stderr, cause, fix):
    failure = failure_from(stderr, "building x")
    assert isinstance(failure, EngineFailure) and cause in failure.cause and fix in failure.fix
    assert failure_from("COPY failed: file not found in build context", "building x") is None


def test_partial_results_say_they_are_partial(tmp_path):
    partial = ResultSet(dict(RUN), [cell()])
    stop = EngineFailure("the Docker engine stopped answering during the run: gone", "restart it")
    with OutputDir(tmp_path) as out:
        report_set.keep_partial(out, partial, stop)
    data = json.loads((tmp_path / "results.partial.json").read_text())
    assert data["run"]["partial"].startswith("the Docker engine stopped answering")
    assert "the 1 cells that finished are in" in stop.fix and not (tmp_path / "results.json").exists()


def test_a_signal_while_writing_leaves_the_old_files_and_no_temporary_one(tmp_path, monkeypatch):
    out = tmp_path / "out"
    with OutputDir(out) as directory:
        directory.write({"results.json": "old", "index.html": "old"})
        calls = []

        def interrupted_fsync(descriptor: int) -> None:
            calls.append(descriptor)
            if len(calls) == 2:
                raise Interrupted(signal.SIGTERM)

        monkeypatch.setattr(os, "fsync", interrupted_fsync)
        with pytest.raises(Interrupted):
            directory.write({"results.json": "new", "index.html": "new"})
    assert (out / "results.json").read_text() == "old" and (out / "index.html").read_text() == "old"
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "results.json"]


def test_a_stop_ends_each_child_with_what_it_started(tmp_path):
    children = Children()
    marker = tmp_path / "grandchild-ran"

    def run() -> None:
        with contextlib.suppress(Cancelled):
            children.run(["sh", "-c", f"sleep 30 & sleep 30; touch {marker}"], timeout=60)

    started = threading.Thread(target=run, daemon=True)
    started.start()
    deadline = time.monotonic() + 10
    while not children._running and time.monotonic() < deadline:
        time.sleep(0.05)
    (leader,) = children._running
    children.kill_all(grace=1)
    started.join(timeout=10)
    assert not started.is_alive() and not marker.exists()
    assert group_gone(leader.pid)  # the backgrounded sleep too
    with pytest.raises(Cancelled):
        children.run(["true"], timeout=5)


def group_gone(group: int) -> bool:
    """Whether a process group has no member left (once its zombies are reaped)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_a_signal_during_the_renames_waits_for_the_last_one_then_stops_the_run(tmp_path, monkeypatch):
    out = tmp_path / "out"
    renamed: list[str] = []
    real_replace = os.replace

    def replace_then_signal(source: Path, target: Path) -> None:
        real_replace(source, target)
        renamed.append(Path(target).name)
        if len(renamed) == 1:
            os.kill(os.getpid(), signal.SIGTERM)  # arrives between the first and second rename

    install()
    monkeypatch.setattr(os, "replace", replace_then_signal)
    try:
        with OutputDir(out) as directory, pytest.raises(Interrupted) as stopped:
            directory.write({"results.json": "new", "index.html": "new"})
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    assert stopped.value.exit_code == 143 and renamed == ["results.json", "index.html"]


def test_the_first_signal_is_final_and_the_exit_ignores_later_ones():
    """CI caught SIGTERM landing 50 ms after SIGINT, as Python exited with its default handlers
    back: the process died of it (-15) after reporting the stop as exit 130."""
    install()
    try:
        with pytest.raises(Interrupted) as first:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the handler raises in this thread
        os.kill(os.getpid(), signal.SIGTERM)  # during the clean-up: remembered, not raised
        time.sleep(0.1)
        settle()
        assert first.value.exit_code == 130
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
