"""The upstream/ part of an image's build context: upstream/_plugins/NAME/ per runtime built from
source (plug-ins and catalog entries such as LTTng-UST alike) and per dependency they name that
applies to the image's C library: the staged tree and build-source.sh, which a stage of its own
builds (`_` starts no runtime's name), or a marker."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from dlmatrix.files import sha256_of
from dlmatrix.model.catalog import Image, Matrix
from dlmatrix.runtimes.build import BUILD_SCRIPT as SOURCE_SCRIPT

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
        for path in sorted(p for p in found.rglob("*") if p.is_file() or p.is_symlink()):
            files[f"{where}/{path.relative_to(found).as_posix()}"] = path
    return files


def upstream_context(
    matrix: Matrix, image: Image, wanted: Callable[[str], bool], staged: dict[str, Path | str] | None = None
) -> dict[str, bytes | Path]:
    """The upstream/ part of an image's build context, by relative path: content or a file to copy.
    Runtimes the run does not select get NOT-SELECTED, so their stages finish at once, and so do a
    dependency that none of the selected ones needs here and a runtime that the image's package
    manager does not build (its stage says not applicable): their trees are no input of the image.
    staged: runtimes.build.stage_all's."""
    staged = staged or {}
    files: dict[str, bytes | Path] = {}
    needed: set[str] = set()
    for runtime in matrix.source_runtimes():
        builds_here = runtime.source is not None and runtime.source.builds_with(image.manager)
        chosen = wanted(runtime.name) and runtime.name in staged and builds_here
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
    for name, value in sorted(files.items()):
        if isinstance(value, bytes):
            content = value
        elif not _kept_as_is(name, value):
            content = sha256_of(value).encode()
        elif value.is_symlink():
            content = b"symlink:" + os.readlink(value).encode()
        else:
            content = b"+x:" + sha256_of(value).encode()
        digest.update(name.encode() + b"\0" + content + b"\0")
    return digest.hexdigest()


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
