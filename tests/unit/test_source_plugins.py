"""Runtime plug-ins built from source: runtime.yaml's source and build.system, each bad input a
ConfigError before anything is built; staging (a tree, a git bundle, an archive, patches); what
the bundle, the host backend's markers and the Dockerfiles make of them."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from dlmatrix.backends.host import plugin_markers
from dlmatrix.backends.oci.dockerfiles import render
from dlmatrix.backends.oci.stages import context_digest, upstream_context, write_context
from dlmatrix.children import Children
from dlmatrix.cli.main import main
from dlmatrix.config.load import load_matrix
from dlmatrix.config.plugins import read
from dlmatrix.errors import ConfigError
from dlmatrix.model.selector import Selector
from dlmatrix.runtimes.build import StageFailed, source_files, source_runtimes, stage, stage_all, unpack
from dlmatrix.suite.bundle import compiled_files
from tests.conftest import REPO, Recorder

FIXTURE = REPO / "tests" / "fixtures"
HEAD = """\
name: my-src
description: A library built from source.
provider: provider.c
soname: libdetached.so.1
threads: {added: 1}
starts: its constructor
"""


def plugin(tmp_path: Path, tail: str) -> Path:
    """A plug-in beside a copy of the fixture library (lib/), with runtime.yaml's HEAD + tail."""
    directory = tmp_path / "my-src"
    directory.mkdir()
    shutil.copy(FIXTURE / "detached-plugin" / "provider.c", directory)
    (directory / "runtime.yaml").write_text(HEAD + tail)
    if not (tmp_path / "lib").exists():
        shutil.copytree(FIXTURE / "detached-lib", tmp_path / "lib")
    return directory


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def repository(tmp_path: Path) -> tuple[Path, str]:
    """A git repository holding the fixture library in one commit, and that commit."""
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE / "detached-lib", repo)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "lib")
    return repo, git(repo, "rev-parse", "HEAD")


def archive(tmp_path: Path) -> tuple[Path, str]:
    """The fixture library as lib-1.0.tar.gz with a top directory, and its sha256."""
    path = tmp_path / "lib-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as tarred:
        tarred.add(FIXTURE / "detached-lib", arcname="lib-1.0")
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def refused(tmp_path: Path, tail: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        read(tmp_path, plugin(tmp_path, tail))
    return caught.value


def test_a_path_source_reads_into_a_source_with_its_directory(tmp_path: Path) -> None:
    loaded = read(
        tmp_path, plugin(tmp_path, "source: {path: ../lib}\nbuild: {system: make, libs: -ldetached}\n")
    )
    assert loaded.problem is None and loaded.source is not None
    assert (loaded.source.kind, loaded.source.system) == ("path", "make")
    assert loaded.source.location == str((tmp_path / "lib").resolve())


@pytest.mark.parametrize(
    ("tail", "key", "words"),
    [
        (
            "source: {path: ../nowhere}\nbuild: {system: make}\n",
            "source.path",
            "../nowhere: no such directory",
        ),
        ("source: {path: ../lib}\nbuild: {system: scons}\n", "build.system", "make, autotools, cmake, meson"),
        ("source: {path: ../lib}\n", "build.system", "missing: how to build the source"),
        ("source: {patches: [a.patch]}\nbuild: {system: make}\n", "source", "exactly one is needed"),
        (
            "source: {path: ../lib, archive: {file: x.tgz, sha256: "
            + "a" * 64
            + "}}\nbuild: {system: make}\n",
            "source",
            "names path and archive",
        ),
        (
            "source: {path: ../lib, patches: [no.patch]}\nbuild: {system: make}\n",
            "source.patches[0]",
            "no.patch",
        ),
        (
            "source: {path: ../lib, fixups: [no-fix.patch]}\nbuild: {system: make}\n",
            "source.fixups[0]",
            "no-fix.patch",
        ),
        ("source: {path: ../lib}\nbuild: {system: script}\n", "build.script", "missing"),
        (
            "source: {path: ../lib}\nbuild: {system: make}\npackages: {apt: [x]}\n",
            "packages",
            "not with a source",
        ),
        ("build: {system: make}\npackages: {apt: []}\n", "build.system", "no source is given"),
    ],
)
def test_a_bad_source_is_one_config_error_naming_the_key(
    tmp_path: Path, tail: str, key: str, words: str
) -> None:
    error = refused(tmp_path, tail)
    assert f"runtime.yaml: {key}: " in str(error) and words in str(error)


def test_a_bad_build_of_a_plugin_of_packages_still_costs_only_its_cells(tmp_path: Path) -> None:
    loaded = read(tmp_path, plugin(tmp_path, "packages: {apt: []}\nbuild: {cflags: 3}\n"))
    assert loaded.problem is not None and "build.cflags" in loaded.problem


def test_a_commit_missing_from_a_clone_or_a_bundle_is_refused(tmp_path: Path) -> None:
    repo, commit = repository(tmp_path)
    git(repo, "bundle", "create", str(tmp_path / "lib.bundle"), "--all")
    missing = "0123456789abcdef0123456789abcdef01234567"
    for where in (repo, tmp_path / "lib.bundle"):
        good = f"source: {{git: {{repository: {where}, commit: {commit}}}}}\nbuild: {{system: make}}\n"
        assert read(tmp_path, plugin(tmp_path, good)).source is not None
        shutil.rmtree(tmp_path / "my-src")
        error = refused(tmp_path, good.replace(commit, missing))
        assert f"source.git.commit: {missing} is not a commit of {where}" in str(error)
        shutil.rmtree(tmp_path / "my-src")


def test_a_bundle_of_head_alone_holds_its_commit_and_a_stray_file_is_no_repository(tmp_path: Path) -> None:
    repo, commit = repository(tmp_path)
    git(repo, "bundle", "create", str(tmp_path / "head.bundle"), "HEAD")
    tail = f"source: {{git: {{repository: ../head.bundle, commit: {commit}}}}}\nbuild: {{system: make}}\n"
    source = read(tmp_path, plugin(tmp_path, tail)).source
    assert source is not None
    assert (stage(source, tmp_path / "staged", "runtime.yaml") / "source" / "detached.c").is_file()
    shutil.rmtree(tmp_path / "my-src")
    (tmp_path / "stray.txt").write_text("not a bundle\n")
    error = refused(tmp_path, tail.replace("head.bundle", "stray.txt"))
    assert "source.git.repository: ../stray.txt" in str(
        error
    ) and "neither a git repository nor a bundle" in str(error)


def test_an_archive_whose_sha256_differs_is_refused_with_the_one_it_has(tmp_path: Path) -> None:
    path, sha256 = archive(tmp_path)
    wrong = "f" * 64
    error = refused(
        tmp_path, f"source: {{archive: {{file: {path}, sha256: {wrong}}}}}\nbuild: {{system: make}}\n"
    )
    assert f"source.archive.sha256: {path} has sha256 {sha256}, not {wrong}" in str(error)


def test_the_command_line_exits_2_on_a_bad_source_before_building(tmp_path: Path) -> None:
    directory = plugin(tmp_path, "source: {path: ../nowhere}\nbuild: {system: make}\n")
    log = Recorder()
    assert main(["list", "--runtimes", str(directory)], log) == 2
    assert "source.path: ../nowhere: no such directory" in log.buffer.getvalue()


def test_a_tree_is_staged_without_git_or_build_outputs(tmp_path: Path) -> None:
    top = tmp_path / "lib"
    shutil.copytree(FIXTURE / "detached-lib", top)
    for leftover in (".git/HEAD", "detached.o", "libdetached.so.1.0", "_build/CMakeCache.txt", "_build/x.c"):
        (top / leftover).parent.mkdir(parents=True, exist_ok=True)
        (top / leftover).write_text("left over\n")
    names = {p.as_posix() for p in source_files(top)}
    assert names == {p.name for p in (FIXTURE / "detached-lib").iterdir()}


def test_a_work_tree_is_staged_without_the_plug_in_or_a_runs_output(tmp_path: Path) -> None:
    """Results written into the tree, or an edit to the plug-in's expectations, must not make a new
    source (and so a new image) of the library; in a git work tree as well as outside one."""
    top = tmp_path / "lib"
    shutil.copytree(FIXTURE / "detached-lib", top)
    library = {p.name for p in (FIXTURE / "detached-lib").iterdir()}
    for leftover in (".dlmatrix/runtime.yaml", "out/.dlmatrix.lock", "out/results.json"):
        (top / leftover).parent.mkdir(parents=True, exist_ok=True)
        (top / leftover).write_text("not the library\n")
    assert {p.as_posix() for p in source_files(top, top / ".dlmatrix")} == library
    git(top, "init", "-q")
    assert {p.as_posix() for p in source_files(top, top / ".dlmatrix")} == library
    assert ".dlmatrix/runtime.yaml" in {p.as_posix() for p in source_files(top)}  # only the plug-in's


def test_a_bundle_is_staged_at_its_commit_and_patched(tmp_path: Path) -> None:
    repo, first = repository(tmp_path)
    (repo / "detached.h").write_text("/* a later commit */\n")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-am", "later")
    git(repo, "bundle", "create", str(tmp_path / "lib.bundle"), "--all")
    patch = tmp_path / "my-src" / "rename.patch"
    patch.parent.mkdir()
    patch.write_text(
        "--- a/detached.h\n+++ b/detached.h\n@@ -1 +1 @@\n"
        "-/* libdetached: a library whose constructor starts a detached thread (tests/fixtures). */\n"
        "+/* patched */\n"
    )
    tail = f"source: {{git: {{repository: ../lib.bundle, commit: {first}}}, patches: [rename.patch]}}\n"
    (tmp_path / "my-src" / "runtime.yaml").write_text(HEAD + tail + "build: {system: cmake}\n")
    shutil.copy(FIXTURE / "detached-plugin" / "provider.c", tmp_path / "my-src")
    source = read(tmp_path, tmp_path / "my-src").source
    assert source is not None
    staged = stage(source, tmp_path / "staged", "runtime.yaml", Children())
    assert (staged / "source" / "detached.h").read_text().startswith("/* patched */\n")
    assert not (staged / "source" / ".git").exists()
    assert (staged / "build.env").read_text() == "SYSTEM=cmake\n"


def test_an_archive_is_staged_without_its_top_directory(tmp_path: Path) -> None:
    path, sha256 = archive(tmp_path)
    tail = f"source: {{archive: {{file: ../{path.name}, sha256: {sha256}}}}}\n"
    tail += "build: {system: autotools, configure: [CC=cc, --prefix=/ignored]}\n"
    source = read(tmp_path, plugin(tmp_path, tail)).source
    assert source is not None
    staged = stage(source, tmp_path / "staged", "runtime.yaml", Children())
    assert (staged / "source" / "configure").is_file() and (staged / "source" / "detached.c").is_file()
    assert (staged / "configure.args").read_text() == "CC=cc\n--prefix=/ignored\n"


def test_the_bundle_tells_build_sh_and_the_evidence_about_the_source(tmp_path: Path) -> None:
    matrix = load_matrix(REPO, [FIXTURE / "detached-plugin"])
    files = compiled_files(matrix)
    variants = files["variants.tsv"].decode().splitlines()
    assert "detached\tplugin\t-\t-\tsource" in variants  # build.sh: its library is in $DLM_BUILT/NAME
    assert "libgomp\tplugin\t-\t-\t-" in variants and "lttng-ust\tlttng-ust\t-\t-\t-" in variants
    assert "lttng-ust-2.13.9\tlttng-ust\t-\t-\tsource" in variants  # the same path, from its entry
    assert b"DLM_EVIDENCE_SOURCE" not in files["plugins/detached/runtime.env"]  # it comes with the build
    glibc = render(matrix, matrix.image("debian-bookworm-glibc"))
    assert "detached.log" not in glibc  # no package layer entry: its library comes from its build


def test_each_image_builds_a_source_plugin_in_a_stage_of_its_own_with_its_compiler(tmp_path: Path) -> None:
    directory = tmp_path / "detached"
    shutil.copytree(FIXTURE / "detached-plugin", directory)
    text = (directory / "runtime.yaml").read_text().replace("../detached-lib", str(FIXTURE / "detached-lib"))
    (directory / "runtime.yaml").write_text(
        text.replace("  system: make\n", "  system: cmake\n  requires: {apt: [cmake], apk: [make, cmake]}\n")
    )
    matrix = load_matrix(REPO, [directory])
    run = (
        "sh /usr/src/plugins/detached/build-source.sh /usr/src/plugins/detached /opt/dlmatrix-built/detached"
    )
    copy = "COPY --from=source-detached /opt/dlmatrix-built/detached/ /opt/dlmatrix-built/detached/"
    caches = "DLM_CONFIGURE_CACHES=/opt/dlmatrix-configure-caches"  # an autotools build's (this is cmake)
    for image, cc in (
        ("debian-bookworm-glibc", "gcc"),
        ("debian-bookworm-musl", "musl-gcc CXX=false"),  # no C++ compiler for musl there
        ("alpine-3.22-musl", "gcc"),
    ):
        text = render(matrix, matrix.image(image))
        stage = text.split("AS source-detached\n", 1)[1].split("\nFROM ", 1)[0]
        ccache = "/var/cache/dlmatrix/ccache"
        # one compiler cache per image, shared by its stages (ccache locks its own files)
        mount = f"--mount=type=cache,id=dlmatrix-ccache-{image},target={ccache},sharing=shared"
        assert (
            stage.startswith(f"ENV CC={cc}\n")
            and f"RUN {mount} DLM_CCACHE={ccache} DLM_CCACHE_SHARED=1 {caches} {run}" in stage
            and "COPY upstream/_plugins/detached/ /usr/src/plugins/detached/" in stage
        )
        classic = render(matrix, matrix.image(image), cache_mounts=False)  # docker's classic builder
        assert f"RUN {caches} {run}" in classic and "--mount" not in classic
        assert ("cmake" in stage) and ("make cmake" in stage) == (image == "alpine-3.22-musl")
        # the suite's layer leaves the plug-in's variant to a stage of its own, with its prefix,
        # and copies what it built
        variant = text.split("AS variant-detached\n", 1)[1].split("\nFROM ", 1)[0]
        assert copy in variant and "DLM_ONLY=detached sh /usr/src/dlmatrix/build.sh" in variant
        prefix = "/rootfs/opt/dlmatrix" if image == "debian-bookworm-musl" else "/opt/dlmatrix"
        suite = text.index('detached" sh /usr/src/dlmatrix/build.sh')  # DLM_LATER="... detached"
        assert suite < text.index(f"COPY --from=variant-detached {prefix}/rt/detached/ {prefix}/rt/detached/")
    rendered = tmp_path / "Dockerfile"
    rendered.write_text(render(matrix, matrix.image("debian-bookworm-musl")))
    linted = subprocess.run(["hadolint", str(rendered)], capture_output=True, text=True, check=False)
    assert linted.returncode == 0, linted.stdout


def test_a_source_stage_is_keyed_by_the_tree_and_keeps_modes(tmp_path: Path) -> None:
    top = tmp_path / "lib"
    shutil.copytree(FIXTURE / "detached-lib", top)
    directory = plugin(tmp_path, "source: {path: ../lib}\nbuild: {system: autotools, libs: -ldetached}\n")
    matrix = load_matrix(REPO, [directory])
    image = matrix.image("debian-bookworm-glibc")

    def context(wanted: bool = True) -> dict[str, bytes | Path]:
        staged = stage_all(matrix, source_runtimes(matrix, Selector.of()), tmp_path / "sources")
        return upstream_context(matrix, image, lambda name: wanted, staged)

    first = context()
    digest = context_digest(first)
    assert "_plugins/my-src/source/configure" in first and "_plugins/my-src/build-source.sh" in first
    write_context(first, tmp_path / "context")
    assert os.access(tmp_path / "context" / "_plugins/my-src/source/configure", os.X_OK)
    assert context_digest(context()) == digest  # staged again, the same inputs
    (top / "detached.c").write_text((top / "detached.c").read_text() + "/* edited */\n")
    assert context_digest(context()) != digest
    assert context(wanted=False)["_plugins/my-src/NOT-SELECTED"]


def test_the_host_marks_package_free_plugins_ok_and_others_not_applicable(tmp_path: Path) -> None:
    here = tmp_path / "here"
    here.mkdir()
    text = (FIXTURE / "detached-plugin" / "runtime.yaml").read_text()
    text = text.replace("name: detached", "name: here").replace("source:\n  path: ../detached-lib\n", "")
    (here / "runtime.yaml").write_text(
        text.replace("  system: make\n", "").replace("build:", "packages: {apt: []}\nbuild:")
    )
    shutil.copy(FIXTURE / "detached-plugin" / "provider.c", here)
    matrix = load_matrix(REPO, [here])
    packages, built = plugin_markers(matrix, matrix.hosts[0], "gcc", tmp_path / "host", {}, Children())
    assert (packages / "here.ok").is_file() and (packages / "libgomp.NOT-APPLICABLE").is_file()
    assert not any(built.iterdir())


def test_a_commit_missing_from_a_url_stops_the_run_when_cloned_before_any_build(tmp_path: Path) -> None:
    repo, commit = repository(tmp_path)
    missing = "0123456789abcdef0123456789abcdef01234567"
    tail = f"source: {{git: {{repository: 'file://{repo}', commit: {missing}}}}}\nbuild: {{system: make}}\n"
    directory = plugin(tmp_path, tail)
    matrix = load_matrix(REPO, [directory])  # a URL is not asked on load
    with pytest.raises(ConfigError, match=f"source.git.commit: {missing} is not a commit of file://"):
        stage_all(matrix, source_runtimes(matrix, Selector.of()), tmp_path / "sources")
    (directory / "runtime.yaml").write_text(HEAD + tail.replace(missing, commit))
    matrix = load_matrix(REPO, [directory])
    staged = stage_all(matrix, source_runtimes(matrix, Selector.of()), tmp_path / "sources")
    assert (Path(staged["my-src"]) / "source" / "detached.c").is_file()


def test_a_zip_archive_keeps_its_executable_bits_and_a_tar_may_not_leave_its_tree(tmp_path):
    archive = tmp_path / "lib-1.0.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name, mode in (("lib-1.0/configure", 0o755), ("lib-1.0/lib.c", 0o644)):
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16
            zipped.writestr(info, "#!/bin/sh\n")
    unpack(archive, tmp_path / "tree")
    assert os.access(tmp_path / "tree" / "configure", os.X_OK)
    assert not os.access(tmp_path / "tree" / "lib.c", os.X_OK)

    escaping = tmp_path / "escaping.tar.gz"
    with tarfile.open(escaping, "w:gz") as tarred:
        member = tarfile.TarInfo("../outside.c")
        tarred.addfile(member, io.BytesIO(b""))
    with pytest.raises(StageFailed, match="cannot be unpacked"):
        unpack(escaping, tmp_path / "tree2")
    assert not (tmp_path / "outside.c").exists()


def test_a_snapshot_held_as_a_link_goes_into_the_context_as_its_content(tmp_path: Path) -> None:
    """A sources directory may hold links to the snapshots (the docker tests' does): the build
    context must carry the file, which the engine cannot follow a link out of."""
    real = tmp_path / "elsewhere" / "snapshot.tar.gz"
    real.parent.mkdir()
    real.write_bytes(b"snapshot")
    link = tmp_path / "sources" / "snapshot.tar.gz"
    link.parent.mkdir()
    link.symlink_to(real)
    executable = tmp_path / "tree" / "configure"
    executable.parent.mkdir()
    executable.write_text("#!/bin/sh\n")
    executable.chmod(0o755)
    files: dict[str, bytes | Path] = {
        "lttng-ust-2.13.9/snapshot.tar.gz": link,
        "_plugins/mine/source/configure": executable,
    }
    write_context(files, tmp_path / "context")
    copied = tmp_path / "context" / "lttng-ust-2.13.9" / "snapshot.tar.gz"
    assert not copied.is_symlink() and copied.read_bytes() == b"snapshot"
    assert os.access(tmp_path / "context" / "_plugins" / "mine" / "source" / "configure", os.X_OK)
    assert context_digest(files) == context_digest({**files, "lttng-ust-2.13.9/snapshot.tar.gz": real})
