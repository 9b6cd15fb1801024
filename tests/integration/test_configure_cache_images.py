"""build.configure-cache-from on real trees: in the debian-bookworm-glibc image's toolchain, each
older LTTng-UST release configured from 2.13.9's results decides exactly what it decides afresh
(config.h and every substitution of config.status), with glibc's gcc and with musl-gcc against
userspace-rcu built for musl. A seed that answered one check differently would show here.

Where no engine answers, or the snapshots are not there, it fails in CI and skips loudly elsewhere
(conftest's `missing`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from dlmatrix.backends.oci.backend import ContainerBackend
from dlmatrix.backends.oci.engine import Engine
from dlmatrix.backends.oci.tokens import CellBudget
from dlmatrix.config.load import load_matrix
from dlmatrix.model.selector import Selector
from dlmatrix.runtimes.build import stage_all
from dlmatrix.runtimes.sources import SourceDirs, snapshots
from tests.conftest import REPO, Recorder, missing

pytestmark = pytest.mark.docker
IMAGE = "debian-bookworm-glibc"
SEED = "lttng-ust-2.13.9"
OLDER = ["lttng-ust-2.10.7", "lttng-ust-2.11.5", "lttng-ust-2.12.10"]
COMPARE = REPO / "tests" / "fixtures" / "configure-cache" / "compare.sh"
# userspace-rcu for musl, as the musl images' dependency stage builds it (build-source.sh); no C++
# compiler, as in the musl images' stages (ENV CXX=false)
MUSL_URCU = (
    "CC=musl-gcc sh /staged/build-source.sh /staged/userspace-rcu /opt/urcu >/dev/null"
    " && export CC=musl-gcc CXX=false CPPFLAGS_DEP=-I/opt/urcu/include"
    " LDFLAGS_DEP='-L/opt/urcu/lib -Wl,-rpath-link,/opt/urcu/lib' PKG_CONFIG_PATH=/opt/urcu/lib/pkgconfig"
)


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    matrix = load_matrix()
    wanted = [r for r in matrix.source_runtimes() if r.name in [SEED, *OLDER]]
    if any(
        SourceDirs.from_option().find(s.file, s.sha256) is None for s in snapshots(matrix, lambda name: True)
    ):
        missing("sources", "the LTTng-UST snapshots are not all there", "run `dlmatrix sources`")
    directory = tmp_path_factory.mktemp("staged")
    found = stage_all(matrix, wanted, tmp_path_factory.mktemp("sources"))
    (directory / "build-source.sh").write_bytes((REPO / "src/c/source/build-source.sh").read_bytes())
    for name, path in found.items():  # copies: a tree kept in the user cache is not mounted
        shutil.copytree(path, directory / name, symlinks=True)
    return directory


@pytest.fixture(scope="module")
def toolchain(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An image of the toolchain layer: debian-bookworm-glibc with a model runtime alone (nothing
    built from source)."""
    matrix = load_matrix()
    selector = Selector.of(image=IMAGE, runtime="pinned")
    backend = ContainerBackend(
        matrix, engine, tmp_path_factory.mktemp("build"), selector, Recorder(), CellBudget(2)
    )
    image = matrix.image(IMAGE)
    tag = backend.build(image, backend.provide_base(image, engine), engine)
    assert tag is not None
    return tag


@pytest.mark.parametrize("libc", ["glibc", "musl"])
def test_older_releases_configure_from_the_newest_s_results_as_they_do_afresh(
    engine: Engine, staged: Path, toolchain: str, libc: str
) -> None:
    prepare = MUSL_URCU if libc == "musl" else "true"
    script = f"{prepare} && bash /compare.sh {SEED} {' '.join(OLDER)}"
    done = subprocess.run(
        [*engine.command, "run", "--rm", "--entrypoint", "sh", "-v", f"{staged}:/staged:ro",
         "-v", f"{COMPARE}:/compare.sh:ro", toolchain, "-c", script],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for release in OLDER:
        assert f"same: {release} (" in done.stdout, done.stdout[-3000:]
