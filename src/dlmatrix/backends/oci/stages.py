"""The upstream/ part of an image's build context: upstream/_plugins/NAME/ per runtime built from
source (plug-ins and catalog entries such as LTTng-UST alike) and per dependency they name that
applies to the image's C library: the staged tree and build-source.sh, which a stage of its own
builds (`_` starts no runtime's name), or a marker."""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from dlmatrix.files import sha256_of
from dlmatrix.model.catalog import Image, Matrix
from dlmatrix.runtimes.build import BUILD_SCRIPT as SOURCE_SCRIPT
from dlmatrix.runtimes.build import is_kept, kept_root

PLUGINS = "_plugins"
NOT_SELECTED = "not built: the run that built this image did not select this variant\n"


def _stage_dir(matrix: Matrix, name: str, found: Path | str | None) -> dict[str, bytes | Path]:
    """_plugins/NAME/: what build-source.sh builds in NAME's stage, or a marker: NOT-SELECTED (the
    stage finishes at once), BUILD-FAILED (the source could not be staged); a MISSING marker comes
    with the staged directory."""
    where = f"{PLUGINS}/{name}"
    files: dict[str, bytes | Path] = {f"{where}/build-source.sh": matrix.root.joinpath(*SOURCE_SCRIPT)}
    if found is None:
        files[f"{where}/NOT-SELECTED"] = NOT_SELECTED.encode()
    elif isinstance(found, str):
        files[f"{where}/BUILD-FAILED"] = found.encode() + b"\n"
    else:
        listed = _kept_tree_files(found) if is_kept(found) else _tree_files(found)
        for relative, path in listed:
            files[f"{where}/{relative}"] = path
    return files


def _tree_files(found: Path) -> tuple[tuple[str, Path], ...]:
    paths = sorted(p for p in found.rglob("*") if p.is_file() or p.is_symlink())
    return tuple((path.relative_to(found).as_posix(), path) for path in paths)


@functools.lru_cache(maxsize=256)
def _kept_tree_files(found: Path) -> tuple[tuple[str, Path], ...]:
    """A kept staged tree's files (runtimes.build.kept_slot), listed once per process however many
    images it goes into: a kept tree never changes (another source is another tree)."""
    return _tree_files(found)


def upstream_context(
    matrix: Matrix, image: Image, wanted: Callable[[str], bool], staged: dict[str, Path | str] | None = None
) -> dict[str, bytes | Path]:
    """The upstream/ part of an image's build context, by relative path: content or a file to copy.
    Runtimes the run does not select (nor derives one it selects from) get NOT-SELECTED, so their
    stages finish at once, and so do a dependency that none of the selected ones needs here and a
    runtime that the image's package manager does not build (its stage says not applicable): their
    trees are no input of the image.
    staged: runtimes.build.stage_all's."""
    staged = staged or {}
    files: dict[str, bytes | Path] = {}
    needed: set[str] = set()
    selected = [r for r in matrix.source_runtimes() if wanted(r.name)]
    bases = {r.name for r in matrix.with_bases(selected)}  # a derived one's base builds its tree
    for runtime in matrix.source_runtimes():
        builds_here = runtime.source is not None and runtime.source.builds_with(image.manager)
        chosen = runtime.name in bases and runtime.name in staged and builds_here
        files.update(_stage_dir(matrix, runtime.name, staged[runtime.name] if chosen else None))
        if chosen:
            needed.update(d.name for d in matrix.dependencies_for(runtime, image.libc))
    for dependency in (d for d in matrix.dependencies if image.libc in d.libc):
        chosen = (
            dependency.name in needed
            and dependency.name in staged
            and dependency.source.builds_with(image.manager)
        )
        files.update(_stage_dir(matrix, dependency.name, staged[dependency.name] if chosen else None))
    return files


def _kept_as_is(name: str, path: Path) -> bool:
    """A symbolic link or an executable of a staged plug-in tree (a configure script) is copied as
    it is: a build needs both. Anything else is copied as its content."""
    return name.startswith(f"{PLUGINS}/") and (path.is_symlink() or os.access(path, os.X_OK))


def context_digest(files: dict[str, bytes | Path]) -> str:
    """Identity of the upstream context: snapshots and staged trees by their (checked) content."""
    digest = hashlib.sha256()
    kept = kept_root()  # read once: every file of every staged tree passes here, for every image
    for name, value in sorted(files.items()):
        if isinstance(value, bytes):
            content = value
        else:
            content = _kept_token(name, value) if value.is_relative_to(kept) else _token(name, value)
        digest.update(name.encode() + b"\0" + content + b"\0")
    return digest.hexdigest()


@functools.lru_cache(maxsize=1 << 16)
def _kept_token(name: str, path: Path) -> bytes:
    """A kept tree's file's part of the digest, once per process (see _kept_tree_files)."""
    return _token(name, path)


def _token(name: str, path: Path) -> bytes:
    if not _kept_as_is(name, path):
        return sha256_of(path).encode()
    if path.is_symlink():
        return b"symlink:" + os.readlink(path).encode()
    return b"+x:" + sha256_of(path).encode()


def write_context(files: dict[str, bytes | Path], directory: Path) -> None:
    for name, value in files.items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(value, bytes):
            target.write_bytes(value)
        elif _kept_as_is(name, value):
            shutil.copy2(value, target, follow_symlinks=False)
        else:
            shutil.copyfile(value, target)
