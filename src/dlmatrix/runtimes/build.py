"""Runtimes built from source (plug-ins and catalog entries such as LTTng-UST alike) and the
dependencies they name: staging the source (a directory's tree, a git commit, an archive; patches
applied) and building it into a prefix with src/c/source/build-source.sh.

A stage directory holds source/ (the tree), build.env, configure.args and evidence.env (what each
cell records of the source): what build-source.sh reads, natively for the host backend or in an
image's build stage; or a marker instead, MISSING (an archive or patch in none of the sources
directories: the runtime's cells are skipped, saying so). A failed build leaves
PREFIX/BUILD-FAILED with the end of its log, which build.sh turns into that runtime's build error.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from dlmatrix.children import Children
from dlmatrix.errors import ConfigError, DlmatrixError
from dlmatrix.files import sha256_of, user_cache
from dlmatrix.model.catalog import OUTPUT_LOCK, Matrix, Runtime, Source, SourcePatch
from dlmatrix.model.selector import Selector
from dlmatrix.runtimes.sources import SourceDirs, missing_reason, resolve, verify

BUILD_SCRIPT = ("src", "c", "source", "build-source.sh")
STAGE_SCHEME = "2"  # of a kept staged tree (kept_slot): another when stage() writes something else
BUILD_TIMEOUT_S = 1800
STAGE_TIMEOUT_S = 600
# what is never part of a source tree: version control, objects and libraries of an earlier build
# in place; build directories are recognised by what they hold (CMakeCache.txt, meson-private/)
LEFT_OUT = (".git", ".hg", ".svn", "*.o", "*.lo", "*.la", "*.a", "*.so", "*.so.*", ".libs", ".deps")


class StageFailed(DlmatrixError):
    """The source could not be staged (a clone, an archive, a patch): that runtime's build error."""


def stage(
    source: Source,
    directory: Path,
    label: str,
    children: Children | None = None,
    plugin: Path | None = None,
    base: Source | None = None,
) -> Path:
    """directory/source/, patches applied, with build.env, configure.args and evidence.env beside
    it; or directory/MISSING when an archive or patch is in none of the sources directories (source
    is resolved: runtimes.sources.resolve). plugin: the plug-in's directory, left out of a path
    source it sits in. base: the source of the runtime it derives from (build.derived-from), whose
    built tree an image's stage patches with derive/*.patch (build-source.sh builds source/ where
    that tree is not kept, as on the host)."""
    children = children or Children()
    if directory.exists():
        shutil.rmtree(directory)
    tree = directory / "source"
    directory.mkdir(parents=True)
    missing = missing_reason(source)
    if missing is not None:
        (directory / "MISSING").write_text(missing + "\n")
        return directory
    if source.kind == "path":
        copy_tree(Path(source.location), tree, plugin)
    elif source.kind == "git":
        clone(source, tree, label, children)
    else:
        unpack(Path(source.location), tree)
    for patch in source.patches:
        assert patch.path is not None  # resolved, or missing_reason said so
        done = children.run(["patch", "-p1", "-d", str(tree), "-i", str(patch.path)], STAGE_TIMEOUT_S)
        if done.returncode != 0:
            raise StageFailed(f"{label}: the patch {patch.file} does not apply:\n{done.stdout}{done.stderr}")
    env = {"SYSTEM": source.system}
    if source.subdirs:
        env["SUBDIRS"] = " ".join(source.subdirs)
    if base is not None and source.derived_from:
        env["BASE"] = source.derived_from
        _derive_patches(source.patches[len(base.patches) :], directory / "derive")
    if source.configure_cache_from:
        env["CONFIGURE_CACHE_FROM"] = source.configure_cache_from
    if source.script:
        shutil.copyfile(source.script, directory / "build-script.sh")
        env["SCRIPT"] = "build-script.sh"
    (directory / "build.env").write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in env.items()))
    (directory / "configure.args").write_text("".join(f"{arg}\n" for arg in source.configure))
    evidence = "".join(f"DLM_EVIDENCE_{k.upper()}={v}\n" for k, v in source.evidence().items())
    (directory / "evidence.env").write_text(evidence)
    return directory


def _derive_patches(patches: tuple[SourcePatch, ...], directory: Path) -> None:
    """The patches a derived build applies to its base's tree, numbered in their order."""
    directory.mkdir()
    for number, patch in enumerate(patches, 1):
        assert patch.path is not None  # resolved, or missing_reason said so
        shutil.copyfile(patch.path, directory / f"{number:02d}-{patch.file}")


def source_files(top: Path, plugin: Path | None = None) -> list[Path]:
    """The files of a source directory, relative to it: in a git work tree those git would show
    (tracked or not, unless ignored: uncommitted work is what a maintainer wants tested), else
    every file but those LEFT_OUT; in both, nothing under a build directory, a run's output
    directory or the plug-in's own directory (its expectations are no part of the library: an edit
    to them must not rebuild it)."""
    files = [n for n in _git_files(top) if (top / n).is_file() or (top / n).is_symlink()]
    if not files:  # not in a work tree (or all of it ignored there)
        for folder, dirs, names in os.walk(top):
            dirs[:] = [d for d in dirs if not _left_out(d)]
            files += [Path(folder, n).relative_to(top) for n in names if not _left_out(n)]
    build_dirs = {p.parent for p in files if p.name in ("CMakeCache.txt", OUTPUT_LOCK)}
    if plugin is not None and top.resolve() in plugin.resolve().parents:
        build_dirs.add(plugin.resolve().relative_to(top.resolve()))
    build_dirs |= {
        Path(*p.parts[: p.parts.index("meson-private")]) for p in files if "meson-private" in p.parts
    }
    return sorted(p for p in files if not any(d in p.parents for d in build_dirs))


def _git_files(top: Path) -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "-C", str(top), "ls-files", "-z", "--cached", "--others", "--exclude-standard", "."],
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        return []
    return [Path(n) for n in listed.stdout.decode().split("\0") if n] if listed.returncode == 0 else []


def _left_out(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in LEFT_OUT)


def copy_tree(top: Path, tree: Path, plugin: Path | None = None) -> None:
    for name in source_files(top, plugin):
        target = tree / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(top / name, target, follow_symlinks=False)


def clone(source: Source, tree: Path, label: str, children: Children) -> None:
    """The commit, from a clone, a bundle or a URL; .git is left out, as for a directory."""
    cloned = children.run(
        ["git", "clone", "-q", "--no-checkout", source.location, str(tree)], STAGE_TIMEOUT_S
    )
    if cloned.returncode != 0:
        raise StageFailed(f"{label}: git clone {source.location} failed:\n{cloned.stderr}")
    git = ["git", "-C", str(tree)]
    if children.run([*git, "cat-file", "-e", f"{source.commit}^{{commit}}"], STAGE_TIMEOUT_S).returncode:
        raise ConfigError(
            label,
            "source.git.commit",
            f"{source.commit} is not a commit of {source.location}",
            "a commit the repository holds (git ls-remote REPOSITORY)",
        )
    checkout = children.run([*git, "-c", "advice.detachedHead=false", "checkout", "-q", source.commit], 120)
    if checkout.returncode != 0:
        raise StageFailed(f"{label}: git checkout {source.commit} failed:\n{checkout.stderr}")
    shutil.rmtree(tree / ".git")


def unzip(opened: zipfile.ZipFile, scratch: Path) -> None:
    """extractall, keeping each member's mode (zipfile drops it, and with it configure's x bit)."""
    for info in opened.infolist():
        target = Path(opened.extract(info, scratch))
        mode = info.external_attr >> 16 & 0o777
        if mode and not info.is_dir():
            target.chmod(mode)


def unpack(archive: Path, tree: Path) -> None:
    """A tar (any compression) or zip archive; a single top directory is the tree itself."""
    with tempfile.TemporaryDirectory(dir=tree.parent) as scratch:
        try:
            if zipfile.is_zipfile(archive):
                with zipfile.ZipFile(archive) as opened:
                    unzip(opened, Path(scratch))
            else:
                if not hasattr(tarfile, "data_filter"):  # an interpreter older than the package allows
                    raise DlmatrixError(
                        f"unpacking {archive.name} needs Python 3.11.4 or later (tarfile's extraction "
                        f"filters); this is {sys.version.split()[0]}",
                        "run dlmatrix with a newer Python (pipx install --python python3.12 dlmatrix)",
                    )
                with tarfile.open(archive) as tarred:
                    tarred.extractall(scratch, filter="data")
        except (OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
            raise StageFailed(f"{archive.name} cannot be unpacked: {exc}") from None
        entries = list(Path(scratch).iterdir())
        top = entries[0] if len(entries) == 1 and entries[0].is_dir() else Path(scratch)
        shutil.copytree(top, tree, symlinks=True)


def failed(prefix: Path, text: str) -> Path:
    """A prefix that says why nothing was built in it (build.sh reads BUILD-FAILED)."""
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "BUILD-FAILED").write_text(text.rstrip("\n") + "\n")
    return prefix


def build(
    matrix: Matrix,
    staged: Path,
    prefix: Path,
    cc: str,
    children: Children | None = None,
    depends: tuple[Path, ...] = (),
) -> Path:
    """The staged source built into prefix with cc (its log in prefix/build.log), against the
    prefixes of the dependencies it names that were built for this C library."""
    children = children or Children()
    if prefix.exists():
        shutil.rmtree(prefix)
    script = matrix.root.joinpath(*BUILD_SCRIPT)
    command = ["sh", str(script), str(staged), str(prefix), *map(str, depends)]
    try:
        # the host's compiler cache (ccache tells compilers apart, and is safe to share)
        ccache = user_cache() / "ccache"
        children.run(
            command, BUILD_TIMEOUT_S, env={"CC": cc, "DLM_CCACHE": str(ccache), "DLM_CCACHE_SHARED": "1"}
        )
    except subprocess.TimeoutExpired:
        return failed(prefix, f"the build did not finish in {BUILD_TIMEOUT_S} s; its log: {prefix}/build.log")
    markers = ("BUILD-FAILED", "MISSING", "NOT-SELECTED")
    if not any((prefix / m).exists() for m in markers) and not (prefix / "lib").is_dir():
        return failed(prefix, f"{script.name} did not run to its end; its log: {prefix}/build.log")
    return prefix


def source_runtimes(matrix: Matrix, selection: Selector, image: str | None = None) -> list[Runtime]:
    """The selected runtimes built from source (in image, when a shard narrows it)."""
    return [r for r in matrix.source_runtimes() if r.problem is None and selection.runtime(r.name, image)]


def _staged(
    name: str,
    source: Source,
    directory: Path,
    children: Children,
    dirs: SourceDirs,
    plugin: Path | None,
    base: Source | None = None,
) -> Path | str:
    """One source staged, or why it could not be (a clone, an archive, a patch: a build error)."""
    label = source.label or name
    try:
        resolved = resolve(source, dirs)
        slot = kept_slot(resolved, base)
        if slot is None:
            return stage(resolved, directory / name, label, children, plugin, base)
        return slot if slot.is_dir() else keep_staged(resolved, slot, label, children, base)
    except StageFailed as exc:
        return str(exc)


def kept_slot(source: Source, base: Source | None = None) -> Path | None:
    """Where an archive's staged tree is kept between runs (None for a directory or a commit, which
    are staged afresh): named by what it is made of, the archive and patches by their checksums and
    the build's settings, never by where they were found. Each run otherwise unpacks and removes
    every snapshot again, seconds before the first cell of a run whose images are all built."""
    if source.kind != "archive" or missing_reason(source) is not None:
        return None
    patches = [patch.sha256 or sha256_of(patch.path) for patch in source.patches if patch.path]
    script = sha256_of(Path(source.script)) if source.script else ""
    parts = [STAGE_SCHEME, source.sha256, *patches, source.system, *source.configure, script]
    parts += [*source.subdirs, f"derived-from={source.derived_from}"]  # build.env and derive/ say them
    parts += [f"configure-cache-from={source.configure_cache_from}"] if source.configure_cache_from else []
    parts += [f"base-patches={len(base.patches)}"] if base is not None and source.derived_from else []
    parts += [f"{k}={v}" for k, v in sorted(source.evidence().items())]
    key = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]
    return kept_root() / key


def kept_root() -> Path:
    return user_cache() / "staged"


def is_kept(path: Path) -> bool:
    """Whether path is in a kept staged tree, which never changes once kept."""
    return path.is_relative_to(kept_root())


def keep_staged(
    source: Source, slot: Path, label: str, children: Children, base: Source | None = None
) -> Path:
    """Stages into a directory of this process's own, then renames it into place: a concurrent run
    that got there first wins, and nothing half staged is ever found."""
    partial = slot.with_name(f"{slot.name}.{os.getpid()}.partial")
    stage(source, partial, label, children, base=base)
    try:
        partial.rename(slot)
    except OSError:  # another run kept the same tree meanwhile
        shutil.rmtree(partial, ignore_errors=True)
    return slot


def stage_all(
    matrix: Matrix,
    runtimes: list[Runtime],
    directory: Path,
    children: Children | None = None,
    dirs: SourceDirs | None = None,
) -> dict[str, Path | str]:
    """Each runtime's staged source (and that of the runtime each derived one is built from), and
    each dependency's that one of them names, or why it could not be staged; before any build, so
    that a commit missing from a repository given as a URL stops the run (ConfigError) first."""
    staged: dict[str, Path | str] = {}
    children = children or Children()
    dirs = dirs or SourceDirs.from_option()
    runtimes = matrix.with_bases(runtimes)
    named = {name for r in runtimes if r.source is not None for name in r.source.depends}
    try:
        for runtime in runtimes:
            assert runtime.source is not None
            plugin = runtime.plugin.directory if runtime.plugin else None
            base = matrix.base_of(runtime)
            staged[runtime.name] = _staged(
                runtime.name, runtime.source, directory, children, dirs, plugin, base.source if base else None
            )
        for dependency in (d for d in matrix.dependencies if d.name in named):
            staged[dependency.name] = _staged(
                dependency.name, dependency.source, directory, children, dirs, None
            )
    except BaseException:  # a stop: a clone or patch in its own session would outlive the run
        children.kill_all()
        raise
    return staged


def prepare_sources(
    matrix: Matrix,
    selection: Selector,
    dirs: SourceDirs | None,
    directory: Path,
    children: Children | None = None,
) -> dict[str, Path | str]:
    """Before anything is built: the files looked up in the sources directories checked and the
    sources staged (stage_all); a wrong sha256 or a commit missing from a repository stops the run."""
    dirs = dirs or SourceDirs.from_option()
    verify(matrix, selection.runtimes, dirs)
    return stage_all(matrix, source_runtimes(matrix, selection), directory, children, dirs)
