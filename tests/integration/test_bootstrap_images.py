"""The release's bootstrap stages on real trees and a real engine: the bookworm glibc and musl
images' bootstrap-lttng-ust-2.13.9 stages are one image (the engine bootstrapped it once for both,
and the six other bookworm images render it alike: tests/unit/test_bootstrap.py), and what it made
is what the image's own toolchain makes of the same tree, file for file (autom4te's cache aside);
the image's build then made no configure of its own.

Where no engine answers, or the snapshots are not there, it fails in CI and skips loudly elsewhere
(conftest's `missing`)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from dlmatrix.backends.oci.backend import ContainerBackend
from dlmatrix.backends.oci.bases import build_machine
from dlmatrix.backends.oci.engine import Engine
from dlmatrix.backends.oci.tokens import CellBudget
from dlmatrix.config.load import load_matrix
from dlmatrix.model.selector import Patterns, Selector
from dlmatrix.runtimes.build import prepare_sources
from dlmatrix.runtimes.sources import SourceDirs, snapshots
from tests.conftest import Recorder, missing

pytestmark = pytest.mark.docker
IMAGES = ["debian-bookworm-glibc", "debian-bookworm-musl"]
RELEASE = "lttng-ust-2.13.9"
# every file of the bootstrapped tree and its digest, autom4te's cache aside (its requests name
# the directory it ran in)
LISTING = "cd {tree} && find . -type f ! -path './autom4te.cache/*' | LC_ALL=C sort | xargs sha256sum"


class Contexts:
    """The two images built with RELEASE selected alone, and their build contexts."""

    def __init__(self, engine: Engine, workdir: Path) -> None:
        self.engine, self.matrix = engine, load_matrix()
        selector = Selector.of(image=",".join(IMAGES), runtime=RELEASE)
        self.backend = ContainerBackend(self.matrix, engine, workdir, selector, Recorder(), CellBudget(2))
        # as a run stages them before any build (else each stage says NOT-SELECTED)
        self.backend.staged = prepare_sources(
            self.matrix, selector, SourceDirs.from_option(), workdir / "sources"
        )
        self.logs: dict[str, str] = {}
        for name in IMAGES:
            image = self.matrix.image(name)
            tag = self.backend.build(image, self.backend.provide_base(image, engine), engine)
            if tag is not None and not self.context(name).is_dir():  # up to date: built again for its context
                engine.listing(["rmi", tag])
                tag = self.backend.build(image, self.backend.provide_base(image, engine), engine)
            assert tag is not None, self.backend.build_log(image).read_text()[-3000:]
            self.logs[name] = self.backend.build_log(image).read_text()

    def context(self, name: str) -> Path:
        return self.backend.workdir / "context" / name

    def stage(self, name: str, target: str) -> str:
        """The image id of one stage of the image's Dockerfile, built from its context (cached)."""
        image = self.matrix.image(name)
        args = ["--build-arg", f"BASE_IMAGE={self.backend.provide_base(image, self.engine).ref}"]
        args += [
            "--build-arg",
            f"BUILD_BASE_IMAGE={self.backend.provide_base(build_machine(image), self.engine).ref}",
        ]
        done = subprocess.run(
            [*self.engine.command, "build", "-q", "--target", target, *args, str(self.context(name))],
            capture_output=True, text=True, timeout=900, env={**os.environ, "DOCKER_BUILDKIT": "1"},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout.strip()

    def listing(
        self, image_id: str, tree: str, prepare: str = "true", mount: Path | None = None
    ) -> list[str]:
        """LISTING of tree in a container of image_id, after prepare; mount: at /staged."""
        volume = ["-v", f"{mount}:/staged:ro"] if mount else []
        script = f"{prepare} && {LISTING.format(tree=tree)}"
        done = subprocess.run(
            [*self.engine.command, "run", "--rm", "--entrypoint", "sh", *volume, image_id, "-c", script],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout.splitlines()


@pytest.fixture(scope="module")
def contexts(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Contexts:
    available = SourceDirs.from_option()
    if any(available.find(s.file, s.sha256) is None for s in snapshots(load_matrix(), Patterns.of(RELEASE))):
        missing(
            "sources", f"the {RELEASE} snapshot or userspace-rcu's is not there", "run `dlmatrix sources`"
        )
    return Contexts(engine, tmp_path_factory.mktemp("bootstrap"))


def test_the_release_s_images_share_one_bootstrap_and_their_builds_make_no_configure(
    contexts: Contexts,
) -> None:
    ids = {name: contexts.stage(name, f"bootstrap-{RELEASE}") for name in IMAGES}
    assert len(set(ids.values())) == 1, ids
    [shared] = set(ids.values())
    tree = f"/usr/src/plugins/{RELEASE}/bootstrapped"
    made = subprocess.run(
        [*contexts.engine.command, "run", "--rm", shared, "test", "-x", f"{tree}/configure"]
    )
    assert made.returncode == 0, f"the shared stage made no {tree}/configure"
    for name, log in contexts.logs.items():
        assert f"[bootstrap-{RELEASE} " in log, name  # its build went through the stage (or its cache)
    for name in IMAGES:
        built = contexts.stage(name, f"source-{RELEASE}")
        said = subprocess.run(
            [*contexts.engine.command, "run", "--rm", "--entrypoint", "cat", built,
             f"/opt/dlmatrix-built/{RELEASE}/build.log"],
            capture_output=True, text=True, timeout=120,
        ).stdout  # fmt: skip
        assert "configure made by the release's bootstrap stage" in said, said[-2000:]
        # make found configure and every Makefile.in newer than their inputs: no autotools ran again
        # (a rule that runs them again says `/bin/bash '/TREE/config/missing' aclocal-1.16 -I m4`)
        again = re.search(r"/missing'? (aclocal|automake|autoconf|autoheader)|config\.status --recheck", said)
        assert again is None, said[-2000:]


@pytest.mark.parametrize("name", IMAGES)
def test_the_shared_bootstrap_makes_what_the_image_s_own_toolchain_makes(
    contexts: Contexts, name: str
) -> None:
    """(userspace-rcu, the musl images' dependency, has no such stage: in one full test run its
    Makefile.in from the shared stage differed from the image's own, docs/runtimes.md)"""
    plugin = RELEASE
    shared = contexts.listing(
        contexts.stage(name, f"bootstrap-{plugin}"), f"/usr/src/plugins/{plugin}/bootstrapped"
    )
    staged = contexts.context(name) / "upstream" / "_plugins" / plugin
    bootstrap = "cp -R /staged/source /tmp/tree && cd /tmp/tree && sh ./bootstrap >/dev/null 2>&1"
    own = contexts.listing(contexts.stage(name, "toolchain"), "/tmp/tree", bootstrap, staged)
    assert any(line.endswith(" ./configure") for line in shared), shared[:20]
    assert shared == own
