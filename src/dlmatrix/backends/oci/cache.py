"""Images kept between runs (`dlmatrix cache export DIR` / `import DIR`): the images a run used, or
those today's inputs produce, with the bases their tags derive from, saved into DIR/images.tar with
a manifest of their references and ids. An image's tag derives from its inputs and its base's id,
and `docker save`/`docker load` keep ids, so on a fresh engine that imported them a run finds every
unchanged image by its tag and builds nothing; a changed input makes a new tag, built as ever.

The source stages' compiler caches go along (compiler_cache.py), so that an image whose inputs
changed compiles from them. BuildKit's own stage cache stays behind: the docker driver exports no
cache but inline, and a registry-free machine has nowhere to put one."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from dlmatrix import __version__
from dlmatrix.backends.oci.bases import BaseProvider, build_machine, local_tag
from dlmatrix.backends.oci.compiler_cache import export_compiler_caches, import_compiler_caches, mount_ids
from dlmatrix.backends.oci.dockerfiles import uses_build_machine
from dlmatrix.backends.oci.engine import Engine
from dlmatrix.backends.oci.failures import last_line
from dlmatrix.backends.oci.prune import REPOSITORY, prune_plan
from dlmatrix.errors import DlmatrixError
from dlmatrix.model.catalog import Matrix

MANIFEST = "manifest.json"
ARCHIVE = "images.tar"
FORMAT = 1  # of the manifest: a reader refuses another
BASE_LABEL = "org.dlmatrix.base"  # an image's base's id (images.image_labels)
SAVE_TIMEOUT_S = 3600  # a whole matrix is several gigabytes
FULL_HINT = "check the free space of the cache directory's file system"


@dataclass(frozen=True)
class Kept:
    """One image in the cache: its reference, its id, and whether it is a base or a built image."""

    ref: str
    image_id: str
    kind: str  # image | base


@dataclass(frozen=True)
class CompilerCaches:
    """The cache mounts to carry, and a base of the engine's own architecture whose tar moves them."""

    ids: tuple[str, ...]
    base: str


@dataclass(frozen=True)
class Exported:
    key: str  # identifies the set: an unchanged set has the same key (actions/cache saves it once)
    kept: tuple[Kept, ...]
    changed: bool  # False: DIR already held this set, nothing was written
    bytes: int
    seconds: float
    compiler_bytes: int = 0


@dataclass(frozen=True)
class Imported:
    kept: tuple[Kept, ...]
    missing: tuple[str, ...]  # references the archive did not give back with their id
    bytes: int
    seconds: float
    compiler_caches: int = 0  # cache mounts filled


def cache_key(kept: Sequence[Kept]) -> str:
    """The set's identity: its references and ids, in any order."""
    lines = sorted(f"{k.image_id} {k.ref}" for k in kept)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def image_name(ref: str) -> str:
    """dlmatrix/debian-bookworm-glibc:0123 -> debian-bookworm-glibc."""
    return ref.removeprefix("localhost/").removeprefix(REPOSITORY).partition(":")[0]


def run_images(results: Path) -> list[str]:
    """The image references a run used, as its results.json records them (run.images)."""
    try:
        document = json.loads(results.read_text())
        images: dict[str, str] = document["run"].get("images", {})
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise DlmatrixError(
            f"cannot read the images of the run from {results}: {error}",
            "name the results.json a `dlmatrix run --backend docker` wrote (--results)",
        ) from None
    return list(images.values())


def current_images(matrix: Matrix, engine: Engine) -> list[str]:
    """The images here that today's inputs produce (those `dlmatrix prune` keeps)."""
    return prune_plan(matrix, engine).kept


def choose(
    matrix: Matrix,
    engine: Engine,
    images: Sequence[str],
    wanted: Callable[[str], bool],
    bases_only: bool,
) -> list[Kept]:
    """What to keep: the wanted images present here (unless bases_only) and the bases of the
    matrix's wanted images that are present, the bases' ids among those the images name when any
    image is kept (a base replaced since is no input of them)."""
    refs = [ref for ref in images if wanted(image_name(ref))]
    built = [Kept(ref, image_id, "image") for ref in refs if (image_id := engine.image_id(ref))]
    named = {base_of(engine, k.ref) for k in built}
    ran = {image_name(k.ref) for k in built}
    provider = BaseProvider.looking(engine)
    bases: dict[str, Kept] = {}
    for image in (i for i in matrix.images if wanted(i.name)):
        base = provider.present(image)
        if base and (not built or base.image_id in named):
            bases[base.ref] = Kept(base.ref, base.image_id, "base")
        # the build machine's base of its cross-built or bootstrap stages: an input of its tag too
        # (no label names it)
        used = uses_build_machine(matrix, image) and (not built or image.name in ran)  # of those kept
        build_base = provider.present(build_machine(image)) if used else None
        if build_base and build_base.ref != (base.ref if base else None):  # a native image's is its own
            bases[build_base.ref] = Kept(build_base.ref, build_base.image_id, "base")
    return [*([] if bases_only else built), *bases.values()]


def base_of(engine: Engine, ref: str) -> str:
    found = engine.listing(
        ["image", "inspect", "--format", f'{{{{index .Config.Labels "{BASE_LABEL}"}}}}', ref]
    )
    return found[0].strip() if found else ""


def read_manifest(directory: Path) -> dict[str, Any] | None:
    path = directory / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
    except ValueError as error:
        raise DlmatrixError(
            f"{path} is not a dlmatrix cache manifest: {error}", f"remove {directory} and export again"
        ) from None
    if manifest.get("format") != FORMAT:
        raise DlmatrixError(
            f"{path} has format {manifest.get('format')!r}; this dlmatrix reads format {FORMAT}",
            f"remove {directory} and export it again with dlmatrix {__version__}",
        )
    return manifest


def engine_call(engine: Engine, args: Sequence[str], doing: str, fix: str) -> None:
    """One long engine command (save, load): its failure named with the engine's last word."""
    try:
        result = engine.children.run([*engine.command, *args], timeout=SAVE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise DlmatrixError(f"{doing} took more than {SAVE_TIMEOUT_S} s", fix) from None
    if result.returncode != 0:
        engine.check(result.stderr, doing)
        raise DlmatrixError(f"{doing} failed: {last_line(result.stderr)}", fix)


def compiler_caches(matrix: Matrix, engine: Engine, kept: Sequence[Kept]) -> CompilerCaches | None:
    """The compiler caches of the kept images' source stages, with a kept base of the engine's own
    architecture to move them; None without BuildKit, source stages or such a base."""
    names = {image_name(k.ref) for k in kept if k.kind == "image"}
    images = [image for image in matrix.images if image.name in names]
    native = {ref for i in matrix.images if not i.arch for ref in (local_tag(i), i.base_ref)}
    base = next((k.ref for k in kept if k.kind == "base" and k.ref in native), None)
    ids = tuple(mount_ids(matrix, images)) if engine.buildkit else ()
    return CompilerCaches(ids, base) if ids and base else None


def export_cache(
    engine: Engine, kept: Sequence[Kept], directory: Path, compiler: CompilerCaches | None = None
) -> Exported:
    """Saves kept into directory (images.tar, manifest.json, and the compiler caches in ccache/)
    unless it already holds the same set."""
    if not kept:
        raise DlmatrixError(
            "no image to export: none of the selected images or bases is on this engine",
            "run `dlmatrix run` (or `dlmatrix bases`) first, or widen --image",
        )
    key = cache_key(kept)
    archive = directory / ARCHIVE
    previous = read_manifest(directory)
    if previous and previous.get("key") == key and archive.is_file():
        return Exported(key, tuple(kept), False, archive.stat().st_size, 0.0)
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / (ARCHIVE + ".partial")
    started = time.monotonic()
    refs = [k.ref for k in kept]
    engine_call(engine, ["save", "--output", str(partial), *refs], "saving the images", FULL_HINT)
    partial.replace(archive)
    carried = export_compiler_caches(engine, compiler.ids, compiler.base, directory) if compiler else 0
    manifest = {
        "format": FORMAT,
        "dlmatrix": __version__,
        "engine": engine.describe(),
        "key": key,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "kept": [asdict(k) for k in kept],
        "compiler_caches": asdict(compiler) if compiler else None,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    size = archive.stat().st_size
    return Exported(key, tuple(kept), True, size, time.monotonic() - started, carried)


def import_cache(engine: Engine, directory: Path) -> Imported:
    """Loads directory's images into engine and checks each reference came back with its id."""
    manifest = read_manifest(directory)
    archive = directory / ARCHIVE
    if manifest is None or not archive.is_file():
        raise DlmatrixError(
            f"{directory} holds no dlmatrix cache ({MANIFEST} and {ARCHIVE})",
            "export one first: `dlmatrix cache export DIR` after a run",
        )
    kept = tuple(Kept(**entry) for entry in manifest["kept"])
    started = time.monotonic()
    load = ["load", "--quiet", "--input", str(archive)]
    engine_call(engine, load, f"loading {archive}", "export the cache again (the archive may be truncated)")
    missing = tuple(k.ref for k in kept if engine.image_id(k.ref) != k.image_id)
    carried = manifest.get("compiler_caches")
    filled = 0  # none without BuildKit, or without the base that moves them
    if carried and engine.buildkit and carried["base"] not in missing:
        import_compiler_caches(engine, carried["ids"], carried["base"], directory)
        filled = len(carried["ids"])
    return Imported(kept, missing, archive.stat().st_size, time.monotonic() - started, filled)
