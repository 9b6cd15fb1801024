"""Faults injected on purpose, through the real CLI, real images and real engines (issue 9): each
asserts the message, the exit code, that no container, child or temporary directory is left, and
that earlier results are intact."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, edit_yaml, need
from tests.engines import PrivateEngine
from tests.faults.conftest import IMAGE, Run, children_of, containers, wait_for_container

pytestmark = pytest.mark.faults
SLOW_RUN = ["run", "--backend", "docker", "--image", IMAGE, "--runtime", "pinned"]


def earlier_results(out: Path) -> bytes:
    """An earlier run's results in --out, which no fault may change."""
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "reports" / "results.json", out / "results.json")
    return (out / "results.json").read_bytes()


def dlmatrix(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dlmatrix", *args],
        cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=900,
    )  # fmt: skip


def assert_nothing_left(run: Run, docker_host: str | None = None) -> None:
    name = f"dlmatrix-{IMAGE}-{run.pid}"
    assert containers(docker_host, name) == [], f"container {name} outlived the run"
    assert children_of(name) == [], "a docker CLI child outlived the run"
    assert list(run.tmpdir.glob("dlmatrix-*")) == [], "a temporary directory outlived the run"


# 1. a control byte in a cell's output
def test_control_bytes_in_output_reach_junit_escaped(project, tmp_path):
    edit_yaml(project, "scenarios.yaml", lambda d: d["scenarios"].append({
        "name": "escape-preload", "description": "ld.so echoes a bad LD_PRELOAD with an ANSI escape.",
        "env": {"LD_PRELOAD": "\x1b[31mno-such.so"}, "steps": ["open:a", "fire:a", "close:a"]}))  # fmt: skip
    out = tmp_path / "out"
    done = dlmatrix(project, "run", "--backend", "host", "--image", "host-glibc",
                    "--scenario", "escape-preload", "--runtime", "pinned", "--out", str(out))  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    cell = json.loads((out / "results.json").read_text())["cells"][0]
    assert "\x1b[31m" in cell["stderr"]  # ld.so really echoed it
    text = ET.parse(out / "junit.xml").getroot().findtext(".//system-err") or ""
    assert "\\x1b[31mno-such.so" in text
    assert {"index.html", "summary.md", "results.json"} <= {p.name for p in out.iterdir()}
    assert dlmatrix(project, "report", str(out)).returncode == 0


# 2. signals
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_the_suites_removes_everything_and_keeps_the_results(
    engine, musl_tag, slow_project, tmp_path, signum, code
):
    out = tmp_path / "out"
    before = earlier_results(out)
    run = Run(slow_project, [*SLOW_RUN, "--scenario", "*", "--out", str(out)], tmp_path / "tmp")
    wait_for_container(f"dlmatrix-{IMAGE}-{run.pid}")
    time.sleep(8)  # the quick cells finish; zz-slow sleeps
    started = time.monotonic()
    run.signal(signum)
    exit_code, output = run.finish(timeout=60)
    assert exit_code == code, output
    assert time.monotonic() - started < 30, "the stop was not prompt"
    assert f"interrupted by {signal.Signals(signum).name}" in output
    assert f"removed container dlmatrix-{IMAGE}-{run.pid}" in output
    assert (out / "results.json").read_bytes() == before
    partial = json.loads((out / "results.partial.json").read_text())
    assert partial["run"]["partial"] == f"interrupted by {signal.Signals(signum).name}"
    assert partial["cells"] and "zz-slow" not in {c["scenario"] for c in partial["cells"]}
    assert_nothing_left(run)


def test_a_second_signal_during_the_clean_up_leaves_nothing_behind(engine, musl_tag, slow_project, tmp_path):
    out = tmp_path / "out"
    before = earlier_results(out)
    run = Run(slow_project, [*SLOW_RUN, "--scenario", "zz-slow", "--out", str(out)], tmp_path / "tmp")
    wait_for_container(f"dlmatrix-{IMAGE}-{run.pid}")
    run.signal(signal.SIGINT)
    time.sleep(0.05)
    run.signal(signal.SIGTERM)
    exit_code, output = run.finish(timeout=60)
    assert exit_code in (130, 143), output
    assert "removed container" in output and "Traceback" not in output
    assert (out / "results.json").read_bytes() == before
    assert_nothing_left(run)


def test_a_signal_during_an_image_build_stops_it_at_once(engine, musl_tag, project, tmp_path):
    source = project / "src" / "c" / "provider.c"
    source.write_text(source.read_text() + f"/* {time.time_ns()}: a new input, so a new build */\n")
    out = tmp_path / "out"
    before = earlier_results(out)
    run = Run(project, [*SLOW_RUN, "--scenario", "app-linked", "--out", str(out)], tmp_path / "tmp")
    run.wait_for_output(f"{IMAGE}: building", timeout=300)
    time.sleep(2)
    started = time.monotonic()
    run.signal(signal.SIGINT)
    exit_code, output = run.finish(timeout=60)
    assert exit_code == 130, output
    assert time.monotonic() - started < 20, "the build went on after Ctrl-C"
    assert children_of(str(run.tmpdir)) == [], "docker build outlived the run"
    assert (out / "results.json").read_bytes() == before and not (out / "results.partial.json").exists()
    assert_nothing_left(run)


# 3. the engine dies or freezes mid-run (a private engine: the shared one is never touched)
@pytest.mark.parametrize("fault", ["killed", "frozen"])
def test_an_engine_that_dies_or_freezes_ends_the_run_with_exit_2(
    private_engine, slow_project, tmp_path, fault
):
    out = tmp_path / "out"
    before = earlier_results(out)
    env = {"DOCKER_HOST": private_engine.host}
    run = Run(slow_project, [*SLOW_RUN, "--scenario", "*", "--out", str(out)], tmp_path / "tmp", env)
    name = f"dlmatrix-{IMAGE}-{run.pid}"
    wait_for_container(name, private_engine.host)
    time.sleep(8)
    private_engine.signal(signal.SIGKILL if fault == "killed" else signal.SIGSTOP)
    exit_code, output = run.finish(timeout=240)
    assert exit_code == 2, output
    assert "dlmatrix: error: the Docker engine" in output and "Traceback" not in output
    assert "did not answer" in output if fault == "frozen" else "stopped answering" in output
    assert (out / "results.json").read_bytes() == before and not (out / "index.html").exists()
    partial = json.loads((out / "results.partial.json").read_text())
    assert partial["run"]["partial"].startswith("the Docker engine") and partial["cells"]
    assert children_of(name) == [] and list(run.tmpdir.glob("dlmatrix-*")) == []
    revive(private_engine, fault)
    deadline = time.monotonic() + 90  # --rm: once the engine is back, the container removes itself
    while containers(private_engine.host, name) and time.monotonic() < deadline:
        time.sleep(1)
    assert containers(private_engine.host, name) == []


def revive(private: PrivateEngine, fault: str) -> None:
    if fault == "frozen":
        private.signal(signal.SIGCONT)
    else:
        private.daemon = None
        private.start()


def test_dlmatrix_prune_removes_what_no_current_input_produces(private_engine, musl_tag, tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    # a layer of its own, which the build cache keeps (below)
    stale_layer = "RUN head -c 100000 /dev/zero >/stale"
    dockerfile.write_text(f"FROM dlmatrix-base/debian:bookworm\n{stale_layer}\nLABEL org.dlmatrix=1\n")
    stale = f"dlmatrix/{IMAGE}:0000000000000000"
    built = private_engine.docker("build", "--tag", stale, str(tmp_path), timeout=300)
    assert built.returncode == 0, built.stderr
    env = {"DOCKER_HOST": private_engine.host}
    dry = dlmatrix(REPO, "prune", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert f"would remove {stale}: built before dlmatrix recorded its inputs" in dry.stdout
    assert f"kept: {musl_tag}" in dry.stdout
    assert dlmatrix(REPO, "prune", env=env).returncode == 0
    listed = private_engine.docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert stale not in listed and musl_tag in listed

    # the build cache only on demand, by how long no build used it, and the images stay
    def build_cache() -> str:
        sizes = private_engine.docker("system", "df", "--format", "{{.Type}}={{.Size}}").stdout.splitlines()
        return str(dict(line.split("=", 1) for line in sizes)["Build Cache"])

    assert build_cache() != "0B"
    dry = dlmatrix(REPO, "prune", "--dry-run", "--build-cache", "7d", env=env)
    assert "would remove the engine's build cache unused for 168h" in dry.stdout and build_cache() != "0B"
    pruned = dlmatrix(REPO, "prune", "--build-cache", "0s", env=env)
    assert pruned.returncode == 0, pruned.stderr
    said = r"the engine's build cache unused for 0s: [\d.]+[kMG]?B reclaimed\n"  # docker's or buildx's words
    assert re.search(said, pruned.stdout), pruned.stdout
    assert build_cache() == "0B"
    assert musl_tag in private_engine.docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    bad = dlmatrix(REPO, "prune", "--build-cache", "a week", env=env)
    assert bad.returncode == 2 and "'a week' is not an age like 7d" in bad.stderr


# 4. a scenario longer than dlm-suite used to hold
def test_a_long_scenario_runs_every_step(project, tmp_path):
    labels = [f"check:s{i}" for i in range(80)]
    edit_yaml(project, "scenarios.yaml", lambda d: d["scenarios"].append({
        "name": "long", "description": "x" * 10000, "steps": ["open:a", "fire:a", *labels]}))  # fmt: skip
    out = tmp_path / "out"
    done = dlmatrix(project, "run", "--backend", "host", "--image", "host-musl",
                    "--scenario", "long", "--runtime", "pinned", "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    cell = json.loads((out / "results.json").read_text())["cells"][0]
    assert cell["outcome"] == "pass" and any(key.endswith("@s79") for key in cell["evidence"]), cell


# 5. the output directory
def test_an_output_that_cannot_be_written_is_refused_before_any_work(tmp_path):
    (tmp_path / "file").write_text("x")
    started = time.monotonic()
    done = dlmatrix(REPO, "run", "--backend", "docker", "--out", str(tmp_path / "file"))
    assert done.returncode == 2 and "is a file, not a directory" in done.stderr
    assert time.monotonic() - started < 20


def test_two_runs_into_one_directory_are_refused(engine, musl_tag, slow_project, tmp_path):
    out = tmp_path / "out"
    before = earlier_results(out)
    first = Run(slow_project, [*SLOW_RUN, "--scenario", "zz-slow", "--out", str(out)], tmp_path / "tmp")
    wait_for_container(f"dlmatrix-{IMAGE}-{first.pid}")
    second = dlmatrix(slow_project, *SLOW_RUN, "--scenario", "app-linked", "--out", str(out))
    assert second.returncode == 2
    assert f"another dlmatrix run (pid {first.pid}) is writing to {out}" in second.stderr
    first.signal(signal.SIGTERM)
    assert first.finish(timeout=60)[0] == 143
    assert (out / "results.json").read_bytes() == before


def test_a_corrupt_or_foreign_results_file_is_named_not_fatal(project, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_bytes(b"\xff\xfe{not json")
    shown = dlmatrix(project, "show", str(out))
    assert shown.returncode == 2 and "not a results file (not UTF-8 JSON" in shown.stderr
    done = dlmatrix(project, "run", "--backend", "host", "--image", "host-musl", "--scenario", "app-linked",
                    "--runtime", "pinned", "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"dlmatrix: warning: not comparing with {out / 'results.json'}" in done.stderr
    summary = (out / "summary.md").read_text()
    assert "Removed" not in summary and json.loads((out / "results.json").read_text())["cells"]


def test_a_fresh_out_compares_only_the_cells_it_selected(project, tmp_path):
    out = tmp_path / "fresh"
    done = dlmatrix(project, "run", "--backend", "host", "--scenario", "app-linked", "--runtime", "pinned",
                    "--out", str(out), "--previous", str(REPO / "reports" / "results.json"))  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    summary = (out / "summary.md").read_text()
    assert "### Removed" not in summary


# 6. the smaller ones
def test_a_failed_build_keeps_its_log_under_the_output_directory(engine, project, tmp_path):
    source = project / "src" / "c" / "suite" / "main.c"
    source.write_text(source.read_text() + "\nthis is not C;\n")
    out = tmp_path / "out"
    done = dlmatrix(project, *SLOW_RUN, "--scenario", "app-linked", "--out", str(out))
    assert done.returncode == 1, done.stderr
    log = out / "logs" / f"build-{IMAGE}.log"
    assert "this is not C" in log.read_text()
    cells = json.loads((out / "results.json").read_text())["cells"]
    assert cells and all(c["outcome"] == "build-error" and str(log) in c["stderr"] for c in cells)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--jobs", "0"], "argument --jobs: 0 is out of range"),
        (["--jobs", "-3"], "argument --jobs: -3 is out"),
    ],
)
def test_bad_numbers_are_usage_errors(tmp_path, args, message):
    done = dlmatrix(REPO, "run", "--out", str(tmp_path / "out"), *args)
    assert done.returncode == 2 and message in done.stderr and not (tmp_path / "out").exists()


def test_bad_configuration_exits_2_and_writes_nothing(project, tmp_path):
    path = project / "matrix" / "scenarios.yaml"
    seed = "steps: [open:a, fire:a, close:a, check:after-close, wake, check]"
    path.write_text(path.read_text().replace(seed, "steps: [open:a, fire:a, cycles:0:zz]", 1))
    out = tmp_path / "out"
    before = earlier_results(out)
    done = dlmatrix(project, "run", "--backend", "host", "--out", str(out))
    assert done.returncode == 2 and "cycles:0:zz" in done.stderr and "P: a, b or origin" in done.stderr
    assert (out / "results.json").read_bytes() == before


def test_a_user_outside_the_docker_group_is_told_to_join_it(engine, tmp_path):
    need("root", os.geteuid() == 0 and shutil.which("setpriv"), "not root, or no setpriv", "run as root")
    home = Path(tempfile.mkdtemp(prefix="dlmatrix-nobody-"))  # pytest's directories are private
    home.chmod(0o777)
    with traversable(Path(sys.prefix)), traversable(Path(__file__)):
        done = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             sys.executable, "-m", "dlmatrix", "run", "--backend", "docker", "--out", str(home / "out")],
            cwd=REPO, capture_output=True, text=True, timeout=120,
            env={**os.environ, "HOME": str(home), "DOCKER_HOST": ""},
        )  # fmt: skip
    shutil.rmtree(home)
    assert done.returncode == 2, done.stderr
    assert "may not use the Docker engine" in done.stderr and "usermod -aG docker" in done.stderr


@contextlib.contextmanager
def traversable(path: Path) -> Iterator[None]:
    """Lets other users pass through path's directories (tox keeps .tox private) for a while."""
    changed = [(p, p.stat().st_mode) for p in path.resolve().parents if not p.stat().st_mode & 0o001]
    changed += [(p, p.stat().st_mode) for p in [path] if path.is_dir() and not p.stat().st_mode & 0o001]
    for directory, mode in changed:
        directory.chmod(mode | 0o005)
    try:
        yield
    finally:
        for directory, mode in changed:
            directory.chmod(mode)


def test_a_signal_while_a_base_is_built_offline_ends_mmdebstrap_and_its_files(private_engine, tmp_path):
    need("mmdebstrap", shutil.which("mmdebstrap"), "it is not installed", "bash .ci/setup installs it")
    env = {"DOCKER_HOST": private_engine.host}
    run = Run(REPO, ["bases", "--image", "debian-trixie-glibc"], tmp_path / "tmp", env)
    deadline = time.monotonic() + 120
    while not children_of("mmdebstrap --quiet"):
        assert time.monotonic() < deadline and run.process.poll() is None, "mmdebstrap never started"
        time.sleep(0.2)
    time.sleep(3)  # it is downloading
    run.signal(signal.SIGTERM)
    exit_code, output = run.finish(timeout=60)
    assert exit_code == 143, output
    assert children_of("mmdebstrap --quiet") == [] and children_of("docker import") == []
    assert [p.name for p in run.tmpdir.iterdir()] in ([], ["dlmatrix-bases"]), "mmdebstrap left files"
    assert private_engine.docker("image", "inspect", "dlmatrix-base/debian:trixie").returncode != 0


def test_a_signal_during_a_host_run_ends_every_attempt(slow_project, tmp_path):
    out = tmp_path / "out"
    before = earlier_results(out)
    args = ["run", "--backend", "host", "--image", "host-glibc", "--scenario", "zz-slow", "--out", str(out)]
    run = Run(slow_project, args, tmp_path / "tmp")
    deadline = time.monotonic() + 120
    while not children_of("dlm-driver open a fire a sleep 60000"):  # the driver splits its steps
        assert time.monotonic() < deadline and run.process.poll() is None, "the attempts never started"
        time.sleep(0.2)
    run.signal(signal.SIGTERM)
    exit_code, output = run.finish(timeout=60)
    assert exit_code == 143, output
    left = children_of("dlm-driver open a fire a sleep 60000", on_host=True) + children_of(
        "dlm-suite", on_host=True
    )
    assert left == []
    assert (out / "results.json").read_bytes() == before
    assert list(run.tmpdir.glob("dlmatrix-*")) == []


def test_an_engine_out_of_disk_ends_the_run_with_exit_2(full_engine, tmp_path):
    out = tmp_path / "out"
    before = earlier_results(out)
    run = Run(REPO, [*SLOW_RUN, "--scenario", "app-linked", "--out", str(out)], tmp_path / "tmp",
              {"DOCKER_HOST": full_engine.host})  # fmt: skip
    exit_code, output = run.finish(timeout=300)
    assert exit_code == 2, output
    assert f"the Docker engine ran out of disk space while building dlmatrix/{IMAGE}:" in output
    assert "dlmatrix prune" in output and "Traceback" not in output
    assert (out / "results.json").read_bytes() == before and not (out / "index.html").exists()
    assert children_of(str(run.tmpdir)) == [] and list(run.tmpdir.glob("dlmatrix-*")) == []
