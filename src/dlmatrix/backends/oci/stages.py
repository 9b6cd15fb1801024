"""The upstream/ part of an image's build context: one directory per source-built runtime (its
snapshot, patches, configure arguments and evidence), which the image's upstream stages build,
and upstream/_plugins/NAME/ per runtime plug-in built from source (its staged tree and
build-source.sh), which a stage of its own builds (`_` starts no runtime's name)."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from dlmatrix.files import sha256_of
from dlmatrix.model.catalog import Image, Matrix, Patch, Upstream
from dlmatrix.runtimes.build import BUILD_SCRIPT as SOURCE_SCRIPT
from dlmatrix.runtimes.sources import SourceDirs

BUILD_SCRIPT = ("src", "c", "upstream", "build-upstream.sh")
PLUGINS = "_plugins"
MUSL_DEPS = "musl-deps"  # the stage of the musl images that builds userspace-rcu
NOT_SELECTED = "not built: the run that built this image did not select this variant\n"


def missing_reason(upstream: Upstream) -> str:
    """Why a variant is skipped; it names no directory, so that it is the same on every machine
    (it is part of an image's build context, and so of its identity)."""
    return (
        f"not applicable here: {upstream.snapshot} ({upstream.repository} at {upstream.commit[:12]}) "
        "is in none of the sources directories; `dlmatrix sources` fetches it (or copy it into "
        "--sources DIR)"
    )


def _stage_files(
    upstream: Upstream, patches: tuple[Patch, ...], dirs: SourceDirs, evidence: dict[str, str]
) -> dict[str, bytes | Path]:
    """One stage's directory: the snapshot and patches (or MISSING), configure.args, upstream.env."""
    snapshot = dirs.find(upstream.snapshot, upstream.sha256)
    if snapshot is None:
        return {"MISSING": missing_reason(upstream).encode() + b"\n"}
    files: dict[str, bytes | Path] = {"snapshot.tar.gz": snapshot}
    for index, patch in enumerate(patches):
        found = dirs.find(patch.file, patch.sha256)
        if found is None:
            reason = (
                f"not applicable here: the patch {patch.file} ({patch.origin}) is in none of the "
                "sources directories; copy it into --sources DIR"
            )
            return {"MISSING": reason.encode() + b"\n"}
        files[f"patches/{index:02d}-{patch.file}"] = found
    files["configure.args"] = "".join(arg + "\n" for arg in upstream.configure).encode()
    files["upstream.env"] = "".join(f"DLM_EVIDENCE_{k.upper()}={v}\n" for k, v in evidence.items()).encode()
    return files


def plugin_context(
    matrix: Matrix, wanted: Callable[[str], bool], staged: dict[str, Path | str]
) -> dict[str, bytes | Path]:
    """_plugins/NAME/: what build-source.sh builds in the plug-in's stage, or a marker: NOT-SELECTED
    (the stage finishes at once), BUILD-FAILED (the source could not be staged)."""
    files: dict[str, bytes | Path] = {}
    for runtime in matrix.plugins():
        if runtime.plugin is None or runtime.plugin.source is None:
            continue
        where, found = f"{PLUGINS}/{runtime.name}", staged.get(runtime.name)
        files[f"{where}/build-source.sh"] = matrix.root.joinpath(*SOURCE_SCRIPT)
        if not wanted(runtime.name) or found is None:
            files[f"{where}/NOT-SELECTED"] = NOT_SELECTED.encode()
        elif isinstance(found, str):
            files[f"{where}/BUILD-FAILED"] = found.encode() + b"\n"
        else:
            for path in sorted(p for p in found.rglob("*") if p.is_file() or p.is_symlink()):
                files[f"{where}/{path.relative_to(found).as_posix()}"] = path
    return files


def upstream_context(
    matrix: Matrix,
    image: Image,
    wanted: Callable[[str], bool],
    dirs: SourceDirs,
    staged: dict[str, Path | str] | None = None,
) -> dict[str, bytes | Path]:
    """The upstream/ part of an image's build context, by relative path: content or a file to copy.
    Variants the run does not select get NOT-SELECTED, so their stages finish at once. staged: the
    plug-ins' sources (runtimes.build.stage_all)."""
    files: dict[str, bytes | Path] = {"build-upstream.sh": matrix.root.joinpath(*BUILD_SCRIPT)}
    selected = [r for r in matrix.source_runtimes() if wanted(r.name)]
    for runtime in matrix.source_runtimes():
        assert runtime.upstream is not None
        if runtime not in selected:
            stage: dict[str, bytes | Path] = {"NOT-SELECTED": NOT_SELECTED.encode()}
        else:
            evidence = {
                "upstream_repository": runtime.upstream.repository,
                "upstream_commit": runtime.upstream.commit,
                "upstream_patches": ",".join(p.file for p in runtime.patches) or "none",
            }
            stage = _stage_files(runtime.upstream, runtime.patches, dirs, evidence)
        files.update({f"{runtime.name}/{name}": value for name, value in stage.items()})
    if image.libc == "musl":
        for upstream in matrix.musl_dependencies:  # built once, before every musl lttng-ust stage
            stage = (
                _stage_files(upstream, (), dirs, {}) if selected else {"NOT-SELECTED": NOT_SELECTED.encode()}
            )
            files.update({f"{MUSL_DEPS}/{name}": value for name, value in stage.items()})
    return {**files, **plugin_context(matrix, wanted, staged or {})}


def _kept_as_is(name: str, path: Path) -> bool:
    """A symbolic link or an executable of a staged plug-in tree (a configure script) is copied as
    it is: a build needs both. Anything else, the upstream snapshots above all (which a sources
    directory may hold as links to elsewhere), is copied as its content."""
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
