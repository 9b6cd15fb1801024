"""A runtime plug-in built from source in the images: the fixture library (tests/fixtures), built
in a stage of its own with each image's compiler (gcc for glibc, musl-gcc for musl), crashes after
dlclose() on glibc and survives on musl; the stage is keyed by the library's tree, so an edit of
the provider leaves it cached and an edit of the library rebuilds it, where the compiler cache (a
BuildKit cache mount) recompiles only the edited file, and then only the plug-in's own layer after
the suite's.

Where no engine answers, or the CLI has no BuildKit, it fails in CI and skips loudly elsewhere
(conftest's `missing`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from dlmatrix.backends.oci.engine import Engine
from dlmatrix.cli.bench_source import stage_builds
from dlmatrix.cli.main import main
from dlmatrix.model.cells import Cell
from dlmatrix.results.io import read_results
from tests.conftest import REPO, need

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


def step_cached(log: str, step: str) -> bool:
    """Whether BuildKit took the build step whose line holds step from its cache (`#N CACHED`)."""
    found = re.search(r"^(#\d+) \[[^]]*\] .*" + re.escape(step), log, re.M)
    assert found, f"the build log shows no step {step!r}"
    return re.search(rf"^{found.group(1)} CACHED$", log, re.M) is not None


def compiled(log: str) -> tuple[int | None, int | None]:
    """What the source stage compiled, and what its compiler cache served (as the bench reads it)."""
    [counts] = stage_builds({MUSL: log}, "detached")
    assert counts != (None, None), "the source stage's build has no compiler cache"
    return counts


@pytest.fixture(scope="module")
def top(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    need("buildkit", engine.buildkit, "the docker CLI builds without BuildKit", "bash .ci/buildx")
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
    assert step_cached(log, STAGE_RUN)
    # a definition, never seen before: a comment would be the same preprocessed input
    library = top / "detached-lib" / "beat.c"
    library.write_text(library.read_text() + f"const int edited_{uuid.uuid4().hex} = 1;\n")
    cells, log = run(top, "library-edited", MUSL)
    assert not step_cached(log, STAGE_RUN)
    assert compiled(log) == (1, 1)  # beat.c compiled again, detached.c from the compiler cache
    assert step_cached(log, 'detached" sh /usr/src/dlmatrix/build.sh')  # the suite's layer (DLM_LATER)
    assert not step_cached(log, "DLM_ONLY=detached sh /usr/src/dlmatrix/build.sh")  # the plug-in's
    assert step_cached(log, "DLM_ONLY=lttng-ust-2.13.9 sh /usr/src/dlmatrix/build.sh")  # no other's
    assert step_cached(log, "COPY upstream/_plugins/lttng-ust-2.13.9/ /usr/src/plugins/lttng-ust-2.13.9/")
    assert {c.result for c in cells if c.scenario == "app-dlopen-dlclose"} == {"pass"}


def derived_plugin(top: Path, edit: str) -> Path:
    """A second plug-in of the fixture library, derived from `detached` (build.derived-from): the
    same tree and build, plus a patch of beat.c (one definition that no earlier run compiled)."""
    directory = top / "detached-patched"
    shutil.rmtree(directory, ignore_errors=True)
    shutil.copytree(top / "detached-plugin", directory)
    text = (directory / "runtime.yaml").read_text().replace("name: detached\n", "name: detached-patched\n")
    text = text.replace("../detached-lib", str(top / "detached-lib"))
    text = text.replace("  system: make\n", "  system: make\n  derived-from: detached\n")
    (directory / "runtime.yaml").write_text(text.replace("  path:", "  patches: [beat.patch]\n  path:"))
    lines = (top / "detached-lib" / "beat.c").read_text().splitlines()
    hunk = f"@@ -{len(lines)},1 +{len(lines)},2 @@\n {lines[-1]}\n+{edit}\n"
    (directory / "beat.patch").write_text(f"--- a/beat.c\n+++ b/beat.c\n{hunk}")
    return directory


def test_a_derived_stage_recompiles_only_what_its_patch_touches(top: Path) -> None:
    symbol = f"derived_{uuid.uuid4().hex}"
    derived = derived_plugin(top, f"const int {symbol} = 1;")
    base = top / "detached-plugin"
    text = (base / "runtime.yaml").read_text().replace("../detached-lib", str(top / "detached-lib"))
    (base / "runtime.yaml").write_text(text)
    out, build = top / "out-derived", top / "build-derived"
    code = main(
        ["run", "--backend", "docker", "--image", MUSL, "--runtimes", str(base), "--runtimes", str(derived),
         "--runtime", "detached-patched", "--out", str(out), "--keep-build", str(build)]
    )  # fmt: skip
    results = read_results(out / "results.json")
    assert code == 0, [(c.scenario, c.result, c.expected, c.stderr) for c in results.cells]
    log = (build / "logs" / f"build-{MUSL}.log").read_text()
    # the base's stage kept its tree (built now or cached), the derived stage started from it
    assert (
        "FROM source-detached AS source-detached-patched"
        in (build / "context" / MUSL / "Dockerfile").read_text()
    )
    assert not step_cached(log, "sh /usr/src/plugins/detached-patched/build-source.sh")
    [counts] = stage_builds({MUSL: log}, "detached-patched")
    assert counts == (1, 0)  # beat.c alone: detached.o came with the base's tree, not even from ccache
    tag = results.run["images"][MUSL]
    rt = "/opt/dlmatrix/rt"
    listed = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "sh", tag, "-c",
         f"sha256sum {rt}/detached/lib/libdetached.so.1 {rt}/detached-patched/lib/libdetached.so.1"
         f" && grep -c {symbol} {rt}/detached-patched/lib/libdetached.so.1"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    sums = [line.split()[0] for line in listed.stdout.splitlines()[:2]]
    assert sums[0] != sums[1]  # the patched library differs from its base's
    assert {c.verdict for c in results.cells} == {"ok"}
