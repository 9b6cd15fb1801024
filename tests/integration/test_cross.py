"""A cross-built LTTng-UST variant on the foreign arm64 images, glibc and musl, with a real engine:
built on the build machine with bookworm's aarch64 cross toolchain (for musl, with musl-dev's specs
file, and userspace-rcu cross-built first), copied into the arm64 image, checked there under
qemu-user, and its cell run there like any other (where it used to be left out, not run)."""

from __future__ import annotations

import re

import pytest

from dlmatrix.backends.oci.backend import ContainerBackend
from dlmatrix.backends.oci.engine import Engine
from dlmatrix.backends.oci.tokens import CellBudget
from dlmatrix.backends.platform import runs_here
from dlmatrix.config.load import load_matrix
from dlmatrix.model.cells import Cell
from dlmatrix.model.selector import Selector
from tests.conftest import Recorder
from tests.integration.test_docker import need_sources, sources  # noqa: F401 (sources: a fixture)

pytestmark = pytest.mark.docker
RUNTIME = "lttng-ust-2.13.9-nopin"
SCENARIO = "app-dlopen-dlclose"


def one_cell(engine: Engine, tmp_path, image: str) -> Cell:
    matrix = load_matrix()
    runs = runs_here(matrix, matrix.image(image))
    if runs.how == "unavailable":
        pytest.fail(f"{runs.why}: `bash .ci/setup` registers the qemu-user handlers")  # never a skip
    backend = ContainerBackend(
        matrix, engine, tmp_path, Selector.of(SCENARIO, RUNTIME, image), Recorder(), CellBudget(8)
    )
    [cell] = backend.run()
    assert (cell.image, cell.scenario, cell.runtime, cell.arch) == (image, SCENARIO, RUNTIME, "arm64")
    # it ran: not left out under emulation, not a build error, every attempt a real outcome
    assert cell.verdict not in ("skipped", "not-run"), (cell.verdict, cell.stderr)
    assert len(cell.attempts) >= 5 and all(a.result.startswith(("pass", "crash:")) for a in cell.attempts)
    assert cell.evidence["upstream_patches"] == "lttng-ust-v2.13.9-no-self-pin.patch"
    assert cell.evidence["runtime_version"] == "2.13.9"
    # the smoke check under qemu, in the image's stage: every library of the prefix is for this
    # machine (build.subdirs builds 2.13's liblttng-ust, -common and -tracepoint only), the runtime loads
    checked = re.fullmatch(
        r"(\d+) libraries for AArch64; liblttng-ust.so loaded under qemu", cell.evidence["cross_check"]
    )
    assert checked is not None and int(checked[1]) == 3, cell.evidence["cross_check"]
    # its providers and drivers were compiled on the build machine too, and each driver started
    # under qemu in the image's stage (dlm-driver, -linked, -tracepoints)
    assert cell.evidence["drivers_check"] == "3 drivers for AArch64 start under qemu"
    assert cell.evidence["drivers_built_by"] == cell.evidence["built_by"]
    # its wake's helper ran in the build machine's shell, natively, not in the image's under qemu
    assert cell.evidence["lttng_helpers"] == "the build machine's dash"
    return cell


def test_the_cross_built_variant_runs_under_qemu_and_says_how_it_was_built(engine: Engine, tmp_path, sources):  # noqa: F811
    need_sources(sources)
    cell = one_cell(engine, tmp_path, "debian-bookworm-glibc-arm64")
    assert cell.evidence["built_by"] == "cross aarch64-linux-gnu-gcc 12.2.0"  # bookworm's gcc, as the image's


def test_the_musl_image_cross_builds_it_with_musl_and_musl_never_unmaps_it(engine: Engine, tmp_path, sources):  # noqa: F811
    need_sources(sources)
    cell = one_cell(engine, tmp_path, "debian-bookworm-musl-arm64")
    # bookworm's cross gcc through the wrapper that gives it musl-dev:arm64's specs file; the image holds
    # musl's loader and no glibc at all, so the runtime and userspace-rcu loaded there are musl's
    assert cell.evidence["built_by"] == "cross aarch64-linux-musl-gcc 12.2.0"
    assert cell.libc.family == "musl"
    # without its self-pin it still passes on musl, for musl's reason: dlclose() never unmaps
    assert (cell.outcome, cell.expected, cell.verdict) == ("pass", "pass", "ok"), cell.stderr
    assert all(a.result == "pass" for a in cell.attempts)
    assert cell.evidence["mapped@after-close"] is True


def test_the_suite_models_and_package_plugins_are_compiled_on_the_build_machine_and_run_under_qemu(
    engine: Engine,
    tmp_path,
    sources,  # noqa: F811
):
    need_sources(sources)
    matrix = load_matrix()
    selector = Selector.of(
        "app-dlopen-dlclose", "unpinned,pinned,glib,onetbb,lttng-ust", "debian-bookworm-glibc-arm64"
    )
    backend = ContainerBackend(matrix, engine, tmp_path, selector, Recorder(), CellBudget(8))
    cells = {cell.runtime: cell for cell in backend.run()}
    # the seed's shape on glibc: the unpinned model crashes, the pinned one survives; GLib is
    # pinned by its own -z nodelete, oneTBB is unmapped under its workers
    outcomes = {name: (cell.verdict, cell.outcome) for name, cell in cells.items()}
    assert outcomes == {
        "unpinned": ("ok", "crash"),
        "pinned": ("ok", "pass"),
        "glib": ("ok", "pass"),
        "onetbb": ("ok", "crash"),
        "lttng-ust": ("ok", "pass"),
    }
    for name in ("unpinned", "pinned", "glib", "onetbb"):  # oneTBB's provider with the cross g++
        assert cells[name].evidence["drivers_built_by"] == "cross aarch64-linux-gnu-gcc 12.2.0"
        assert cells[name].evidence["drivers_check"] == "2 drivers for AArch64 start under qemu"
    # a plug-in's package: read on the build machine, the same version checked in the image
    assert cells["glib"].evidence["package"].startswith("libglib2.0-0 2.74.")
    # Debian's own LTTng-UST: compiled on the build machine too, against liblttng-ust-dev:arm64; the
    # image (which has no compiler) holds the same version, and its drivers start there
    own = cells["lttng-ust"].evidence
    assert own["drivers_built_by"] == "cross aarch64-linux-gnu-gcc 12.2.0"
    assert own["drivers_check"] == "3 drivers for AArch64 start under qemu"
    assert own["package"].startswith("liblttng-ust1 2.13."), own["package"]
    assert own["elf_file"].startswith("/usr/lib/aarch64-linux-gnu/liblttng-ust.so.1"), own["elf_file"]


@pytest.mark.parametrize(
    ("image", "machine", "consumerd"),
    [
        ("debian-bookworm-glibc-arm64", "AArch64", ""),
        # a 32-bit application: their 64-bit session daemon starts the image's own consumer daemon
        ("debian-bookworm-glibc-armhf", "ARM", "; the image's consumer daemon for its 32-bit applications"),
    ],
)
def test_the_build_machines_lttng_tools_serve_the_emulated_application_natively(
    engine: Engine,
    tmp_path,
    sources,  # noqa: F811
    image,
    machine,
    consumerd,
):
    need_sources(sources)
    matrix = load_matrix()
    selector = Selector.of("app-dlopen-dlclose,lttng-end-to-end", "lttng-ust", image)
    backend = ContainerBackend(matrix, engine, tmp_path, selector, Recorder(), CellBudget(8))
    cells = {cell.scenario: cell for cell in backend.run()}
    assert sorted(cells) == ["app-dlopen-dlclose", "lttng-end-to-end"]
    for cell in cells.values():
        assert (cell.verdict, cell.outcome) == ("ok", "pass"), (cell.scenario, cell.stderr)
        # the session daemon, the client and babeltrace2 ran on the build machine's own architecture
        # (not the image's), the same Debian lttng-tools as the image's, beside the application under qemu
        tools = cell.evidence["lttng_tools"]
        pattern = rf"the build machine's \((.+), lttng-tools (\S+){re.escape(consumerd)}\)"
        served = re.fullmatch(pattern, tools)
        assert served is not None and served[1] != machine, tools
        assert cell.evidence["sessiond"] == served[2].split("-")[0], (cell.evidence["sessiond"], tools)
        assert cell.evidence["registered"] is True
        # and the helpers that started them ran in its shell, not in the image's under qemu
        assert cell.evidence["lttng_helpers"] == "the build machine's dash"
    # the application's events crossed to the consumer daemon and were read back on the build
    # machine, from both phases
    traced = cells["lttng-end-to-end"].evidence
    assert traced["trace_events_before_dlclose"] > 0 and traced["trace_events_after_reopen"] > 0
