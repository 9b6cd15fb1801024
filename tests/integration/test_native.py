"""Builds the real C programs on this host's glibc and musl and runs the scenarios."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import cast

import pytest

from dlmatrix.backends.host import run_host
from dlmatrix.cli.main import main
from dlmatrix.config.load import load_matrix
from dlmatrix.config.steps import STEPS
from dlmatrix.model.cells import Cell
from dlmatrix.model.expectations import expect
from dlmatrix.model.selector import Selector
from dlmatrix.results.io import read_results
from dlmatrix.suite.bundle import catalog_input, write_bundle
from dlmatrix.suite.command import MAX_SUITE_JOBS
from tests.conftest import edit_yaml, need

MUSL_GCC = ("native", shutil.which("musl-gcc"), "musl-gcc is not installed", "apt-get install musl-tools")
pytestmark = [
    pytest.mark.native,
    pytest.mark.needs("native", shutil.which("gcc"), "gcc is not installed", "apt-get install gcc libc6-dev"),
]
MODEL = {"unpinned", "pinned", "znodelete", "adaptive"}
needs_musl = pytest.mark.needs(*MUSL_GCC)


@pytest.fixture(scope="module")
def full_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("full") / "build"


@pytest.fixture(scope="module")
def full_run(full_build) -> list[Cell]:
    """The whole host matrix, two attempts per cell, built from source once for this module."""
    out = full_build.parent
    code = main(["run", "--out", str(out), "--repeat", "2", "--keep-build", str(full_build)])
    cells = read_results(out / "results.json").cells
    assert code == 0, [
        (c.image, c.scenario, c.runtime, c.result, c.expected) for c in cells if c.verdict != "ok"
    ]
    return cells


def cell(cells: list[Cell], image: str, scenario: str, runtime: str) -> Cell:
    [found] = [c for c in cells if (c.image, c.scenario, c.runtime) == (image, scenario, runtime)]
    return found


def test_every_cell_is_as_declared(full_run):
    matrix = load_matrix()
    assert len(full_run) == len(matrix.hosts) * len(matrix.pairs())
    assert {c.verdict for c in full_run if c.runtime in MODEL} == {"ok"}
    # the real runtime needs liblttng-ust-dev, which the images have; here it is ok, or not run (its
    # rule expects an outcome) or skipped (its rule says not applicable), the host saying why
    for cell in (c for c in full_run if c.runtime not in MODEL):
        assert cell.verdict == "ok" or (
            cell.verdict in ("skipped", "not-run") and "not applicable" in cell.stderr
        ), cell.key
    source_built = [c for c in full_run if c.runtime == "lttng-ust-2.13.9" and c.libc.family == "glibc"]
    assert {c.verdict for c in source_built} == {"not-run"}  # built in the images only


def test_glibc_unmaps_the_unpinned_runtime_and_crashes(full_run):
    seed = cell(full_run, "host-glibc", "app-dlopen-dlclose", "unpinned")
    assert [a.result for a in seed.attempts] == ["crash:SIGSEGV"] * 2
    assert seed.evidence["mapped@after-close"] is False
    assert seed.evidence["listeners_live@after-close"] == 2  # detached threads outlived their code


@pytest.mark.parametrize("runtime", ["pinned", "znodelete"])
def test_pinning_keeps_the_runtime_mapped_on_glibc(full_run, runtime):
    seed = cell(full_run, "host-glibc", "app-dlopen-dlclose", runtime)
    assert seed.result == "pass"
    assert seed.evidence["mapped@after-close"] is True
    assert seed.evidence["mapped_noload@after-close"] is True
    assert seed.evidence["heartbeats"] == 2 and seed.evidence["pin_errors"] == 0


def test_the_driver_starts_once_with_the_pipes_dlm_suite_opened(full_run):
    # dlm-suite opens the driver's wake and event pipes (src/c/pipes.h) before it starts the driver,
    # so a linked runtime's constructor finds them without the driver running itself again (under
    # qemu-user each start costs a translation): the loader's account is of one start-up
    linked = cell(full_run, "host-glibc", "app-linked", "pinned")
    assert linked.result == "pass" and linked.evidence["heartbeats"] == 2  # its threads used them
    assert linked.loader is not None
    inits = linked.loader["inits"]
    assert inits.count("libc.so.6") == 1 and inits.count("libdlmrt.so.1") == 1, inits


def test_adaptive_joins_before_glibc_unmaps(full_run):
    seed = cell(full_run, "host-glibc", "app-dlopen-dlclose", "adaptive")
    assert seed.result == "pass"
    assert seed.evidence["mapped@after-close"] is False
    assert seed.evidence["listeners_live@after-close"] == 0


@needs_musl
@pytest.mark.parametrize("runtime", ["unpinned", "pinned", "znodelete", "adaptive"])
def test_musl_never_unmaps(full_run, runtime):
    seed = cell(full_run, "host-musl", "app-dlopen-dlclose", runtime)
    assert seed.result == "pass"
    assert seed.evidence["mapped@after-close"] is True
    assert seed.evidence["dtor_runs@after-close"] == 0  # dlclose did not even run the destructor


def test_libc_versions_are_read_inside_the_environment(full_run):
    glibc = {c.libc.version for c in full_run if c.image == "host-glibc"}
    assert glibc == {str(os.confstr("CS_GNU_LIBC_VERSION")).split()[1]}
    musl = {c.libc.version for c in full_run if c.image == "host-musl"}
    need(*MUSL_GCC)
    package = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", "musl"], capture_output=True, text=True, check=True
    ).stdout
    assert musl == set(re.findall(r"^[0-9]+\.[0-9]+\.[0-9]+", package))


def test_cycles_stay_bounded_when_pinned(full_run):
    cycles = cell(full_run, "host-glibc", "cycles", "pinned")
    assert cycles.evidence["cycles_done"] == 200
    assert cycles.evidence["threads_after"] - cycles.evidence["threads_before"] == 2


def test_exit_fast_is_why_threads_are_detached(full_run):
    assert cell(full_run, "host-glibc", "exit-fast", "pinned").result == "pass"
    assert cell(full_run, "host-glibc", "exit-fast", "adaptive").result == "timeout"


def test_wrong_expectation_surfaces_as_unexpected(project, tmp_path, monkeypatch):
    def make_wrong(data):
        data["expectations"].insert(
            0,
            {
                "scenario": "app-dlopen-dlclose",
                "runtime": "unpinned",
                "libc": "glibc",
                "outcome": "pass",
                "reason": "deliberately wrong",
            },
        )

    edit_yaml(project, "expectations.yaml", make_wrong)
    monkeypatch.setenv("DLMATRIX_ROOT", str(project))
    code = main(["run", "--out", str(tmp_path), "--image", "host-glibc", "--scenario", "app-*"])
    cells = read_results(tmp_path / "results.json").cells
    assert code == 1
    judged = ("ok", "skipped", "not-run")  # those that did not run here say so, and are no failure
    assert [(c.scenario, c.runtime, c.verdict) for c in cells if c.verdict not in judged] == [
        ("app-dlopen-dlclose", "unpinned", "unexpected")
    ]


def test_a_hung_scenario_times_out_and_the_rest_still_run(project, tmp_path, monkeypatch):
    def add_hang(data):
        data["scenarios"].insert(
            0,
            {
                "name": "hangs",
                "description": "sleeps past its timeout",
                "timeout_s": 0.5,
                "steps": ["open:a", "sleep:60000"],
            },
        )

    edit_yaml(project, "scenarios.yaml", add_hang)
    edit_yaml(
        project,
        "expectations.yaml",
        lambda d: d["expectations"].insert(
            0,
            {
                "scenario": "hangs",
                "runtime": "*",
                "libc": "*",
                "outcome": "pass",
                "reason": "it should not hang",
            },
        ),
    )
    monkeypatch.setenv("DLMATRIX_ROOT", str(project))
    code = main(["run", "--out", str(tmp_path), "--image", "host-glibc", "--runtime", "pinned"])
    cells = read_results(tmp_path / "results.json").cells
    assert code == 1
    hung = cell(cells, "host-glibc", "hangs", "pinned")
    assert hung.result == "timeout" and hung.verdict == "unexpected" and hung.duration_s < 5
    assert len(cells) == len(Selector.of(runtime="pinned").pairs(load_matrix(project)))
    assert all(c.verdict == "ok" for c in cells if c.scenario != "hangs")


def test_a_variant_that_fails_to_build_becomes_build_error_cells(project, tmp_path):
    edit_yaml(
        project,
        "runtimes.yaml",
        lambda d: d["runtimes"].append(
            {
                "name": "broken",
                "kind": "model",
                "description": "does not link",
                "cflags": "",
                "ldflags": "-Wl,--no-such-option",
            }
        ),
    )
    matrix = load_matrix(project)
    cells = run_host(matrix, matrix.hosts[0], tmp_path, Selector.of(scenario="app-*"), 4)
    broken = [c for c in cells if c.runtime == "broken"]
    assert {c.result for c in broken} == {"build-error"}
    assert "no-such-option" in broken[0].stderr
    assert {c.result for c in cells if c.runtime == "pinned"} == {"pass"}


def test_missing_compiler_is_skipped_with_the_fix(project, tmp_path):
    edit_yaml(project, "hosts.yaml", lambda d: d["hosts"][1].update(cc="no-such-cc"))
    matrix = load_matrix(project)
    cells = run_host(matrix, matrix.hosts[1], tmp_path, Selector.of(scenario="reopen"), 4)
    # reopen's rules expect outcomes on musl (lttng-ust's and the plug-ins' say not applicable)
    assert {c.result for c in cells} == {"skipped"}
    assert {c.verdict for c in cells if c.runtime == "unpinned"} == {"not-run"}
    assert "no-such-cc is not installed; fix: apt-get install -y musl-tools" in cells[0].stderr


@pytest.mark.parametrize("host", ["host-glibc", pytest.param("host-musl", marks=needs_musl)])
def test_suite_runner_and_python_agree_on_expectations(full_build, host):
    """dlm-suite matches expectations without Python (suite/expectations.c); it must agree with Python's."""
    matrix = load_matrix()
    listing = subprocess.run(
        [str(full_build / host / "out" / "bin" / "dlm-suite"), "--list", "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    env = json.loads(listing[0])
    rows = [json.loads(line) for line in listing[1:]]
    assert len(rows) == len(matrix.pairs())
    for row in rows:
        python = expect(
            matrix.rules, row["scenario"], row["runtime"], env["libc"]["family"], env["libc"]["version"]
        )
        assert (row["expected"], row["reason"]) == (python.outcome, python.reason), row


def suite_json(suite: Path, *args: str, stdin: str | None = None) -> list[dict[str, object]]:
    run = subprocess.run(
        [str(suite), "--json", *args], input=stdin, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode in (0, 1), run.stderr
    return [json.loads(line) for line in run.stdout.splitlines()]


def test_cells_come_out_in_catalog_order_whatever_the_jobs(full_run, full_build):
    """Concurrent attempts finish in any order; the cells are printed in the catalog's."""
    suite = full_build / "host-glibc" / "out" / "bin" / "dlm-suite"
    catalog = [(s.name, r.name) for s, r in Selector.of(runtime="[pu]*").pairs(load_matrix())]
    for jobs in ("1", "8"):
        records = suite_json(suite, "--runtime", "[pu]*", "--repeat", "3", "--jobs", jobs)
        cells = [(r["scenario"], r["runtime"]) for r in records if r["type"] == "cell"]
        assert cells == catalog, jobs
        assert all(len(r["attempts"]) == 3 for r in records if r["type"] == "cell")  # type: ignore[arg-type]


def test_each_attempt_has_its_own_working_directory(full_run, full_build, tmp_path):
    """Attempts running at once never share a directory, and none is left behind."""
    suite = full_build / "host-glibc" / "out" / "bin" / "dlm-suite"
    run = subprocess.run(
        [
            str(suite),
            "--json",
            "--scenario",
            "app-linked",
            "--runtime",
            "pinned",
            "--repeat",
            "6",
            "--jobs",
            "6",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert '"verdict":"ok"' in run.stdout
    assert list(tmp_path.iterdir()) == []  # every attempt's directory was removed


def test_tokens_pace_the_attempts_and_each_ending_is_announced(full_run, full_build):
    """With --tokens the suite starts an attempt only for a byte after the catalog."""
    suite = full_build / "host-glibc" / "out" / "bin" / "dlm-suite"
    matrix = load_matrix()
    records = suite_json(
        suite,
        *["--scenario", "reopen", "--runtime", "pinned", "--repeat", "3", "--suite", "-", "--tokens"],
        stdin=catalog_input(matrix) + "+++",
    )
    kinds = [r["type"] for r in records]
    # the lanes line comes second: whether serial groups' attempts may overlap here, and why not
    assert kinds[:3] == ["env", "lanes", "plan"] and records[2]["attempts"] == 3
    assert kinds.count("attempt") == 3 and kinds.count("cell") == 1
    tokens = ["--suite", "-", "--tokens"]
    starved = subprocess.run(  # one token for three attempts, then the host hangs up
        [str(suite), "--json", "--repeat", "3", "--scenario", "reopen", "--runtime", "pinned", *tokens],
        input=catalog_input(matrix) + "+",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert starved.returncode == 2 and "standard input closed" in starved.stderr


def test_the_catalog_on_standard_input_replaces_the_built_one(full_run, full_build, project):
    """An expectation edited after the build is judged without rebuilding anything."""
    suite = full_build / "host-glibc" / "out" / "bin" / "dlm-suite"
    edit_yaml(
        project,
        "expectations.yaml",
        lambda d: d["expectations"].insert(
            0,
            {"scenario": "reopen", "runtime": "pinned", "libc": "*", "outcome": "pass", "reason": "edited"},
        ),
    )
    records = suite_json(
        suite,
        "--scenario",
        "reopen",
        "--runtime",
        "pinned",
        "--suite",
        "-",
        stdin=catalog_input(load_matrix(project)),
    )
    [cell] = [r for r in records if r["type"] == "cell"]
    assert cell["reason"] == "edited"


def serial_suite(
    full_build: Path, tmp_path: Path, catalog: str, serial: bool
) -> tuple[str, list[str], list[object], dict[str, object]]:
    """A copy of the host build whose pinned variant runs a scenario that marks its start and end
    in a log; with serial, its description declares DLM_SERIAL and a setup command. Returns the
    verdict, the events, each attempt's lane and the suite's lanes line."""
    out = tmp_path / "out"
    shutil.copytree(full_build / "host-glibc" / "out", out, symlinks=True)
    log = tmp_path / "events.log"
    for name, text in {
        "mark-start": f'echo "start $(date +%s%N)" >>{log}',
        "mark-end": f'echo "end $(date +%s%N)" >>{log}',
        "setup": f'echo "setup $(date +%s%N)" >>{log}',
    }.items():
        script = out / "rt" / "pinned" / "bin" / name
        script.write_text(f"#!/bin/sh\n{text}\n")
        script.chmod(0o755)
    if serial:
        with (out / "rt" / "pinned" / "env").open("a") as env:
            env.write(f"DLM_SERIAL=test-group\nDLM_SETUP_COMMAND={out}/rt/pinned/bin/setup\n")
    records = suite_json(
        out / "bin" / "dlm-suite",
        *["--scenario", "marked", "--runtime", "pinned", "--repeat", "4", "--jobs", "4", "--suite", "-"],
        stdin=catalog,
    )
    [cell] = [r for r in records if r["type"] == "cell"]
    [lanes] = [r for r in records if r["type"] == "lanes"]
    events = sorted(log.read_text().split("\n")[:-1], key=lambda line: int(line.split()[1]))
    attempts = [a.get("lane") for a in cast(list[dict[str, object]], cell["attempts"])]
    return str(cell["verdict"]), [line.split()[0] for line in events], attempts, lanes


def test_attempts_of_a_serial_group_take_turns_after_their_setup(full_run, full_build, tmp_path, project):
    """DLM_SERIAL where dlm-suite cannot give each attempt a uid of its own (here: DLM_RUN_AS is not
    set, as on the host backend, whoever runs it): never two attempts of one group at once
    (LTTng-UST's per-uid futex), each after the runtime's DLM_SETUP_COMMAND, each recorded as
    serial, and the suite says why once; without a group the same attempts overlap."""
    edit_yaml(
        project,
        "scenarios.yaml",
        lambda d: d["scenarios"].append(
            {"name": "marked", "description": "d", "steps": ["run:mark-start", "sleep:150", "run:mark-end"]}
        ),
    )
    catalog = catalog_input(load_matrix(project))
    verdict, events, lanes, said = serial_suite(full_build, tmp_path / "serial", catalog, serial=True)
    assert verdict == "ok"
    assert events == ["setup", "start", "end"] * 4
    assert lanes == ["serial"] * 4 and said["used"] is False
    assert said["why"] in (
        "not started as root: every attempt runs as the invoking user",
        "no user to switch to (DLM_RUN_AS is not set)",
    )
    verdict, events, lanes, said = serial_suite(full_build, tmp_path / "free", catalog, serial=False)
    assert events[:2] == ["start", "start"]  # four at once: the check above can fail
    assert lanes == [None] * 4  # no group: nothing to say per attempt


# an argument of each kind STEPS uses, as a scenario would give it
SAMPLE = {
    "P": "a",
    "lazy|now,local|global": "now",
    "N": "1",
    "MS": "1",
    "LABEL": "here",
    "TOOL": "no-such-tool",
}
REFUSED = ("unknown or incomplete step", "takes at most")


def drive(full_build: Path, host: str, step: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The pinned variant's driver given one step, as dlm-suite would run it."""
    rt = full_build / host / "out" / "rt" / "pinned"
    env = {
        **os.environ,
        "DLM_LIBDIR": str(rt / "lib"),
        "DLM_WORKDIR": str(tmp_path),
        "LD_LIBRARY_PATH": str(rt / "lib"),
    }
    return subprocess.run(
        [str(rt / "bin" / "dlm-driver"), step],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        cwd=tmp_path,
    )


@pytest.mark.parametrize("host", ["host-glibc", pytest.param("host-musl", marks=needs_musl)])
def test_the_driver_takes_each_step_as_python_defines_it(full_run, full_build, host, tmp_path):
    """The driver's table comes from config.steps.STEPS (generated.h): each verb is taken with as many
    arguments as Python allows and refused with fewer or more, and a verb Python lacks is refused."""
    for step in STEPS:
        given = [SAMPLE[a.name] for a in step.arguments]
        for count in range(step.least, step.most + 1):
            text = ":".join([step.verb, *given[:count]])
            done = drive(full_build, host, text, tmp_path)  # it may fail (run:no-such-tool), not refuse
            assert not any(words in done.stderr for words in REFUSED), (text, done.stderr)
        if step.least:
            text = ":".join([step.verb, *given[: step.least - 1]])
            done = drive(full_build, host, text, tmp_path)
            assert (done.returncode, done.stderr) == (
                2,
                f"dlm-driver: unknown or incomplete step '{step.verb}'\n",
            )
        text = ":".join([step.verb, *given, "extra"])
        done = drive(full_build, host, text, tmp_path)
        assert done.returncode == 2 and f"step '{step.verb}' takes at most {step.most}" in done.stderr, text
    done = drive(full_build, host, "no-such-verb", tmp_path)
    assert (done.returncode, done.stderr) == (2, "dlm-driver: unknown or incomplete step 'no-such-verb'\n")


@pytest.mark.parametrize("host", ["host-glibc", pytest.param("host-musl", marks=needs_musl)])
def test_dlm_suite_has_its_bounds_from_python(full_run, full_build, host):
    """--jobs up to MAX_SUITE_JOBS and a catalog ended by CATALOG_END, as generated.h hands them to C."""
    suite = full_build / host / "out" / "bin" / "dlm-suite"
    most = subprocess.run(
        [str(suite), "--list", "--jobs", str(MAX_SUITE_JOBS)], capture_output=True, timeout=30
    )
    assert most.returncode == 0
    over = subprocess.run(
        [str(suite), "--list", "--jobs", str(MAX_SUITE_JOBS + 1)], capture_output=True, text=True, timeout=30
    )
    assert over.returncode == 2 and f"between 1 and {MAX_SUITE_JOBS}" in over.stderr
    listed = subprocess.run(  # what follows the end is not read as catalog (tokens go there)
        [str(suite), "--list", "--json", "--suite", "-"],
        input=catalog_input(load_matrix()) + "not a catalog line\n",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert listed.returncode == 0, listed.stderr
    assert len([line for line in listed.stdout.splitlines() if '"listing"' in line]) == len(
        load_matrix().pairs()
    )


def test_a_host_run_that_tests_nothing_exits_2_with_its_json_summary(tmp_path, capsys):
    """A plug-in on the host backend: its cells are all skipped (it installs no packages). The run
    shows its progress on stderr, prints the summary as JSON on stdout, writes the report, exits 2."""
    out = tmp_path / "out"
    argv = ["run", "--backend", "host", "--image", "host-glibc", "--runtime", "libuv", "--scenario", "app-*"]
    code = main([*argv, "--out", str(out), "--json"])
    captured = capsys.readouterr()
    cells = read_results(out / "results.json").cells
    assert code == 2, captured.err
    assert cells and {c.verdict for c in cells} == {"not-run"}  # its rules expect outcomes on glibc
    summary = json.loads(captured.out)
    assert summary["nothing_tested"] is True
    assert summary["counts"] == {
        "ok": 0,
        "unexpected": 0,
        "flaky": 0,
        "not-reproduced": 0,
        "skipped": 0,
        "not-run": len(cells),
        "total": len(cells),
    }
    [untested] = summary["not_tested"]
    assert (untested["axis"], untested["name"], untested["cells"]) == ("runtime", "libuv", len(cells))
    assert untested["reasons"][0].startswith("not applicable: the host backend installs no packages")
    assert summary["report"]["directory"] == str(out) and (out / "index.html").is_file()
    progress = [re.sub(r"^\s*\d+s ", "", line) for line in captured.err.splitlines()]
    assert progress[0].startswith("host-glibc: building: dlm-suite and the runtimes with ")
    assert "host-glibc: running" in progress and "host-glibc: done" in progress
    assert f"dlmatrix: error: nothing was tested: all {len(cells)} cells of runtime libuv are not run" in (
        captured.err
    )
    assert "fix: runtime plug-ins install their packages in the images" in captured.err


def test_a_variant_whose_packages_did_not_install_is_marked_for_a_build_elsewhere(tmp_path):
    # build.sh on a package layer's markers (DLM_PACKAGES): a plug-in whose packages failed, and
    # Debian's own LTTng-UST where its packages were installed for a foreign target and failed
    # (cross.j2 suite_stage), are build errors with the package manager's words, marked
    # PACKAGES-FAILED: the image then compiles them under qemu, where its own layer installed them
    bundle = write_bundle(load_matrix(), tmp_path / "bundle", catalog=False)
    packages = tmp_path / "packages"
    packages.mkdir()
    for name in ("glib", "lttng-ust"):
        (packages / f"{name}.FAILED").write_text(f"E: Unable to locate package for {name}\n")
    out = tmp_path / "out"
    env = {**os.environ, "CC": "gcc", "DLM_PACKAGES": str(packages), "DLM_ONLY": "glib lttng-ust unpinned"}
    done = subprocess.run(["sh", str(bundle / "build.sh"), str(bundle), str(out)], env=env, check=False)
    assert done.returncode == 3  # some variants failed, the rest built
    for name in ("glib", "lttng-ust"):
        failed = (out / "rt" / name / "BUILD-FAILED").read_text()
        assert failed.startswith(f"the packages of runtime {name} did not install here;"), failed
        assert f"E: Unable to locate package for {name}" in failed
        assert (out / "rt" / name / "PACKAGES-FAILED").exists()
    model = out / "rt" / "unpinned"  # needs no package: built
    assert (model / "env").exists() and not (model / "PACKAGES-FAILED").exists()
