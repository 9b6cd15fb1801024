"""Host backend: build the suite natively with each C library's compiler and run it."""

from __future__ import annotations

import itertools
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dlmatrix.children import Children
from dlmatrix.log import Logger
from dlmatrix.model.arches import host_arch
from dlmatrix.model.catalog import Host, Matrix
from dlmatrix.model.cells import Cell, Environment, uniform_cells
from dlmatrix.model.libc import Libc
from dlmatrix.model.selector import Selector
from dlmatrix.suite.bundle import write_bundle
from dlmatrix.suite.command import suite_arguments, suite_timeout
from dlmatrix.suite.output import suite_cells, tail

BUILD_TIMEOUT_S = 600
NO_PACKAGES = (
    "not applicable: the host backend installs no packages; runtime plug-ins run in the images "
    "(--backend docker), which install theirs"
)


def package_markers(matrix: Matrix, directory: Path) -> Path:
    """What an image's package layer leaves for build.sh, for a host: every plug-in not applicable."""
    directory.mkdir(parents=True, exist_ok=True)
    for runtime in matrix.plugins():
        (directory / f"{runtime.name}.NOT-APPLICABLE").write_text(NO_PACKAGES + "\n")
    return directory


def run_host(
    matrix: Matrix,
    host: Host,
    workdir: Path,
    selection: Selector,
    jobs: int,
    children: Children | None = None,
    warn: Callable[[str], None] | None = None,
    progress: Logger | None = None,
) -> list[Cell]:
    """One host's cells; warn is told what its suite's output warns about (default: stderr, as
    any command's logger would), progress its stages and cells done (default: nobody)."""
    env = Environment(host.name, Libc(host.libc, None), host.cc, arch=host_arch(matrix))
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
    source, out = write_bundle(matrix, workdir / host.name / "src"), workdir / host.name / "out"
    packages = package_markers(matrix, workdir / host.name / "packages")
    progress.stage(host.name, "building", f"dlm-suite and the runtimes with {cc}")
    build = children.run(
        [
            "env",
            f"CC={cc}",
            f"DLM_PACKAGES={packages}",
            "sh",
            str(source / "build.sh"),
            str(source),
            str(out),
        ],
        BUILD_TIMEOUT_S,
    )
    if build.returncode not in (0, 3):  # 3: some runtime variants failed; dlm-suite reports those
        progress.stage(host.name, "failed", f"dlm-suite did not build with {cc}")
        return uniform_cells(
            matrix,
            env,
            "build-error",
            f"dlm-suite did not build with {cc}:\n" + tail(build.stderr + build.stdout),
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
) -> list[Cell]:
    """Every selected host environment at once, sharing the budget of attempts in flight; a stop
    (children.kill_all()) ends their builds and suites."""
    children = children or Children()
    hosts = [h for h in matrix.hosts if selection.image(h.name)]
    if not hosts:
        return []
    jobs = max(1, budget // len(hosts))
    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        try:
            batches = list(
                pool.map(
                    lambda h: run_host(matrix, h, workdir, selection, jobs, children, warn, progress), hosts
                )
            )
        except BaseException:
            children.kill_all()
            raise
    return [cell for batch in batches for cell in batch]
