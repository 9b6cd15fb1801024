"""Files a source names by checksum rather than path (an archive or patch that says where it comes
from): where they are looked up (and checked), and how they are fetched.

Such an archive is `git archive` of one commit, named with its sha256 in matrix/runtimes.yaml (the
LTTng-UST snapshots, userspace-rcu) or a runtime.yaml. The sources directories are --sources DIR,
then $DLMATRIX_SOURCES (a path list), then the user cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from dlmatrix.errors import DlmatrixError
from dlmatrix.files import sha256_of, user_cache
from dlmatrix.model.catalog import Matrix, Source


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
                        f"{candidate} has sha256 {found}, but the catalog declares {sha256}",
                        "remove the file and run `dlmatrix sources` to fetch it again, or correct "
                        "the checksum where it is declared if the file is the right one",
                    )
                return candidate
        return None

    def describe(self) -> str:
        return ", ".join(str(d) for d in self.dirs)


@dataclass(frozen=True)
class Needed:
    """A file looked up in the sources directories, who needs it and where it comes from."""

    file: str
    sha256: str
    repository: str = ""  # with commit: `dlmatrix sources` fetches `git archive` of it
    commit: str = ""
    origin: str = ""  # a patch's: where it comes from, in words
    users: list[str] = field(default_factory=list)


def missing_reason(source: Source) -> str | None:
    """Why a source that must be looked up is not there, or None; it names no directory, so that it
    is the same on every machine (it is part of an image's build context, and so of its identity)."""
    if source.kind == "archive" and not source.location:
        return (
            f"not applicable here: {source.file} ({source.repository} at {source.commit[:12]}) is in none "
            "of the sources directories; `dlmatrix sources` fetches it (or copy it into --sources DIR)"
        )
    patch = next((p for p in source.patches if p.path is None), None)
    if patch is not None:
        return (
            f"not applicable here: the patch {patch.file} ({patch.origin}) is in none of the sources "
            "directories; copy it into --sources DIR"
        )
    return None


def resolve(source: Source, dirs: SourceDirs) -> Source:
    """source with its archive and declared patches found in the sources directories (checked by
    sha256; missing_reason says what is still missing)."""
    location = source.location
    if source.kind == "archive" and not location:
        found = dirs.find(source.file, source.sha256)
        location = str(found) if found else ""
    patches, fixups = (
        tuple(p if p.path is not None else replace(p, path=dirs.find(p.file, p.sha256)) for p in declared)
        for declared in (source.patches, source.fixups)
    )
    return replace(source, location=location, patches=patches, fixups=fixups)


def fetch(needed: Needed, target: Path) -> Path:
    """`git archive` of needed.commit into target/needed.file, checked against its sha256."""
    target.mkdir(parents=True, exist_ok=True)
    stem = needed.file.removesuffix(".tar.gz")
    with tempfile.TemporaryDirectory(prefix="dlmatrix-fetch-") as work:
        archive = Path(work) / needed.file
        repo = work + "/repo"
        steps = [
            ["git", "init", "-q", "--bare", repo],
            ["git", "-C", repo, "fetch", "-q", "--depth", "1", needed.repository, needed.commit],
            [
                "git",
                "-C",
                repo,
                "archive",
                "--format=tar.gz",
                f"--prefix={stem}/",
                "-o",
                str(archive),
                needed.commit,
            ],
        ]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                said = (done.stderr or done.stdout).strip().splitlines() or [f"git exit {done.returncode}"]
                raise DlmatrixError(
                    f"fetching {needed.repository} at {needed.commit[:12]} failed: {said[-1]}",
                    f"check the network, or copy {needed.file} into {target}",
                )
        found = sha256_of(archive)
        if found != needed.sha256:
            raise DlmatrixError(
                f"the archive of {needed.repository} at {needed.commit[:12]} has sha256 {found}, "
                f"not {needed.sha256} as declared",
                "another git may compress differently: get the declared archive from the project, "
                "or correct the checksum after checking the archive's contents",
            )
        shutil.move(str(archive), target / needed.file)
    return target / needed.file


def _sources(matrix: Matrix, wanted: Callable[[str], bool]) -> list[tuple[str, Source]]:
    """The selected runtimes' sources, then those of the dependencies they name (any C library)."""
    chosen = [r for r in matrix.source_runtimes() if wanted(r.name) and r.source is not None]
    found: list[tuple[str, Source]] = [(r.name, r.source) for r in chosen if r.source is not None]
    for dependency in matrix.dependencies:
        users = [r.name for r in chosen if r.source is not None and dependency.name in r.source.depends]
        if users:
            found.append((f"{dependency.name} (a dependency of {', '.join(users)})", dependency.source))
    return found


def snapshots(matrix: Matrix, wanted: Callable[[str], bool]) -> list[Needed]:
    """Each file the selected runtimes' sources look up in the sources directories (once), with who
    needs it: archives that say where they come from, patches declared with their origin."""
    needed: dict[str, Needed] = {}
    for user, source in _sources(matrix, wanted):
        if source.kind == "archive" and not source.location:
            item = Needed(source.file, source.sha256, source.repository, source.commit)
            needed.setdefault(source.file, item).users.append(user)
        for patch in (p for p in (*source.patches, *source.fixups) if p.path is None):
            needed.setdefault(patch.file, Needed(patch.file, patch.sha256, origin=patch.origin)).users.append(
                user
            )
    return list(needed.values())


def verify(matrix: Matrix, wanted: Callable[[str], bool], dirs: SourceDirs) -> None:
    """Every present file the selection looks up has its declared sha256 (or raise)."""
    for item in snapshots(matrix, wanted):
        dirs.find(item.file, item.sha256)
