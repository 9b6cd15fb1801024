"""The compiler caches of the source stages (BuildKit cache mounts, dlmatrix-ccache-*) carried in and
out of `dlmatrix cache`: an image whose inputs changed is rebuilt on a fresh engine all the same,
and its compiles then come from the cache. A cache mount lives inside the builder, so it goes out
through a small build that tars each mount into a local output directory, and comes back through
one that untars them into the same mounts. Engines without BuildKit (docker's classic builder)
have no cache mounts: nothing to carry."""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from dlmatrix.backends.oci.dockerfiles import render
from dlmatrix.backends.oci.engine import Engine
from dlmatrix.errors import DlmatrixError
from dlmatrix.model.catalog import Image, Matrix

MOUNT_ID = re.compile(r"--mount=type=cache,id=(dlmatrix-ccache-[\w.-]+)")
SUBDIR = "ccache"  # in the cache directory: one ID.tar per cache mount
TIMEOUT_S = 900

PACK = """ARG BASE_IMAGE
FROM ${{BASE_IMAGE}} AS pack
ARG NONCE
RUN {mounts} mkdir -p /out && for id in {ids}; do tar -C /caches/$id -cf /out/$id.tar .; done # $NONCE
FROM scratch
COPY --from=pack /out/ /
"""

UNPACK = """ARG BASE_IMAGE
FROM ${{BASE_IMAGE}} AS unpack
ARG NONCE
COPY {subdir}/ /in/
RUN {mounts} for id in {ids}; do tar -C /caches/$id -xf /in/$id.tar; done && echo "$NONCE" > /done
FROM scratch
COPY --from=unpack /done /
"""


def mount_ids(matrix: Matrix, images: Sequence[Image]) -> list[str]:
    """The compiler caches the images' source stages mount (as their Dockerfiles for BuildKit say)."""
    return sorted({found for image in images for found in MOUNT_ID.findall(render(matrix, image, True))})


def _mounts(ids: Sequence[str]) -> str:
    return " ".join(f"--mount=type=cache,id={i},target=/caches/{i},sharing=locked" for i in ids)


def _build(engine: Engine, dockerfile: str, context: Path, base: str, output: Path, log: Path) -> None:
    (context / "Dockerfile").write_text(dockerfile)
    built = engine.build(
        "dlmatrix-compiler-cache:transfer", context, {"BASE_IMAGE": base, "NONCE": str(time.time_ns())},
        log, TIMEOUT_S, output=output,
    )  # fmt: skip
    if not built:
        raise DlmatrixError(
            f"moving the compiler caches failed: {log.read_text(errors='replace').strip()[-300:]}",
            "export again with --no-compiler-cache to keep the images alone",
        )


def export_compiler_caches(engine: Engine, ids: Sequence[str], base: str, directory: Path) -> int:
    """Tars each cache mount into directory/ccache/ID.tar; the bytes written."""
    target = directory / SUBDIR
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="dlmatrix-ccache-") as scratch:
        context = Path(scratch)
        dockerfile = PACK.format(mounts=_mounts(ids), ids=" ".join(ids))
        _build(engine, dockerfile, context, base, target, context / "build.log")
    return sum(path.stat().st_size for path in target.glob("*.tar"))


def import_compiler_caches(engine: Engine, ids: Sequence[str], base: str, directory: Path) -> None:
    """Untars directory/ccache/ID.tar into each cache mount."""
    with tempfile.TemporaryDirectory(prefix="dlmatrix-ccache-") as scratch:
        context = Path(scratch)
        shutil.copytree(directory / SUBDIR, context / SUBDIR)
        dockerfile = UNPACK.format(mounts=_mounts(ids), ids=" ".join(ids), subdir=SUBDIR)
        _build(engine, dockerfile, context, base, context / "output", context / "build.log")
