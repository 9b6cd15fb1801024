"""Upstream snapshots: where they are looked up (and checked), how they are fetched, and the
directory each upstream build stage gets in an image's build context.

A snapshot is `git archive` of one commit, named in matrix/runtimes.yaml with its sha256. The
sources directories are --sources DIR, then $DLMATRIX_SOURCES (a path list), then the user cache.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dlmatrix.config import Image, Matrix, Patch, Upstream
from dlmatrix.errors import DlmatrixError

BUILD_SCRIPT = ("src", "c", "upstream", "build-upstream.sh")
MUSL_DEPS = "musl-deps"  # the stage of the musl images that builds userspace-rcu
NOT_SELECTED = "not built: the run that built this image did not select this variant\n"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dlmatrix" / "sources"


def sha256_of(path: Path) -> str:
    """Remembered per file version: a run checks each snapshot once, not once per image."""
    stat = path.stat()
    return _sha256(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class SourceDirs:
    dirs: tuple[Path, ...]

    @classmethod
    def from_option(cls, option: str | None = None) -> SourceDirs:
        listed = os.environ.get("DLMATRIX_SOURCES", "").split(os.pathsep)
        candidates = [option or "", *listed]
        return cls((*(Path(item) for item in candidates if item), cache_dir()))

    def find(self, name: str, sha256: str) -> Path | None:
        """The first copy of name; one with another checksum is an error, not a miss."""
        for directory in self.dirs:
            candidate = directory / name
            if candidate.is_file():
                found = sha256_of(candidate)
                if found != sha256:
                    raise DlmatrixError(
                        f"{candidate} has sha256 {found}, but matrix/runtimes.yaml declares {sha256}",
                        "remove the file and run `dlmatrix sources` to fetch it again, or correct "
                        "the checksum in matrix/runtimes.yaml if the snapshot is the right one",
                    )
                return candidate
        return None

    def describe(self) -> str:
        return ", ".join(str(d) for d in self.dirs)


def fetch(upstream: Upstream, target: Path) -> Path:
    """`git archive` of upstream.commit into target/snapshot, checked against its sha256."""
    target.mkdir(parents=True, exist_ok=True)
    stem = upstream.snapshot.removesuffix(".tar.gz")
    with tempfile.TemporaryDirectory(prefix="dlmatrix-fetch-") as work:
        archive = Path(work) / upstream.snapshot
        steps = [
            ["git", "init", "-q", "--bare", work + "/repo"],
            [
                "git",
                "-C",
                work + "/repo",
                "fetch",
                "-q",
                "--depth",
                "1",
                upstream.repository,
                upstream.commit,
            ],
            [
                "git",
                "-C",
                work + "/repo",
                "archive",
                "--format=tar.gz",
                f"--prefix={stem}/",
                "-o",
                str(archive),
                upstream.commit,
            ],
        ]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                said = (done.stderr or done.stdout).strip().splitlines() or [f"git exit {done.returncode}"]
                raise DlmatrixError(
                    f"fetching {upstream.repository} at {upstream.commit[:12]} failed: {said[-1]}",
                    f"check the network, or copy {upstream.snapshot} into {target}",
                )
        found = sha256_of(archive)
        if found != upstream.sha256:
            raise DlmatrixError(
                f"the archive of {upstream.repository} at {upstream.commit[:12]} has sha256 {found}, "
                f"not {upstream.sha256} as matrix/runtimes.yaml declares",
                "another git may compress differently: get the declared snapshot from the project, "
                "or correct the checksum after checking the archive's contents",
            )
        shutil.move(str(archive), target / upstream.snapshot)
    return target / upstream.snapshot


def snapshots(matrix: Matrix, wanted: Callable[[str], bool]) -> list[tuple[Upstream, list[str], list[Patch]]]:
    """Each upstream snapshot the selected source runtimes need (once), who needs it, their patches;
    userspace-rcu for the musl builds comes with them."""
    needed: dict[str, tuple[Upstream, list[str], list[Patch]]] = {}
    for runtime in matrix.source_runtimes():
        if runtime.upstream is None or not wanted(runtime.name):
            continue
        entry = needed.setdefault(runtime.upstream.snapshot, (runtime.upstream, [], []))
        entry[1].append(runtime.name)
        entry[2].extend(p for p in runtime.patches if p not in entry[2])
    if needed:
        for upstream in matrix.musl_dependencies:
            needed.setdefault(upstream.snapshot, (upstream, ["the musl images"], []))
    return list(needed.values())


def verify(matrix: Matrix, wanted: Callable[[str], bool], dirs: SourceDirs) -> None:
    """Every present snapshot and patch the selection needs has its declared sha256 (or raise)."""
    for upstream, _, patches in snapshots(matrix, wanted):
        dirs.find(upstream.snapshot, upstream.sha256)
        for patch in patches:
            dirs.find(patch.file, patch.sha256)


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
