"""The upstream/ part of an image's build context: one directory per source-built runtime (its
snapshot, patches, configure arguments and evidence), which the image's upstream stages build."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

from dlmatrix.model.catalog import Image, Matrix, Patch, Upstream
from dlmatrix.runtimes.sources import SourceDirs, sha256_of

BUILD_SCRIPT = ("src", "c", "upstream", "build-upstream.sh")
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


def upstream_context(
    matrix: Matrix, image: Image, wanted: Callable[[str], bool], dirs: SourceDirs
) -> dict[str, bytes | Path]:
    """The upstream/ part of an image's build context, by relative path: content or a file to copy.
    Variants the run does not select get NOT-SELECTED, so their stages finish at once."""
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
    return files


def context_digest(files: dict[str, bytes | Path]) -> str:
    """Identity of the upstream context: snapshots by their (checked) content."""
    digest = hashlib.sha256()
    for name, value in sorted(files.items()):
        content = value if isinstance(value, bytes) else sha256_of(value).encode()
        digest.update(name.encode() + b"\0" + content + b"\0")
    return digest.hexdigest()


def write_context(files: dict[str, bytes | Path], directory: Path) -> None:
    for name, value in files.items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(value, bytes):
            target.write_bytes(value)
        else:
            shutil.copyfile(value, target)
