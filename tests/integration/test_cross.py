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
