"""Upstream snapshots: where they are looked up (and checked), and how they are fetched.

A snapshot is `git archive` of one commit, named in matrix/runtimes.yaml with its sha256. The
sources directories are --sources DIR, then $DLMATRIX_SOURCES (a path list), then the user cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dlmatrix.errors import DlmatrixError
from dlmatrix.files import sha256_of, user_cache
from dlmatrix.model.catalog import Matrix, Patch, Upstream


def cache_dir() -> Path:
    return user_cache() / "sources"


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
