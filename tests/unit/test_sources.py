"""Archives and patches that say where they come from (the LTTng-UST snapshots): looked up by name
and checked by sha256, fetched with real git, and staged like any source into the stage
directories of an image's build context."""

from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

from dlmatrix.backends.host import run_host
from dlmatrix.backends.oci.stages import NOT_SELECTED, context_digest, upstream_context
from dlmatrix.cli.main import main
from dlmatrix.config.load import load_matrix
from dlmatrix.errors import DlmatrixError
from dlmatrix.model.catalog import Matrix, Runtime, Source
from dlmatrix.model.selector import Patterns, Selector
from dlmatrix.runtimes.build import is_kept, kept_slot, source_runtimes, stage_all
from dlmatrix.runtimes.sources import Needed, SourceDirs, fetch, snapshots, verify


def first_archive() -> Needed:
    [first, *_] = snapshots(load_matrix(), Patterns.of("*"))
    return first


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
    upstream = Needed("demo-1.0.tar.gz", "0" * 64, repo.as_uri(), commit)
    with pytest.raises(DlmatrixError) as wrong:
        fetch(upstream, tmp_path / "cache")
    assert f"not {'0' * 64} as declared" in str(wrong.value)
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
    upstream = replace(first_archive(), repository=(tmp_path / "nowhere").as_uri())
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


def stand_ins(tmp_path: Path, matrix: Matrix) -> Matrix:
    """The catalog with a small archive and patch of the same names in tmp_path in place of 2.13.9's
    snapshot and no-self-pin patch (the catalog's checksums are the real files')."""
    tree = {"lttng-ust-v2.13.9/src/comm.c": b"handle = dlopen(self);\n", "lttng-ust-v2.13.9/bootstrap": b""}
    archive = tmp_path / "lttng-ust-v2.13.9.tar.gz"
    with tarfile.open(archive, "w:gz") as tarred:
        for member, content in tree.items():
            info = tarfile.TarInfo(member)
            info.size = len(content)
            tarred.addfile(info, io.BytesIO(content))
    patch = tmp_path / "lttng-ust-v2.13.9-no-self-pin.patch"
    patch.write_text(
        "--- a/src/comm.c\n+++ b/src/comm.c\n@@ -1 +1 @@\n-handle = dlopen(self);\n+handle = NULL;\n"
    )

    def stand_in(runtime: Runtime) -> Runtime:
        if runtime.source is None or runtime.source.file != archive.name:
            return runtime
        patches = tuple(
            replace(p, sha256=hashlib.sha256(patch.read_bytes()).hexdigest()) for p in runtime.source.patches
        )
        sha256 = hashlib.sha256(archive.read_bytes()).hexdigest()
        return replace(runtime, source=replace(runtime.source, sha256=sha256, patches=patches))

    return replace(matrix, runtimes=tuple(stand_in(r) for r in matrix.runtimes))


def test_the_stage_directories_follow_the_selection_and_the_sources(tmp_path):
    matrix = load_matrix()
    glibc, musl = matrix.image("debian-bookworm-glibc"), matrix.image("debian-bookworm-musl")
    matrix = stand_ins(tmp_path, matrix)
    selection = Selector.of(runtime="lttng-ust-2.1[23]*")
    staged = stage_all(
        matrix, source_runtimes(matrix, selection), tmp_path / "staged", dirs=SourceDirs((tmp_path,))
    )
    files = upstream_context(matrix, glibc, selection.runtimes, staged)
    where = "_plugins/lttng-ust-2.13.9-nopin"
    comm = files[f"{where}/source/src/comm.c"]
    assert isinstance(comm, Path) and comm.read_text() == "handle = NULL;\n"  # patched
    configure = files[f"{where}/configure.args"]
    assert isinstance(configure, Path) and "CFLAGS=-O2 -fcommon\n" in configure.read_text()
    evidence = files[f"{where}/evidence.env"]
    assert isinstance(evidence, Path) and evidence.read_text().splitlines()[1:] == [
        "DLM_EVIDENCE_UPSTREAM_REPOSITORY=https://github.com/lttng/lttng-ust",
        "DLM_EVIDENCE_UPSTREAM_COMMIT=83d51a7498a113adc2c124e502edfa717564f630",
        "DLM_EVIDENCE_UPSTREAM_PATCHES=lttng-ust-v2.13.9-no-self-pin.patch",
    ]
    missing = files["_plugins/lttng-ust-2.12.10/MISSING"]  # selected, its archive in no directory
    assert isinstance(missing, Path)
    assert (
        "lttng-ust-v2.12.10.tar.gz" in missing.read_text()
        and "`dlmatrix sources` fetches it" in missing.read_text()
    )
    assert files["_plugins/lttng-ust-2.10.7/NOT-SELECTED"] == NOT_SELECTED.encode()
    released = files["_plugins/lttng-ust-2.13.9/evidence.env"]
    assert isinstance(released, Path) and "DLM_EVIDENCE_UPSTREAM_PATCHES=none\n" in released.read_text()
    # userspace-rcu: only for musl, where the selected LTTng-UST builds need it (its archive is missing)
    assert not any(name.startswith("_plugins/userspace-rcu/") for name in files)
    musl_files = upstream_context(matrix, musl, selection.runtimes, staged)
    assert "_plugins/userspace-rcu/MISSING" in musl_files
    alone = Patterns.of("lttng-ust-2.13.9-nopin")
    assert "_plugins/userspace-rcu/MISSING" in upstream_context(matrix, musl, alone, staged)
    assert "_plugins/userspace-rcu/NOT-SELECTED" in upstream_context(
        matrix, musl, Patterns.of("pinned"), staged
    )
    # a variant's selection changes the context, and so the image's identity
    narrower = upstream_context(matrix, glibc, Patterns.of("lttng-ust-2.13*"), staged)
    assert "_plugins/lttng-ust-2.12.10/NOT-SELECTED" in narrower
    assert context_digest(files) != context_digest(narrower)


def test_a_run_with_a_corrupt_snapshot_stops_before_any_build(tmp_path):
    matrix = load_matrix()
    first = first_archive()
    (tmp_path / first.file).write_bytes(b"corrupt")
    with pytest.raises(DlmatrixError) as wrong:
        verify(matrix, Patterns.of("*"), SourceDirs((tmp_path,)))
    assert first.file in str(wrong.value) and "dlmatrix sources" in str(wrong.value)
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
    assert (
        "MISSING: lttng-ust-v2.11.5-revert-b2292d85.patch for lttng-ust-2.11.5-reverted: "
        "`git revert --no-commit b2292d85`" in out.out
    )
    rcu = (
        "MISSING: userspace-rcu-v0.12.5.tar.gz for userspace-rcu (a dependency of lttng-ust-2.11.5-reverted)"
    )
    assert rcu in out.out
    assert "3 source file(s) missing" in out.err


def test_the_host_backend_leaves_out_what_hosts_yaml_says_with_its_reason(tmp_path):
    """hosts.yaml's every_host: the LTTng-UST builds from source are skipped natively, by name
    with its reason, and the rest of the selection runs as ever."""
    matrix = load_matrix()
    host = replace(matrix.hosts[0], cc="no-such-cc")  # nothing compiles: the test stays in the unit tier
    selection = Selector.of(scenario="app-dlopen-dlclose", runtime="lttng-ust*,pinned")
    cells = run_host(matrix, host, tmp_path, selection, 1)
    left_out = [c for c in cells if c.runtime.startswith("lttng-ust-2.")]
    assert len(left_out) == 7 and {c.result for c in left_out} == {"skipped"}
    said = "not applicable on the host backend: the LTTng-UST builds"
    assert all(c.stderr.startswith(said) for c in left_out)
    assert {c.runtime: c.stderr.split(";")[0] for c in cells if c not in left_out} == {
        "lttng-ust": "no-such-cc is not installed",
        "pinned": "no-such-cc is not installed",
    }


def archive_source(tmp_path: Path, text: str) -> Source:
    archive = tmp_path / f"lib-{hashlib.sha256(text.encode()).hexdigest()[:6]}.tar.gz"
    with tarfile.open(archive, "w:gz") as tarred:
        data = text.encode()
        info = tarfile.TarInfo("lib-1.0/lib.c")
        info.size = len(data)
        tarred.addfile(info, io.BytesIO(data))
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    return Source("archive", str(archive), "make", sha256=digest, file=archive.name)


def test_an_archive_s_staged_tree_is_kept_between_runs_under_what_it_is_made_of(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    source = archive_source(tmp_path, "int lib;\n")
    slot = kept_slot(source)
    assert slot is not None and is_kept(slot)
    assert kept_slot(replace(source, location=str(tmp_path / "elsewhere.tar.gz"))) == slot  # not where
    assert kept_slot(replace(source, configure=("--disable-x",))) != slot  # the build's settings
    assert kept_slot(replace(source, subdirs=("src",))) != slot  # build.env says them
    derived = replace(source, derived_from="release")  # derive/ holds the patches beyond the base's
    assert kept_slot(derived, source) not in (
        slot,
        kept_slot(replace(source, derived_from="other"), source),
        None,
    )
    assert kept_slot(archive_source(tmp_path, "int other;\n")) != slot  # the archive's content
    assert kept_slot(replace(source, kind="path")) is None  # a directory is staged afresh
    matrix = load_matrix()
    [lttng] = [r for r in matrix.runtimes if r.name == "lttng-ust-2.13.9"]
    runtime = replace(lttng, name="lib", source=source)
    first = stage_all(matrix, [runtime], tmp_path / "run-1")
    assert first == {"lib": slot} and (slot / "source" / "lib.c").read_text() == "int lib;\n"
    assert (slot / "evidence.env").is_file() and not list(slot.parent.glob("*.partial"))
    (slot / "source" / "lib.c").write_text("changed\n")  # (no run does this: it shows the tree is reused)
    assert stage_all(matrix, [runtime], tmp_path / "run-2") == first
    assert (slot / "source" / "lib.c").read_text() == "changed\n"  # not unpacked again
