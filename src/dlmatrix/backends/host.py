"""Host backend: build the suite natively with each C library's compiler and run it."""

from __future__ import annotations

import itertools
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from dlmatrix.children import Children
from dlmatrix.log import Logger
from dlmatrix.model.arches import host_arch
from dlmatrix.model.catalog import Host, Matrix
from dlmatrix.model.cells import Cell, Environment, uniform_cells
from dlmatrix.model.libc import Libc
from dlmatrix.model.selector import Selector
from dlmatrix.runtimes.build import build, failed, prepare_sources, source_runtimes, stage_all
from dlmatrix.runtimes.sources import SourceDirs
from dlmatrix.suite.bundle import write_bundle
from dlmatrix.suite.command import suite_arguments, suite_timeout
from dlmatrix.suite.output import suite_cells, tail

BUILD_TIMEOUT_S = 600
NOT_INSTALLED = "not applicable: the host backend installs no packages"  # what a reason starts with
NO_PACKAGES = (
    f"{NOT_INSTALLED}; runtime plug-ins that need some run in the images (--backend docker), which "
    "install theirs"
)


def plugin_markers(
    matrix: Matrix,
    host: Host,
    cc: str,
    directory: Path,
    staged: dict[str, Path | str],
    children: Children,
) -> tuple[Path, Path]:
    """What an image's package layer and source stages leave for build.sh, natively: a plug-in
    whose library is here already (no packages to install) is marked ok, every other plug-in of
    packages not applicable; each runtime built from source is built with this host's compiler
    into built/NAME (or says why not), after the dependencies it names for this C library.
    Returns the markers' directory and the prefixes' (DLM_PACKAGES, DLM_BUILT)."""
    packages, built = directory / "packages", directory / "built"
    packages.mkdir(parents=True, exist_ok=True)
    built.mkdir(parents=True, exist_ok=True)
    for runtime in matrix.plugins():
        plugin = runtime.plugin
        if plugin is not None and plugin.source is None:  # a broken one: build.sh reports its problem
            here = not any(plugin.packages.values())
            (packages / f"{runtime.name}.{'ok' if here else 'NOT-APPLICABLE'}").write_text(
                "" if here else NO_PACKAGES + "\n"
            )
    done: dict[str, Path] = {}
    for runtime in matrix.source_runtimes():
        source = staged.get(runtime.name)  # none: not selected, and nothing built
        if source is None:
            continue
        depends = tuple(
            done.get(d.name) or done.setdefault(d.name, _built(matrix, d.name, cc, built, staged, children))
            for d in matrix.dependencies_for(runtime, host.libc)
        )
        _built(matrix, runtime.name, cc, built, staged, children, depends)
    return packages, built


def _built(
    matrix: Matrix,
    name: str,
    cc: str,
    built: Path,
    staged: dict[str, Path | str],
    children: Children,
    depends: tuple[Path, ...] = (),
) -> Path:
    """One staged source built into built/NAME, or the prefix that says why it could not be staged."""
    source = staged.get(name, f"{name} was not staged")
    if isinstance(source, str):
        return failed(built / name, source)
    return build(matrix, source, built / name, cc, children, depends)


def run_host(
    matrix: Matrix,
    host: Host,
    workdir: Path,
    selection: Selector,
    jobs: int,
    children: Children | None = None,
    warn: Callable[[str], None] | None = None,
    progress: Logger | None = None,
    staged: dict[str, Path | str] | None = None,
) -> list[Cell]:
    """One host's cells; warn is told what its suite's output warns about (default: stderr, as
    any command's logger would), progress its stages and cells done (default: nobody). staged: the
    sources of the runtimes built from source (runtimes.build.stage_all), staged here when not
    given. The runtimes hosts.yaml leaves out (every_host) are skipped with its reason."""
    env = Environment(host.name, Libc(host.libc, None), host.cc, arch=host_arch(matrix))
    kept = on_hosts(matrix, selection)
    dropped = [(s, r) for s, r in selection.pairs(matrix, host.name) if not kept.runtime(r.name, host.name)]
    cells = _host_cells(matrix, host, env, workdir, kept, jobs, children, warn, progress, staged)
    read = next((c for c in cells if c.libc.version), None)  # what the suite read, for the others too
    if read is not None:
        env = replace(env, libc=read.libc, compiler=read.compiler)
    return cells + uniform_cells(matrix, env, "skipped", matrix.on_hosts.reason, dropped)


def on_hosts(matrix: Matrix, selection: Selector) -> Selector:
    """The selection less what the host backend leaves out (hosts.yaml's every_host)."""
    return selection.without_runtimes(matrix.on_hosts.names(matrix.runtimes))


def _host_cells(
    matrix: Matrix,
    host: Host,
    env: Environment,
    workdir: Path,
    selection: Selector,
    jobs: int,
    children: Children | None,
    warn: Callable[[str], None] | None,
    progress: Logger | None,
    staged: dict[str, Path | str] | None,
) -> list[Cell]:
    children = children or Children()
    progress = progress or Logger.from_environment(quiet=True)
    cc = shutil.which(host.cc)
    if cc is None:
        progress.stage(host.name, "skipped", f"{host.cc} is not installed")
        return uniform_cells(
            matrix,
            env,
            "skipped",
            f"{host.cc} is not installed; fix: {host.install}",
            selection.pairs(matrix, host.name),
        )
    if staged is None:
        staged = stage_all(
            matrix, source_runtimes(matrix, selection, host.name), workdir / "sources", children
        )
    source, out = (
        write_bundle(matrix, workdir / host.name / "src", image=host.name),
        workdir / host.name / "out",
    )
    what = "the plug-ins from source, dlm-suite and the runtimes" if staged else "dlm-suite and the runtimes"
    progress.stage(host.name, "building", f"{what} with {cc}")
    packages, built = plugin_markers(matrix, host, cc, workdir / host.name, staged, children)
    compiled = children.run(
        [
            "env",
            f"CC={cc}",
            f"DLM_PACKAGES={packages}",
            f"DLM_BUILT={built}",
            "sh",
            str(source / "build.sh"),
            str(source),
            str(out),
        ],
        BUILD_TIMEOUT_S,
    )
    if compiled.returncode not in (0, 3):  # 3: some runtime variants failed; dlm-suite reports those
        progress.stage(host.name, "failed", f"dlm-suite did not build with {cc}")
        return uniform_cells(
            matrix,
            env,
            "build-error",
            f"dlm-suite did not build with {cc}:\n" + tail(compiled.stderr + compiled.stdout),
            selection.pairs(matrix, host.name),
        )
    command = [str(out / "bin" / "dlm-suite"), *suite_arguments(matrix, selection, jobs, host.name)]
    total, done = len(selection.pairs(matrix, host.name)), itertools.count(1)

    def counted(line: str) -> None:
        if line.startswith('{"type":"cell"'):
            progress.cells(host.name, next(done), total)

    progress.stage(host.name, "running")
    progress.cells(host.name, 0, total)
    try:
        run = children.stream(command, suite_timeout(matrix, selection, host.name), counted)
        stdout, problem = run.stdout, tail(run.stderr)
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
        problem = f"the harness timeout of {exc.timeout:.0f} s expired; raise the scenario timeouts' sum"
    warn = warn or Logger.from_environment().warning
    cells, missing = suite_cells(matrix, env, stdout.splitlines(), problem, selection, warn)
    progress.stage(
        host.name, "failed" if missing else "done", f"{missing} cells did not run" if missing else ""
    )
    return cells


def run_hosts(
    matrix: Matrix,
    workdir: Path,
    selection: Selector,
    budget: int,
    children: Children | None = None,
    warn: Callable[[str], None] | None = None,
    progress: Logger | None = None,
    sources: SourceDirs | None = None,
) -> list[Cell]:
    """Every selected host environment at once, sharing the budget of attempts in flight; a stop
    (children.kill_all()) ends their builds and suites. sources: where archives and patches that
    say where they come from are looked up (checked before anything is staged)."""
    children = children or Children()
    hosts = [h for h in matrix.hosts if selection.image(h.name)]
    if not hosts:
        return []
    jobs = max(1, budget // len(hosts))
    # staged once, for every host, before anything is built
    staged = prepare_sources(matrix, on_hosts(matrix, selection), sources, workdir / "sources", children)
    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        try:
            batches = list(
                pool.map(
                    lambda h: run_host(matrix, h, workdir, selection, jobs, children, warn, progress, staged),
                    hosts,
                )
            )
        except BaseException:
            children.kill_all()
            raise
    return [cell for batch in batches for cell in batch]
