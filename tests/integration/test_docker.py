"""Real images through a real Docker engine: offline bases, builds, sandboxed suite runs.

Without an engine they fail in CI and skip, loudly, elsewhere (conftest's `missing`).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dlmatrix.backends.oci.backend import ContainerBackend
from dlmatrix.backends.oci.bases import BaseProvider, BaseUnavailable
from dlmatrix.backends.oci.engine import SANDBOX, Engine
from dlmatrix.backends.oci.tokens import CellBudget
from dlmatrix.config.load import load_matrix
from dlmatrix.errors import DlmatrixError
from dlmatrix.model.catalog import Image
from dlmatrix.model.cells import Cell
from dlmatrix.model.outcomes import RACY_MIN_ATTEMPTS
from dlmatrix.model.selector import Patterns, Selector
from dlmatrix.report.explain import story
from dlmatrix.runtimes.sources import SourceDirs, snapshots
from dlmatrix.suite.bundle import catalog_input
from tests.conftest import Recorder, edit_yaml, missing

pytestmark = pytest.mark.docker
BOOKWORM = "debian-bookworm-glibc,debian-bookworm-musl"
FROM_SOURCE = "lttng-ust-2.13.9*"  # the source variants these tests build; the others are skipped


@pytest.fixture(scope="module", autouse=True)
def sources(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path | None]:
    """A sources directory with the 2.13.9 snapshot, its patch and userspace-rcu only: the images
    build those two variants from source (about a minute each) and skip the other five, with the
    reason. None where the snapshots are not available (the source tests then end in `missing`)."""
    directory = tmp_path_factory.mktemp("sources")
    available = SourceDirs.from_option()
    complete = True
    for needed in snapshots(load_matrix(), Patterns.of(FROM_SOURCE)):  # userspace-rcu comes with them
        found = available.find(needed.file, needed.sha256)
        complete &= found is not None
        if found:
            (directory / needed.file).symlink_to(found.resolve())
    saved = {key: os.environ.get(key) for key in ("DLMATRIX_SOURCES", "XDG_CACHE_HOME")}
    os.environ["DLMATRIX_SOURCES"] = str(directory)
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("empty-cache"))
    yield directory if complete else None
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def need_sources(sources: Path | None) -> None:
    if sources is None:
        missing(
            "sources",
            "not every snapshot the source-built cells need is in DLMATRIX_SOURCES or the user cache",
            "run `dlmatrix sources` or set DLMATRIX_SOURCES (tox uses ../shared/sources when it exists)",
        )


class Built:
    """The bookworm glibc and musl images, built (from nothing where nothing exists) and run once."""

    def __init__(self, engine: Engine, workdir: Path) -> None:
        self.progress = Recorder()
        self.matrix = load_matrix()
        self.backend = ContainerBackend(
            self.matrix, engine, workdir, Selector.of(image=BOOKWORM, repeat=2), self.progress, CellBudget(8)
        )
        self.cells = self.backend.run()

    def tag(self, name: str) -> str:
        image = next(i for i in self.matrix.images if i.name == name)
        engine = self.backend.engines[0]
        tag = self.backend.build(image, self.backend.provide_base(image, engine), engine)
        assert tag is not None
        return tag

    def cell(self, image: str, scenario: str, runtime: str) -> Cell:
        [found] = [c for c in self.cells if (c.image, c.scenario, c.runtime) == (image, scenario, runtime)]
        return found


@pytest.fixture(scope="module")
def built(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Built:
    return Built(engine, tmp_path_factory.mktemp("docker"))


def test_bookworm_images_run_every_cell_as_declared(built, sources):
    matrix = built.matrix
    assert len(built.cells) == 2 * len(matrix.pairs())
    debian_on_musl = [  # Debian's own packages serve glibc: its LTTng-UST and the libraries' plug-ins
        ("debian-bookworm-musl", c.scenario, c.runtime, "skipped")
        for c in built.cells
        if c.image == "debian-bookworm-musl" and (c.runtime == "lttng-ust" or c.family == "library")
    ]
    not_provided = [
        (c.image, c.scenario, c.runtime, "skipped")
        for c in built.cells
        if c.runtime.startswith("lttng-ust-") and not c.runtime.startswith("lttng-ust-2.13.9")
    ]
    if sources is None:
        not_provided += [
            (c.image, c.scenario, c.runtime, "skipped")
            for c in built.cells
            if c.runtime.startswith("lttng-ust-2.13.9")
        ]
    no_lttng_tools = [  # the musl-only images: the end-to-end scenario requires lttng-sessiond
        (c.image, c.scenario, c.runtime, "skipped")
        for c in built.cells
        if c.image == "debian-bookworm-musl" and c.scenario == "lttng-end-to-end"
        if c.runtime.startswith("lttng-ust-2.13.9") and sources is not None
    ]
    # A race may not happen in one run's attempts (bookworm's 2.13.9-nopin races run 0 to 3 of 5):
    # such a cell is not-reproduced, never ok; it must be a racy rule's, given the racy minimum and
    # ending only as the rule's other outcome.
    not_reproduced = [c for c in built.cells if c.verdict == "not-reproduced"]
    for cell in not_reproduced:
        assert cell.racy and len(cell.attempts) >= RACY_MIN_ATTEMPTS, cell
        assert {a.result for a in cell.attempts} == {cell.otherwise}, cell
    unexpected = [
        (c.image, c.scenario, c.runtime, c.result)
        for c in built.cells
        if c.verdict not in ("ok", "not-reproduced")
    ]
    assert sorted(unexpected) == sorted(debian_on_musl + not_provided + no_lttng_tools)


def test_a_snapshot_not_provided_skips_its_cells_naming_the_file_and_the_command(built):
    cell = built.cell("debian-bookworm-glibc", "app-dlopen-dlclose", "lttng-ust-2.12.10-nopin")
    assert (cell.result, cell.verdict) == ("skipped", "not-run")  # its rule expects a crash: never ok
    assert "lttng-ust-v2.12.10.tar.gz (https://github.com/lttng/lttng-ust at d4126f5a34dd)" in cell.stderr
    assert "`dlmatrix sources` fetches it" in cell.stderr


def test_libc_versions_are_read_inside_the_images(built):
    versions = {(c.image, c.libc.family, c.libc.version) for c in built.cells}
    assert versions == {("debian-bookworm-glibc", "glibc", "2.36"), ("debian-bookworm-musl", "musl", "1.2.3")}
    assert {c.compiler for c in built.cells} == {"gcc 12.2.0"}


def test_the_seed_crashes_on_glibc_and_survives_on_musl_for_a_different_reason(built):
    glibc = built.cell("debian-bookworm-glibc", "app-dlopen-dlclose", "unpinned")
    assert [a.result for a in glibc.attempts] == ["crash:SIGSEGV", "crash:SIGSEGV"]
    assert glibc.evidence["mapped@after-close"] is False
    musl = built.cell("debian-bookworm-musl", "app-dlopen-dlclose", "unpinned")
    assert musl.result == "pass" and musl.evidence["mapped@after-close"] is True
    pinned = built.cell("debian-bookworm-glibc", "app-dlopen-dlclose", "pinned")
    assert pinned.result == "pass" and pinned.evidence["mapped@after-close"] is True


def test_the_loader_tells_which_dlclose_unmapped_the_runtime_and_musl_unmaps_nothing(built):
    glibc = built.cell("debian-bookworm-glibc", "app-dlopen-dlclose", "unpinned")
    assert glibc.evidence["elf_soname"] == "libdlmrt.so.1" and glibc.evidence["elf_nodelete"] is False
    close = next(step for step in glibc.loader["steps"] if step["step"] == "close:a")
    assert close["destroyed"] == ["libdlmprov_a.so", "libdlmrt.so.1"]
    assert "libdlmrt.so.1" in close["fini"]
    znodelete = built.cell("debian-bookworm-glibc", "app-dlopen-dlclose", "znodelete")
    assert znodelete.evidence["elf_nodelete"] is True
    assert (
        "libdlmrt.so.1"
        not in next(s for s in znodelete.loader["steps"] if s["step"] == "close:a")["destroyed"]
    )
    musl = built.cell("debian-bookworm-musl", "app-dlopen-dlclose", "unpinned")
    assert musl.loader is None and musl.evidence["package"] == "none (built here)"
    assert "musl: dlclose() unloads nothing" in story(musl.loader, musl.evidence, "musl")[0]


def test_debian_libraries_run_on_glibc_with_their_package_and_are_skipped_on_musl(built):
    zmq = built.cell("debian-bookworm-glibc", "app-dlopen-dlclose", "libzmq")
    assert zmq.result == "crash:SIGSEGV" and zmq.evidence["package"].startswith("libzmq5 4.3.4")
    # the finalizer shows the unload; the "destroying" line may be lost to the crash (loader._fate)
    assert any("libzmq.so.5" in step["fini"] for step in zmq.loader["steps"] if step["step"] == "close:a")
    assert story(zmq.loader, zmq.evidence, "glibc")[-1].startswith(
        ("libzmq.so.5: unmapped at close:a", "libzmq.so.5: finalized for unloading at close:a")
    )
    pulse = built.cell("debian-bookworm-glibc", "app-dlopen-dlclose", "libpulse")
    assert pulse.result == "pass" and pulse.evidence["elf_nodelete"] is True
    assert pulse.evidence["mapped@after-close"] is True
    skipped = built.cell("debian-bookworm-musl", "app-dlopen-dlclose", "libzmq")
    assert skipped.result == "skipped" and "Debian builds its packages against glibc" in skipped.stderr


def test_the_real_lttng_ust_survives_and_traces_after_reopen(built):
    seed = built.cell("debian-bookworm-glibc", "app-dlopen-dlclose", "lttng-ust")
    assert seed.result == "pass" and seed.evidence["runtime_version"] == "2.13.5"
    assert seed.evidence["mapped@after-close"] is True and seed.evidence["mapped_noload@after-close"] is True
    assert seed.evidence["listener_threads@after-close"] == 2
    e2e = built.cell("debian-bookworm-glibc", "lttng-end-to-end", "lttng-ust")
    assert e2e.result == "pass"
    assert e2e.evidence["trace_events_before_dlclose"] >= 1 and e2e.evidence["trace_events_after_reopen"] >= 1
    assert e2e.evidence["sessiond"] == "2.13.9"  # lttng-tools of bookworm, read inside the image
    assert e2e.evidence["registered"] is True  # lttng-trace-check found it among the daemon's applications


def test_lttng_ust_from_source_crashes_without_its_pin_and_survives_with_it(built, sources):
    need_sources(sources)
    nopin = built.cell("debian-bookworm-glibc", "app-dlopen-dlclose", "lttng-ust-2.13.9-nopin")
    assert len(nopin.attempts) == 5  # the variant's own minimum (some of its cells are races)
    assert {a.result for a in nopin.attempts} == {"crash:SIGSEGV"}, nopin.stderr  # the seed: never a race
    assert nopin.evidence["mapped_noload@after-close"] is False
    assert nopin.evidence["loaded:liblttng-ust-tracepoint.so.1@after-close"] is True  # holds nothing
    assert nopin.evidence["upstream_commit"] == "83d51a7498a113adc2c124e502edfa717564f630"
    assert nopin.evidence["upstream_patches"] == "lttng-ust-v2.13.9-no-self-pin.patch"
    pinned = built.cell("debian-bookworm-glibc", "app-dlopen-dlclose", "lttng-ust-2.13.9")
    assert [a.result for a in pinned.attempts] == ["pass", "pass"], pinned.stderr
    assert pinned.evidence["runtime_version"] == "2.13.9" and pinned.evidence["upstream_patches"] == "none"
    assert pinned.evidence["mapped_noload@after-close"] is True
    # the listeners ran after the dlclose(): woken by the session daemon, they registered
    assert pinned.evidence["listener_switches"] > pinned.evidence["listener_switches@after-close"]
    assert pinned.evidence["registered"] is True


def test_lttng_ust_built_with_musl_gcc_stays_mapped(built, sources):
    need_sources(sources)
    for runtime in ("lttng-ust-2.13.9", "lttng-ust-2.13.9-nopin"):
        cell = built.cell("debian-bookworm-musl", "app-dlopen-dlclose", runtime)
        assert cell.result == "pass", cell.stderr
        assert cell.evidence["mapped_noload@after-close"] is True
        assert cell.evidence["listener_threads@after-close"] == 2
        assert cell.evidence["sessiond"] == "none" and cell.evidence["futexes_woken"] >= 1
        # woken without a session daemon, the listeners ran on mapped code
        assert cell.evidence["listener_switches"] > cell.evidence["listener_switches@after-close"]


def test_the_end_to_end_scenario_is_not_applicable_without_lttng_tools(built, sources):
    """The musl-only images carry no lttng-tools: the scenario's requires skips its cells there
    without running the driver (it used to fail its first step, exit 4, and count as ok)."""
    need_sources(sources)
    cell = built.cell("debian-bookworm-musl", "lttng-end-to-end", "lttng-ust-2.13.9")
    assert (cell.result, cell.verdict) == ("skipped", "skipped"), cell.stderr
    assert "not applicable" in cell.stderr and "lttng-sessiond" in cell.stderr
    assert "trace_session" not in cell.evidence and "sessiond" not in cell.evidence  # nothing ran
    assert cell.reason.startswith("Not applicable")


def test_lttng_ust_is_not_applicable_on_musl(built):
    cell = built.cell("debian-bookworm-musl", "app-dlopen-dlclose", "lttng-ust")
    assert (cell.result, cell.verdict) == ("skipped", "skipped")
    assert "not applicable" in cell.stderr and "Debian does not package LTTng-UST for musl" in cell.reason


def test_an_unchanged_image_is_not_rebuilt(built):
    built.progress.clear()
    tag = built.tag("debian-bookworm-musl")  # the fixture's run built or found it already
    assert built.progress.messages() == [f"debian-bookworm-musl: built: {tag} is up to date"]


def test_docker_run_prints_the_table_and_its_exit_code_follows_the_verdicts(built):
    tag = built.tag("debian-bookworm-glibc")
    run = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", tag, "--scenario", "app-*", "--runtime", "unpinned"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "dlmatrix suite: glibc 2.36" in run.stdout
    assert "app-dlopen-dlclose       unpinned   crash:SIGSEGV  crash:SIGSEGV  ok" in run.stdout
    assert "2 ok, 0 unexpected, 0 flaky, 0 not reproduced, 0 skipped, 0 not run" in run.stdout
    # by hand too, dlm-suite starts as root and runs no attempt as root (--jobs 4: four lanes)
    assert run.stdout.endswith("\nserial groups ran in lanes: uids 10100-10103 (others as uid 10001)\n")
    listing = subprocess.run(
        ["docker", "run", "--rm", tag, "--list", "--runtime", "pinned"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    lines = listing.splitlines()
    assert lines[2].split() == ["SCENARIO", "RUNTIME", "EXPECTED", "DESCRIPTION"]
    assert len(lines) == 3 + len(
        Selector.of(runtime="pinned").pairs(built.matrix)
    )  # banner, blank, header, cells


def test_the_musl_image_holds_no_glibc(built):
    tag = built.tag("debian-bookworm-musl")
    found = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--entrypoint",
            "/bin/find",
            tag,
            "/",
            "-xdev",
            "(",
            "-name",
            "libc.so*",
            "-o",
            "-name",
            "ld-linux*",
            "-o",
            "-name",
            "ld-musl*",
            ")",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert found == ["/lib/ld-musl-x86_64.so.1"]


def test_containers_are_sandboxed(built):
    tag = built.tag("debian-bookworm-musl")
    probe = (
        "id -u; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; tail -n +3 /proc/net/dev | cut -d: -f1;"
        " touch /probe 2>&1; cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null"
    )
    out = subprocess.run(
        ["docker", "run", "--rm", *SANDBOX, "--entrypoint", "/bin/sh", tag, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout
    lines = [line.strip() for line in out.splitlines()]
    # dlm-suite starts as root with CHOWN, DAC_OVERRIDE, KILL, SETGID and SETUID only (bits 0, 1,
    # 5, 6, 7), to run each attempt under a uid of its own; a switch away from root clears them
    assert lines[0] == "0"
    assert "CapEff:\t00000000000000e3" in out.splitlines() and "NoNewPrivs:\t1" in out.splitlines()
    assert lines[3] == "lo" and "Read-only file system" in lines[4]
    assert lines[5] == "4096"


def test_the_container_is_removed_when_the_run_is_interrupted(built, engine):
    tag = built.tag("debian-bookworm-musl")
    name = "dlmatrix-test-interrupted"
    with pytest.raises(KeyboardInterrupt), engine.container(name, tag, ["--repeat", "100"]):
        raise KeyboardInterrupt
    left = subprocess.run(
        ["docker", "ps", "--all", "--quiet", "--filter", f"name={name}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert left.strip() == ""


def test_a_failed_build_becomes_build_error_cells(engine, project, tmp_path):
    (project / "src" / "c" / "suite" / "main.c").write_text("this is not C\n")
    matrix = load_matrix(project)
    progress = Recorder()
    cells = ContainerBackend(
        matrix,
        engine,
        tmp_path,
        Selector.of(image="debian-bookworm-musl", scenario="reopen"),
        progress,
        CellBudget(1),
    ).run()
    assert {(c.result, c.verdict) for c in cells} == {("build-error", "unexpected")}
    assert "this is not C" in cells[0].stderr or "main.c" in cells[0].stderr
    assert any("debian-bookworm-musl: failed: build failed; log:" in m for m in progress.messages())


def test_a_wrong_expectation_inside_an_image_makes_docker_run_fail(engine, project, tmp_path):
    edit_yaml(
        project,
        "expectations.yaml",
        lambda d: d["expectations"].insert(
            0,
            {
                "scenario": "reopen",
                "runtime": "pinned",
                "libc": "musl",
                "outcome": "crash:SIGSEGV",
                "reason": "deliberately wrong",
            },
        ),
    )
    matrix = load_matrix(project)
    backend = ContainerBackend(
        matrix, engine, tmp_path, Selector.of(image="debian-bookworm-musl"), Recorder(), CellBudget(1)
    )
    image = next(i for i in matrix.images if i.name == "debian-bookworm-musl")
    tag = backend.build(image, backend.provide_base(image, engine), engine)
    assert tag is not None
    # the edited catalog is not baked into the image (it rebuilds nothing): it comes on stdin
    run = subprocess.run(
        ["docker", "run", "--rm", "-i", tag, "--scenario", "reopen", "--suite", "-"],
        input=catalog_input(matrix),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 1
    assert "reopen                   pinned     pass           crash:SIGSEGV  unexpected" in run.stdout


def test_registry_only_images_are_skipped_with_the_reason(engine, tmp_path):
    matrix = load_matrix()
    provider = BaseProvider(engine, tmp_path)
    alpine = next(i for i in matrix.images if i.template == "apk-musl")
    try:
        provider.provide(alpine)
    except BaseUnavailable:
        pass
    else:
        pytest.skip("a registry answered here: the alpine image is buildable")
    cells = ContainerBackend(
        matrix, engine, tmp_path, Selector.of(image=alpine.name, scenario="reopen"), Recorder(), CellBudget(1)
    ).run()
    assert {(c.result, c.verdict) for c in cells} == {("skipped", "not-run")}  # not declared away
    assert "no registry answered" in cells[0].stderr and "has no offline recipe" in cells[0].stderr
    assert "daemon" not in cells[0].stderr  # the engine's error text (hosts, resolvers) stays out of results


def test_a_base_is_built_offline_with_mmdebstrap(engine, tmp_path):
    """The offline path for real, under a throwaway tag so it never reuses an existing base."""
    image = Image(
        name="offline-probe",
        template="apt-glibc",
        base="dlmatrix-test/debian:bookworm",
        libc="glibc",
        offline_suite="bookworm",
    )
    provider = BaseProvider(engine, tmp_path)
    try:
        base = provider.build_offline(image, "bookworm")
        assert base.ref == "dlmatrix-base/dlmatrix-test/debian:bookworm" and base.how.startswith(
            "built offline"
        )
        version = subprocess.run(
            ["docker", "run", "--rm", "--network", "none", base.ref, "cat", "/etc/debian_version"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert version.stdout.startswith("12.")
        assert provider.provide(image).how == "present"
    finally:
        subprocess.run(
            ["docker", "rmi", "--force", "dlmatrix-base/dlmatrix-test/debian:bookworm"],
            capture_output=True,
            timeout=60,
            check=False,
        )


def test_no_engine_is_one_clear_message(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(DlmatrixError) as caught:
        Engine().server_version()
    assert "no Docker engine answers" in str(caught.value)
    assert "fix: start one with `bash .ci/start-dockerd`" in str(caught.value)
    with pytest.raises(DlmatrixError, match="docker client is not installed"):
        Engine(cli="/nonexistent/docker").server_version()


def test_a_catalog_only_change_rebuilds_nothing(built, engine, project, tmp_path, sources):
    """Scenarios and expectations are handed to each container; only what is compiled is an
    image's identity."""
    before = {
        name: engine.image_id(built.tag(name)) for name in ("debian-bookworm-glibc", "debian-bookworm-musl")
    }
    edit_yaml(project, "expectations.yaml", lambda d: d["expectations"][0].update(reason="edited reason"))
    edit_yaml(project, "scenarios.yaml", lambda d: d["scenarios"][1].update(description="edited"))
    edited = load_matrix(project)
    backend = ContainerBackend(
        edited,
        engine,
        tmp_path,
        Selector.of(image=BOOKWORM, scenario="app-dlopen-dlclose"),
        Recorder(),
        CellBudget(4),
    )
    cells = backend.run()
    assert backend.built == []
    assert {name: engine.image_id(tag) for name, tag in backend.tags.items()} == before
    provided = {c.runtime for c in cells if not c.runtime.startswith("lttng-ust-")}
    provided |= {"lttng-ust-2.13.9", "lttng-ust-2.13.9-nopin"} if sources else set()
    assert {c.verdict for c in cells if c.libc.family == "glibc" and c.runtime in provided} == {"ok"}
    musl = {(c.runtime, c.verdict) for c in cells if c.libc.family == "musl" and c.runtime in provided}
    assert {verdict for _, verdict in musl} == {"ok", "skipped"}
    libraries = {r.name for r in edited.plugins()}
    # Debian's own packages serve glibc only: its LTTng-UST and the libraries' plug-ins
    assert {runtime for runtime, verdict in musl if verdict == "skipped"} == {"lttng-ust"} | libraries


FOUR_ATTEMPTS = ("--runtime", "lttng-ust", "--repeat", "4", "--jobs", "4")


def test_lttng_ust_attempts_overlap_each_under_a_lane_uid_of_its_own(engine, sources, tmp_path):
    """LTTng-UST's attempts share the wait futex of their uid (DLM_SERIAL): dlm-suite, started as
    root in its image, runs the attempt in slot N as uid 10100+N, so they need not take turns.
    With only LTTng-UST attempts in the suite and the first free slot always taken, an attempt in
    any lane but the first started while another LTTng-UST attempt was running: the lanes the
    results record show the overlap, and the verdicts are those the rules declare. Started as
    another user, it keeps the turns and says why."""
    need_sources(sources)
    matrix = load_matrix()
    selector = Selector.of(runtime="lttng-ust,lttng-ust-2.13.9*", image="debian-bookworm-glibc", repeat=2)
    backend = ContainerBackend(matrix, engine, tmp_path, selector, Recorder(), CellBudget(4))
    cells = backend.run()
    ran = [c for c in cells if c.verdict not in ("skipped", "not-run")]
    assert {c.runtime for c in ran} == {"lttng-ust", "lttng-ust-2.13.9", "lttng-ust-2.13.9-nopin"}
    lanes = [a.lane for c in ran for a in c.attempts]
    assert set(lanes) <= {10100, 10101, 10102, 10103}, lanes  # never "serial", never absent
    assert len(set(lanes)) >= 2, lanes  # some attempt started while another held the first lane
    for cell in ran:  # as test_bookworm_images_run_every_cell_as_declared judges them
        assert cell.verdict == "ok" or (
            cell.verdict == "not-reproduced" and {a.result for a in cell.attempts} == {cell.otherwise}
        ), cell
    assert [c for c in cells if c not in ran] == []  # the 2.13.9 sources are here: every cell ran
    # started as another user, it cannot switch: the attempts take turns, each says so, and why
    image = next(i for i in matrix.images if i.name == "debian-bookworm-glibc")
    tag = backend.build(image, backend.provide_base(image, engine), engine)
    assert tag is not None
    run = subprocess.run(
        ["docker", "run", "--rm", "--user", "10001:10001", tag, "--json", "--scenario", "app-linked",
         "--runtime", "lttng-ust", "--repeat", "2"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    records = [json.loads(line) for line in run.stdout.splitlines()]
    said = [r for r in records if r["type"] in ("lanes", "summary")]
    assert said[0] == {
        "type": "lanes",
        "used": False,
        "why": "not started as root: every attempt runs as the invoking user",
    }
    assert said[1]["lanes"] is False and said[1]["ok"] == 1, run.stderr
    [cell] = [r for r in records if r["type"] == "cell"]
    assert [a["lane"] for a in cell["attempts"]] == ["serial", "serial"]
    # as root without a capability it needs (here KILL: it could not stop an attempt of another uid)
    run = subprocess.run(
        ["docker", "run", "--rm", "--cap-drop", "KILL", tag, "--json", "--scenario", "app-linked",
         "--runtime", "lttng-ust"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    [said] = [json.loads(line) for line in run.stdout.splitlines() if '"type":"lanes"' in line]
    assert not said["used"] and "without CHOWN, DAC_OVERRIDE, KILL, SETGID and SETUID" in said["why"]


def test_many_end_to_end_sessions_at_once_have_room_for_their_ring_buffers(built):
    """24 end-to-end attempts in flight in one container, each with its own session: their ring
    buffers live in /dev/shm, which the sandbox sizes for them. With Docker's default 64 MB, half
    of them recorded no event (exit 13), which read as a flaky LTTng-UST."""
    tag = built.tag("debian-bookworm-glibc")
    many = ("--scenario", "lttng-end-to-end", "--runtime", "lttng-ust", "--repeat", "24", "--jobs", "24")
    run = subprocess.run(
        ["docker", "run", "--rm", *SANDBOX, tag, "--json", *many],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    [cell] = [json.loads(line) for line in run.stdout.splitlines() if '"type":"cell"' in line]
    assert [a["result"] for a in cell["attempts"]] == ["pass"] * 24, run.stdout[-2000:]
    assert cell["verdict"] == "ok" and run.returncode == 0


def test_each_attempt_records_only_its_own_trace(built):
    """Four end-to-end attempts, each with its own session daemon and LTTNG_HOME: each trace holds
    its own events only (one fire before dlclose, one after the reopen). LTTng attempts run side by
    side, each under a lane uid of its own (DLM_SERIAL: one futex per uid), so no daemon of one
    attempt may leak into another."""
    tag = built.tag("debian-bookworm-glibc")
    run = subprocess.run(
        ["docker", "run", "--rm", *SANDBOX, tag, "--json", "--scenario", "lttng-end-to-end", *FOUR_ATTEMPTS],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    [cell] = [json.loads(line) for line in run.stdout.splitlines() if '"type":"cell"' in line]
    assert [a["result"] for a in cell["attempts"]] == ["pass"] * 4, cell["stderr"]
    assert cell["evidence"]["trace_events_before_dlclose"] == 1
    assert cell["evidence"]["trace_events_after_reopen"] == 1
