"""A runtime plug-in built from source in the images: the fixture library (tests/fixtures), built
in a stage of its own with each image's compiler (gcc for glibc, musl-gcc for musl), crashes after
dlclose() on glibc and survives on musl; the stage is keyed by the library's tree, so an edit of
the provider leaves it cached and an edit of the library rebuilds it.

Skipped, loudly (see conftest's summary), only where no engine answers.
"""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

import pytest

from dlmatrix.backends.oci.engine import Engine
from dlmatrix.cli.main import main
from dlmatrix.model.cells import Cell
from dlmatrix.results.io import read_results
from tests.conftest import REPO

pytestmark = pytest.mark.docker
FIXTURE = REPO / "tests" / "fixtures"
GLIBC, MUSL = "debian-bookworm-glibc", "debian-bookworm-musl"
STAGE_RUN = "sh /usr/src/plugins/detached/build-source.sh"


def run(top: Path, name: str, images: str) -> tuple[list[Cell], str]:
    """The plug-in's cells on images, and the musl image's build log ('' when it was up to date)."""
    out, build = top / f"out-{name}", top / f"build-{name}"
    code = main(
        ["run", "--backend", "docker", "--image", images, "--runtimes", str(top / "detached-plugin"),
         "--runtime", "detached", "--out", str(out), "--keep-build", str(build)]
    )  # fmt: skip
    cells = read_results(out / "results.json").cells
    assert code == 0, [(c.image, c.scenario, c.result, c.expected, c.stderr) for c in cells]
    log = build / "logs" / f"build-{MUSL}.log"
    return cells, log.read_text() if log.is_file() else ""


def source_stage_cached(log: str) -> bool:
    """Whether the engine took the source stage's build from its cache (the classic builder's log)."""
    found = re.search(re.escape(STAGE_RUN) + r".*?\n ---> (Using cache|Running in)", log, re.S)
    assert found, "the build log shows no source stage"
    return found.group(1) == "Using cache"


@pytest.fixture(scope="module")
def top(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    top = tmp_path_factory.mktemp("source-images")
    for name in ("detached-lib", "detached-plugin"):
        shutil.copytree(FIXTURE / name, top / name)
    return top


def test_the_library_built_in_each_image_crashes_on_glibc_and_survives_on_musl(top: Path) -> None:
    cells, _ = run(top, "first", f"{GLIBC},{MUSL}")
    outcome = {(c.image, c.scenario): c for c in cells}
    assert outcome[(GLIBC, "app-dlopen-dlclose")].result == "crash:SIGSEGV"
    assert outcome[(MUSL, "app-dlopen-dlclose")].result == "pass"
    assert outcome[(MUSL, "app-dlopen-dlclose")].evidence["mapped@after-close"] is True
    assert {c.verdict for c in cells} == {"ok"} and len(cells) == 4
    for image in (GLIBC, MUSL):
        assert outcome[(image, "app-linked")].evidence["source"] == "path:detached-lib"
        assert outcome[(image, "app-linked")].evidence["package"] == "none (built here)"


def test_the_source_stage_is_cached_by_the_library_tree(top: Path) -> None:
    provider = top / "detached-plugin" / "provider.c"
    # edits never made before: the engine's cache keeps what earlier runs of this test built
    provider.write_text(provider.read_text() + f"/* an edit of the provider: {uuid.uuid4().hex} */\n")
    _, log = run(top, "provider-edited", MUSL)
    assert source_stage_cached(log)
    library = top / "detached-lib" / "detached.c"
    library.write_text(library.read_text() + f"/* an edit of the library: {uuid.uuid4().hex} */\n")
    cells, log = run(top, "library-edited", MUSL)
    assert not source_stage_cached(log)
    assert re.search(r"lttng-ust-2\.13\.9/ /usr/src/plugins/lttng-ust-2\.13\.9/\n ---> Using cache", log)
    assert {c.result for c in cells if c.scenario == "app-dlopen-dlclose"} == {"pass"}
