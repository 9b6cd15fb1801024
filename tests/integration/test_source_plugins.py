"""Runtime plug-ins built from source, natively: the fixture library (tests/fixtures/detached-lib,
whose constructor starts a detached thread) built with make and with Meson from a directory, with
CMake from a commit of a git bundle, and with autotools from an archive, on this host's glibc and
musl; and one whose build fails, which costs its own cells only."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from dlmatrix.backends.host import run_host
from dlmatrix.cli.main import main
from dlmatrix.config.load import load_matrix
from dlmatrix.model.cells import Cell
from dlmatrix.model.selector import Selector
from dlmatrix.results.io import read_results
from dlmatrix.runtimes.build import build, source_runtimes, stage_all
from tests.conftest import REPO, need

pytestmark = pytest.mark.native
FIXTURE = REPO / "tests" / "fixtures"
# make from a path, CMake from a git bundle, autotools from an archive, Meson from a path
BUILT = ("detached", "detached-cmake", "detached-autotools", "detached-meson")


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def variant(top: Path, name: str, source: str, build: str) -> Path:
    """The fixture plug-in under another name, with another source and build system."""
    text = (FIXTURE / "detached-plugin" / "runtime.yaml").read_text()
    text = text.replace("name: detached\n", f"name: {name}\n")
    text = text.replace("source:\n  path: ../detached-lib\n", source).replace("  system: make\n", build)
    directory = top / name
    directory.mkdir()
    (directory / "runtime.yaml").write_text(text)
    shutil.copy(FIXTURE / "detached-plugin" / "provider.c", directory)
    return directory


def plugins(top: Path) -> list[Path]:
    repo = top / "repo"
    shutil.copytree(FIXTURE / "detached-lib", repo)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "lib")
    commit = git(repo, "rev-parse", "HEAD")
    git(repo, "bundle", "create", str(top / "lib.bundle"), "--all")
    shutil.rmtree(repo)  # the bundle alone
    with tarfile.open(top / "lib-1.0.tar.gz", "w:gz") as tarred:
        tarred.add(FIXTURE / "detached-lib", arcname="lib-1.0")
    sha256 = hashlib.sha256((top / "lib-1.0.tar.gz").read_bytes()).hexdigest()
    archive = f"source:\n  archive: {{file: ../lib-1.0.tar.gz, sha256: {sha256}}}\n"
    broken = variant(top, "detached-broken", archive, "  system: autotools\n  configure: [--bogus]\n")
    text = (broken / "runtime.yaml").read_text().split("expectations:\n")[0]
    expect = "  - {libc: '*', outcome: build-error, reason: configure refuses --bogus.}\n"
    (broken / "runtime.yaml").write_text(text + "expectations:\n" + expect)
    return [
        FIXTURE / "detached-plugin",
        variant(
            top,
            "detached-cmake",
            f"source:\n  git: {{repository: ../lib.bundle, commit: {commit}}}\n",
            "  system: cmake\n",
        ),
        variant(top, "detached-autotools", archive, "  system: autotools\n"),
        variant(top, "detached-meson", f"source:\n  path: {FIXTURE / 'detached-lib'}\n", "  system: meson\n"),
        broken,
    ]


@pytest.fixture(scope="module")
def cells(tmp_path_factory: pytest.TempPathFactory) -> list[Cell]:
    top = tmp_path_factory.mktemp("source-plugins")
    arguments = ["run", "--backend", "host", "--out", str(top / "out"), "--runtime", "detached*"]
    for directory in plugins(top):
        arguments += ["--runtimes", str(directory)]
    code = main(arguments)
    found = read_results(top / "out" / "results.json").cells
    assert code == 0, [(c.image, c.scenario, c.runtime, c.result, c.expected, c.stderr) for c in found]
    return found


def cell(cells: list[Cell], image: str, scenario: str, runtime: str) -> Cell:
    [found] = [c for c in cells if (c.image, c.scenario, c.runtime) == (image, scenario, runtime)]
    return found


def test_every_cell_ran_on_both_c_libraries_and_none_was_skipped(cells: list[Cell]) -> None:
    assert {(c.image, c.runtime) for c in cells} == {
        (image, runtime) for image in ("host-glibc", "host-musl") for runtime in (*BUILT, "detached-broken")
    }
    assert {c.verdict for c in cells if c.runtime != "detached-broken"} == {"ok"}
    # its rule declares the build error: declared, but nothing was tested, so never ok
    assert {c.verdict for c in cells if c.runtime == "detached-broken"} == {"not-run"}


@pytest.mark.parametrize("runtime", BUILT)
def test_glibc_unmaps_the_built_library_under_its_thread(cells: list[Cell], runtime: str) -> None:
    seed = cell(cells, "host-glibc", "app-dlopen-dlclose", runtime)
    assert seed.result == "crash:SIGSEGV"
    assert seed.evidence["mapped@after-close"] is False
    assert seed.evidence["package"] == "none (built here)"
    assert str(seed.evidence["elf_file"]).endswith(f"/rt/{runtime}/lib/libdetached.so.1.0")
    assert cell(cells, "host-glibc", "app-linked", runtime).result == "pass"


@pytest.mark.parametrize("runtime", BUILT)
def test_musl_keeps_the_built_library_mapped(cells: list[Cell], runtime: str) -> None:
    seed = cell(cells, "host-musl", "app-dlopen-dlclose", runtime)
    assert seed.result == "pass"
    assert seed.evidence["mapped@after-close"] is True
    assert seed.evidence["listener_threads@after-close"] == 1


def test_the_evidence_names_the_source(cells: list[Cell]) -> None:
    sources = {c.runtime: c.evidence.get("source") for c in cells if c.image == "host-glibc"}
    assert sources["detached"] == "path:detached-lib"
    assert str(sources["detached-cmake"]).startswith("git:")
    assert str(sources["detached-autotools"]).startswith("archive:lib-1.0.tar.gz@sha256:")
    # how each was built: in the environment's own toolchain, with its compiler and version
    version = subprocess.run(["gcc", "-dumpfullversion"], capture_output=True, text=True, check=True).stdout
    for image, compiler in (("host-glibc", "gcc"), ("host-musl", "musl-gcc")):
        built_by = {c.evidence.get("built_by") for c in cells if c.image == image and c.runtime == "detached"}
        assert built_by == {f"native {compiler} {version.strip()}"}, image


def test_a_failed_build_costs_its_own_cells_with_its_log(cells: list[Cell]) -> None:
    for image in ("host-glibc", "host-musl"):
        broken = cell(cells, image, "app-dlopen-dlclose", "detached-broken")
        assert broken.result == "build-error"
        assert "configure: unknown argument --bogus" in broken.stderr


def test_a_script_builds_with_the_prefix_and_compiler_it_is_given(tmp_path: Path) -> None:
    """build.system script, and what a failing one leaves: BUILD-FAILED with the end of its log."""
    directory = variant(
        tmp_path, "detached-script", "source:\n  path: lib\n", "  system: script\n  script: build.sh\n"
    )
    shutil.copytree(FIXTURE / "detached-lib", directory / "lib")
    script = directory / "build.sh"
    script.write_text('set -e\necho "prefix $1 compiler $2"\nmake CC="$CC" install PREFIX="$PREFIX"\n')
    matrix = load_matrix(REPO, [directory])
    staged = stage_all(matrix, source_runtimes(matrix, Selector.of()), tmp_path / "sources")
    prefix = build(matrix, Path(staged["detached-script"]), tmp_path / "prefix", "musl-gcc")
    assert (prefix / "lib" / "libdetached.so.1").is_file() and (prefix / "include" / "detached.h").is_file()
    assert f"prefix {prefix} compiler musl-gcc" in (prefix / "build.log").read_text()
    assert not (prefix / "BUILD-FAILED").exists()
    script.write_text('echo "about to fail"\nexit 7\n')
    staged = stage_all(matrix, source_runtimes(matrix, Selector.of()), tmp_path / "sources")
    prefix = build(matrix, Path(staged["detached-script"]), tmp_path / "prefix", "gcc")
    assert "about to fail" in (prefix / "BUILD-FAILED").read_text()


@pytest.mark.parametrize("system", ["make", "cmake"])
def test_an_edit_recompiles_one_object_and_the_compiler_cache_serves_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, system: str
) -> None:
    need(
        "ccache", shutil.which("ccache"), "ccache is not installed", "apt-get install ccache (bash .ci/setup)"
    )
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the host's compiler cache
    directory = variant(tmp_path, f"detached-{system}", "source:\n  path: lib\n", f"  system: {system}\n")
    shutil.copytree(FIXTURE / "detached-lib", directory / "lib")
    matrix = load_matrix(REPO, [directory])

    def built() -> str:
        staged = stage_all(matrix, source_runtimes(matrix, Selector.of()), tmp_path / "sources")
        prefix = build(matrix, Path(staged[f"detached-{system}"]), tmp_path / "prefix", "gcc")
        return (prefix / "build.log").read_text().splitlines()[-1]

    assert built().endswith("(2 compiled, 0 from the compiler cache)")
    beat = directory / "lib" / "beat.c"
    beat.write_text(beat.read_text() + "const int edited = 1;\n")  # a comment would preprocess the same
    assert built().endswith("(1 compiled, 1 from the compiler cache)")
    assert built().endswith("(0 compiled, 2 from the compiler cache)")  # unchanged: nothing compiled


def test_a_commit_is_evidence_with_its_repository_and_patches(cells: list[Cell]) -> None:
    built = cell(cells, "host-glibc", "app-linked", "detached-cmake")
    assert built.evidence["source"] == f"git:{built.evidence['upstream_commit']}"
    assert (built.evidence["upstream_repository"], built.evidence["upstream_patches"]) == (
        "lib.bundle",
        "none",
    )
    assert "upstream_commit" not in cell(cells, "host-glibc", "app-linked", "detached-autotools").evidence


def test_a_dependency_is_built_first_and_bootstrap_makes_configure(project: Path, tmp_path: Path) -> None:
    """build.depends: the dependency (a dependencies: entry of the catalog) built first for the C
    library, its prefix in the build's CPPFLAGS and LDFLAGS and its libraries beside the runtime's;
    an autotools tree without configure runs its ./bootstrap (as the LTTng-UST snapshots need)."""
    tick = project / "matrix" / "tick"
    tick.mkdir()
    (tick / "tick.h").write_text("int tick(void);\n")
    (tick / "tick.c").write_text('#include "tick.h"\nint tick(void) { return 42; }\n')
    (tick / "Makefile").write_text(
        "libtick.so.1: tick.c\n\t$(CC) -shared -fPIC -Wl,-soname,libtick.so.1 -o $@ tick.c\n"
        "install: libtick.so.1\n\tmkdir -p $(PREFIX)/lib $(PREFIX)/include\n"
        "\tcp libtick.so.1 $(PREFIX)/lib/ && ln -sf libtick.so.1 $(PREFIX)/lib/libtick.so\n"
        "\tcp tick.h $(PREFIX)/include/\n"
    )
    runtimes = project / "matrix" / "runtimes.yaml"
    runtimes.write_text(
        runtimes.read_text().replace(
            "dependencies:\n",
            "dependencies:\n"
            "  - {name: tick, description: a dependency, source: {path: tick}, build: {system: make}}\n",
        )
    )
    lib = tmp_path / "lib"
    shutil.copytree(FIXTURE / "detached-lib", lib)
    (lib / "configure").rename(lib / "configure.kept")
    (lib / "bootstrap").write_text(  # the dependency must be found through the flags, or no configure
        "set -e\n"
        'printf "#include <tick.h>\\nint main(void) { return tick() != 42; }\\n" >probe.c\n'
        "$CC $CPPFLAGS probe.c -o probe $LDFLAGS -ltick\n"
        'echo "bootstrap: tick found"\n'
        "cp configure.kept configure && chmod +x configure\n"
    )
    directory = variant(tmp_path, "detached-tick", f"source:\n  path: {lib}\n", "  system: autotools\n")
    text = (directory / "runtime.yaml").read_text()
    (directory / "runtime.yaml").write_text(
        text.replace("  libs: -ldetached\n", "  libs: -ldetached\n  depends: [tick]\n")
    )
    matrix = load_matrix(project, [directory])
    host = next(h for h in matrix.hosts if h.libc == "glibc")
    found = run_host(matrix, host, tmp_path / "work", Selector.of(runtime="detached-tick"), 2)
    assert {(c.scenario, c.result) for c in found} == {
        ("app-linked", "pass"),
        ("app-dlopen-dlclose", "crash:SIGSEGV"),
    }
    built = tmp_path / "work" / host.name / "built"
    assert (built / "detached-tick" / "depends").read_text() == f"{built / 'tick'}\n"
    assert "bootstrap: tick found" in (built / "detached-tick" / "build.log").read_text()
    assert (tmp_path / "work" / host.name / "out" / "rt" / "detached-tick" / "lib" / "libtick.so.1").is_file()


def test_a_pkg_config_entry_takes_the_first_alternative_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """build.pkg-config [[detached, detached32]] where only detached32.pc exists (as oneTBB's tbb32.pc
    on 32-bit): the provider is built with it and the cells run; where no alternative exists, the
    cells are build-error with every name tried."""
    need("native", shutil.which("pkg-config"), "pkg-config is not installed", "apt-get install pkgconf")
    found_pc = tmp_path / "pc"
    found_pc.mkdir()
    (found_pc / "detached32.pc").write_text(
        "Name: detached32\nDescription: d\nVersion: 1\nLibs: -ldetached\n"
    )
    monkeypatch.setenv("PKG_CONFIG_PATH", str(found_pc))
    directories = []
    for name, names in (
        ("detached-pc", "[detached, detached32]"),
        ("detached-nopc", "[detached-a, detached-b]"),
    ):
        directory = variant(
            tmp_path, name, f"source:\n  path: {FIXTURE / 'detached-lib'}\n", "  system: make\n"
        )
        text = (directory / "runtime.yaml").read_text()
        (directory / "runtime.yaml").write_text(
            text.replace("  libs: -ldetached\n", f"  pkg-config: [{names}]\n")
        )
        directories.append(directory)
    matrix = load_matrix(REPO, directories)
    host = next(h for h in matrix.hosts if h.libc == "glibc")
    found = run_host(matrix, host, tmp_path / "work", Selector.of(runtime="detached-*pc"), 2)
    results = {(c.runtime, c.scenario): c for c in found}
    assert {key: c.result for key, c in results.items()} == {
        ("detached-pc", "app-linked"): "pass",
        ("detached-pc", "app-dlopen-dlclose"): "crash:SIGSEGV",
        ("detached-nopc", "app-linked"): "build-error",
        ("detached-nopc", "app-dlopen-dlclose"): "build-error",
    }
    assert results["detached-pc", "app-dlopen-dlclose"].evidence["pkg_config"] == "detached32"
    log = results["detached-nopc", "app-linked"].stderr
    assert "pkg-config found none of detached-a, detached-b here, tried in that order" in log
    assert "Package detached-a was not found" in log and "Package detached-b was not found" in log
