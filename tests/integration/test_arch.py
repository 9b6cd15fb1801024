"""Other architectures with a real engine: bookworm on i386 (natively: the kernel's IA32
emulation) and an emulated architecture (qemu-user through binfmt_misc), glibc and musl, on a
subset of cells: the model's seed pair, Debian's LTTng-UST and one Debian library."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dlmatrix.backends.oci.backend import ContainerBackend
from dlmatrix.backends.oci.engine import Engine
from dlmatrix.backends.oci.tokens import CellBudget
from dlmatrix.backends.platform import runs_here
from dlmatrix.config.load import load_matrix
from dlmatrix.model.cells import Cell
from dlmatrix.model.libc import Libc
from dlmatrix.model.selector import Selector
from tests.conftest import Recorder

pytestmark = pytest.mark.docker
NATIVE = ("debian-bookworm-glibc-i386", "debian-bookworm-musl-i386")
EMULATED = ("debian-bookworm-glibc-arm64",)  # the one CI builds under qemu-user (about 9 min cold)
SCENARIOS = "app-dlopen-dlclose,app-linked"
RUNTIMES = "unpinned,pinned,lttng-ust,libgomp"


class Ran:
    def __init__(self, engine: Engine, workdir: Path) -> None:
        self.matrix = load_matrix()
        self.progress = Recorder()
        selection = Selector.of(SCENARIOS, RUNTIMES, ",".join(NATIVE + EMULATED))
        self.backend = ContainerBackend(self.matrix, engine, workdir, selection, self.progress, CellBudget(8))
        self.cells = self.backend.run()

    def cell(self, image: str, scenario: str, runtime: str) -> Cell:
        [found] = [c for c in self.cells if (c.image, c.scenario, c.runtime) == (image, scenario, runtime)]
        return found


@pytest.fixture(scope="module")
def ran(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Ran:
    matrix = load_matrix()
    for name in EMULATED:
        runs = runs_here(matrix, matrix.image(name))
        if runs.how == "unavailable":
            pytest.fail(f"{runs.why}: `bash .ci/setup` registers the qemu-user handlers")  # never a skip
    return Ran(engine, tmp_path_factory.mktemp("arch"))


def test_every_cell_says_the_architecture_its_suite_was_compiled_for(ran):
    assert len(ran.cells) == 4 * 2 * 3  # 3 images x 2 scenarios x 4 runtimes
    for cell in ran.cells:
        assert cell.arch == ran.matrix.image(cell.image).arch, cell
    assert {c.verdict for c in ran.cells} <= {"ok", "skipped"}, [c for c in ran.cells if c.verdict != "ok"]


def test_i386_crashes_without_the_pin_on_glibc_and_survives_on_musl(ran):
    glibc, musl = NATIVE
    unpinned = ran.cell(glibc, "app-dlopen-dlclose", "unpinned")
    assert unpinned.result == "crash:SIGSEGV" and unpinned.libc == Libc("glibc", "2.36")
    assert "libdlmrt.so.1" in next(s for s in unpinned.loader["steps"] if s["step"] == "close:a")["fini"]
    assert ran.cell(glibc, "app-dlopen-dlclose", "pinned").result == "pass"
    on_musl = ran.cell(musl, "app-dlopen-dlclose", "unpinned")
    assert on_musl.result == "pass" and on_musl.evidence["mapped@after-close"] is True
    assert on_musl.libc == Libc("musl", "1.2.3")


def test_debian_packages_run_on_i386_glibc_and_are_skipped_on_musl(ran):
    glibc, musl = NATIVE
    seed = ran.cell(glibc, "app-dlopen-dlclose", "lttng-ust")
    assert seed.result == "pass" and seed.evidence["runtime_version"] == "2.13.5"
    gomp = ran.cell(glibc, "app-dlopen-dlclose", "libgomp")
    assert gomp.result == "crash:SIGSEGV" and gomp.evidence["package"].startswith("libgomp1 12.")
    assert ran.cell(musl, "app-dlopen-dlclose", "libgomp").result == "skipped"


def test_the_emulated_architecture_runs_the_same_cells_under_qemu(ran, engine):
    [image] = EMULATED
    unpinned = ran.cell(image, "app-dlopen-dlclose", "unpinned")
    assert unpinned.arch == "arm64" and unpinned.outcome == "crash" and unpinned.verdict == "ok"
    assert ran.cell(image, "app-dlopen-dlclose", "pinned").result == "pass"
    lttng = ran.cell(image, "app-dlopen-dlclose", "lttng-ust")
    assert lttng.result == "pass" and lttng.evidence["runtime_version"] == "2.13.5"
    # by hand: the image says its architecture, and scales its timeouts when told to
    tag = ran.backend.tags[image]
    shown = subprocess.run(
        [
            *engine.command,
            "run",
            "--rm",
            tag,
            "--timeout-factor",
            "10",
            "--scenario",
            "app-linked",
            "--runtime",
            "pinned",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert "glibc 2.36 on arm64" in shown.stdout and "(timeouts scaled for emulation)" in shown.stdout
