"""Upstream snapshots: looked up by name and checked by sha256, fetched with real git, and turned
into the directories of the upstream build stages."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from dlmatrix.backends.oci.stages import NOT_SELECTED, context_digest, upstream_context
from dlmatrix.cli.main import main
from dlmatrix.config.load import load_matrix
from dlmatrix.errors import DlmatrixError
from dlmatrix.model.catalog import Upstream
from dlmatrix.model.selector import Patterns
from dlmatrix.runtimes.sources import SourceDirs, fetch, verify


def first_upstream() -> Upstream:
    upstream = load_matrix().source_runtimes()[0].upstream
    assert upstream is not None
    return upstream


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def upstream_repo(tmp_path: Path) -> tuple[Path, str]:
    """A real repository standing in for upstream: one commit."""
    repo = tmp_path / "upstream"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    (repo / "configure.ac").write_text("AC_INIT([demo], [1.0])\n")
    git("add", ".", cwd=repo)
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "one", cwd=repo)
    return repo, git("rev-parse", "HEAD", cwd=repo).strip()


def test_fetch_archives_the_commit_and_checks_its_checksum(tmp_path, upstream_repo):
    repo, commit = upstream_repo
    upstream = replace(
        first_upstream(),
        repository=repo.as_uri(),
        commit=commit,
        snapshot="demo-1.0.tar.gz",
        sha256="0" * 64,
    )
    with pytest.raises(DlmatrixError) as wrong:
        fetch(upstream, tmp_path / "cache")
    assert f"not {'0' * 64} as matrix/runtimes.yaml declares" in str(wrong.value)
    assert not (tmp_path / "cache" / "demo-1.0.tar.gz").exists()  # nothing unchecked is kept
    expected = subprocess.run(
        ["git", "archive", "--format=tar.gz", "--prefix=demo-1.0/", commit],
        cwd=repo,
        check=True,
        capture_output=True,
    ).stdout
    fetched = fetch(replace(upstream, sha256=hashlib.sha256(expected).hexdigest()), tmp_path / "cache")
    assert fetched.read_bytes() == expected
    listing = subprocess.run(["tar", "-tzf", str(fetched)], check=True, capture_output=True, text=True)
    assert "demo-1.0/configure.ac" in listing.stdout.split()


def test_fetch_says_what_failed_when_the_repository_is_unreachable(tmp_path, upstream_repo):
    upstream = replace(
        first_upstream(),
        repository=(tmp_path / "nowhere").as_uri(),
    )
    with pytest.raises(DlmatrixError) as failed:
        fetch(upstream, tmp_path / "cache")
    assert "fetching file://" in str(failed.value)
    assert "copy lttng-ust-v2.10.7.tar.gz into" in str(failed.value)


def test_a_wrong_checksum_is_an_error_and_a_missing_file_is_not(tmp_path):
    (tmp_path / "snap.tar.gz").write_bytes(b"not the snapshot")
    dirs = SourceDirs((tmp_path,))
    assert dirs.find("other.tar.gz", "0" * 64) is None
    with pytest.raises(DlmatrixError) as wrong:
        dirs.find("snap.tar.gz", "0" * 64)
    assert f"{tmp_path / 'snap.tar.gz'} has sha256" in str(wrong.value)
    good = hashlib.sha256(b"not the snapshot").hexdigest()
    assert dirs.find("snap.tar.gz", good) == tmp_path / "snap.tar.gz"


def test_source_directories_come_from_the_option_the_environment_then_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DLMATRIX_SOURCES", f"{tmp_path / 'a'}:{tmp_path / 'b'}")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    dirs = SourceDirs.from_option(str(tmp_path / "opt"))
    assert dirs.dirs == (
        tmp_path / "opt",
        tmp_path / "a",
        tmp_path / "b",
        tmp_path / "cache" / "dlmatrix" / "sources",
    )


def test_the_stage_directories_follow_the_selection_and_the_sources(tmp_path):
    matrix = load_matrix()
    glibc = next(i for i in matrix.images if i.name == "debian-bookworm-glibc")
    musl = next(i for i in matrix.images if i.name == "debian-bookworm-musl")
    [nopin] = [r for r in matrix.source_runtimes() if r.name == "lttng-ust-2.13.9-nopin"]
    assert nopin.upstream is not None
    snapshot = tmp_path / nopin.upstream.snapshot
    snapshot.write_bytes(b"x")  # found by name only if the checksum agrees: use a stand-in matrix
    fake = replace(nopin.upstream, sha256=hashlib.sha256(b"x").hexdigest())
    patch = tmp_path / nopin.patches[0].file
    patch.write_bytes(b"p")
    fake_patch = replace(nopin.patches[0], sha256=hashlib.sha256(b"p").hexdigest())
    same = [r for r in matrix.runtimes if r.upstream == nopin.upstream]  # 2.13.9 and its nopin
    stand_ins = [replace(r, upstream=fake, patches=(fake_patch,) if r.patches else ()) for r in same]
    matrix = replace(matrix, runtimes=(*[r for r in matrix.runtimes if r not in same], *stand_ins))
    dirs = SourceDirs((tmp_path,))
    files = upstream_context(matrix, glibc, Patterns.of("lttng-ust-2.1[23]*"), dirs)
    assert files["lttng-ust-2.13.9-nopin/snapshot.tar.gz"] == snapshot
    assert files["lttng-ust-2.13.9-nopin/patches/00-lttng-ust-v2.13.9-no-self-pin.patch"] == patch
    assert b"CFLAGS=-O2 -g -fcommon\n" in files["lttng-ust-2.13.9-nopin/configure.args"]  # type: ignore[operator]
    env = files["lttng-ust-2.13.9-nopin/upstream.env"]
    assert isinstance(env, bytes) and b"DLM_EVIDENCE_UPSTREAM_COMMIT=83d51a74" in env
    missing = files["lttng-ust-2.12.10/MISSING"]
    assert isinstance(missing, bytes)
    assert b"lttng-ust-v2.12.10.tar.gz" in missing and b"`dlmatrix sources` fetches it" in missing
    assert files["lttng-ust-2.10.7/NOT-SELECTED"] == NOT_SELECTED.encode()
    assert not any(name.startswith("musl-deps/") for name in files)
    assert "musl-deps/MISSING" in upstream_context(matrix, musl, Patterns.of("*"), dirs)
    # a variant's selection changes the context, and so the image's identity
    assert context_digest(files) != context_digest(upstream_context(matrix, glibc, Patterns.of("*"), dirs))


def test_a_run_with_a_corrupt_snapshot_stops_before_any_build(tmp_path):
    matrix = load_matrix()
    upstream = first_upstream()
    (tmp_path / upstream.snapshot).write_bytes(b"corrupt")
    with pytest.raises(DlmatrixError) as wrong:
        verify(matrix, Patterns.of("*"), SourceDirs((tmp_path,)))
    assert upstream.snapshot in str(wrong.value) and "dlmatrix sources" in str(wrong.value)
    verify(matrix, Patterns.of("lttng-ust-2.13*"), SourceDirs((tmp_path,)))  # not selected: not looked at


def test_the_sources_command_names_what_is_missing_and_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DLMATRIX_SOURCES", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    code = main(
        ["sources", "--offline", "--sources", str(tmp_path), "--runtime", "lttng-ust-2.11.5-reverted"]
    )
    out = capsys.readouterr()
    assert code == 2
    assert "MISSING: lttng-ust-v2.11.5.tar.gz for lttng-ust-2.11.5-reverted" in out.out
    assert "MISSING: lttng-ust-v2.11.5-revert-b2292d85.patch: `git revert --no-commit b2292d85`" in out.out
    assert "MISSING: userspace-rcu-v0.12.5.tar.gz for the musl images" in out.out
    assert "3 upstream file(s) missing" in out.err
