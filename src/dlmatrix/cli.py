"""Command line: dlmatrix list | run | show | render | bases | report | bench."""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path

from rich.console import Console
from rich.table import Table

from dlmatrix.bases import BaseProvider, BaseUnavailable
from dlmatrix.bench import add_bench_arguments, command_bench
from dlmatrix.budget import ATTEMPTS_PER_CORE, CellBudget, default_budget
from dlmatrix.config import Image, Matrix, find_root, load_matrix
from dlmatrix.containers import DockerBackend
from dlmatrix.engine import Engine
from dlmatrix.errors import DlmatrixError
from dlmatrix.expectations import expect
from dlmatrix.host import run_hosts
from dlmatrix.progress import RunProgress
from dlmatrix.render import stale, write_all
from dlmatrix.report import write_report
from dlmatrix.results import Cell, ResultSet, read_results, run_metadata, write_results
from dlmatrix.selection import Selection
from dlmatrix.sources import SourceDirs, cache_dir, fetch, snapshots
from dlmatrix.terminal import cell_table, counts_line, print_outcome

PREVIOUS = "previous-results.json"


def _selection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenario", default="*", metavar="GLOB", help="scenarios to include (glob)")
    parser.add_argument("--runtime", default="*", metavar="GLOB", help="runtime variants to include (glob)")
    parser.add_argument("--image", default="*", metavar="GLOB", help="images or host environments (glob)")


def _sources_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sources",
        metavar="DIR",
        help="where upstream snapshots are looked up first (then $DLMATRIX_SOURCES, a path list, "
        f"then {cache_dir()}); `dlmatrix sources` fetches into it",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dlmatrix", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="list the cells of the matrix with their expectations")
    _selection_arguments(listing)
    run = commands.add_parser("run", help="build and run the scenarios, write results.json and index.html")
    _selection_arguments(run)
    run.add_argument(
        "--backend",
        choices=["host", "docker"],
        default="host",
        help="host: this machine's glibc and musl; docker: every image of matrix/images.yaml",
    )
    run.add_argument("--out", type=Path, required=True, metavar="DIR", help="directory for the results")
    run.add_argument("--repeat", type=int, default=1, metavar="N", help="attempts per cell (1-100)")
    run.add_argument(
        "--jobs",
        type=int,
        default=default_budget(),
        metavar="N",
        help=f"attempts in flight across the whole run (default {default_budget()}: "
        f"{ATTEMPTS_PER_CORE} per core; they wait more than they compute)",
    )
    run.add_argument(
        "--table", action="store_true", help="print every cell at the end, not only those to read"
    )
    _sources_argument(run)
    run.add_argument("--keep-build", type=Path, metavar="DIR", help="build here and keep it (default: temp)")
    run.add_argument(
        "--previous",
        type=Path,
        metavar="FILE",
        help="results.json to compare with (default: the one in --out, else reports/)",
    )
    show = commands.add_parser("show", help="print the cells of DIR/results.json as a table")
    show.add_argument("directory", type=Path, metavar="DIR")
    _selection_arguments(show)
    bench = commands.add_parser("bench", help="measure the run against its floor and the naive design")
    add_bench_arguments(bench)
    render = commands.add_parser("render", help="render dockerfiles/*/Dockerfile from the templates")
    render.add_argument("--check", action="store_true", help="fail if a committed Dockerfile is stale")
    bases = commands.add_parser("bases", help="provide every base image: present, pulled or built offline")
    bases.add_argument("--image", default="*", metavar="GLOB", help="images whose bases to provide (glob)")
    bases.add_argument("--jobs", type=int, default=2, metavar="N", help="bases provided in parallel")
    sources = commands.add_parser(
        "sources", help="check the upstream snapshots of the runtimes built from source; fetch missing ones"
    )
    _sources_argument(sources)
    sources.add_argument("--runtime", default="*", metavar="GLOB", help="runtime variants (glob)")
    sources.add_argument("--offline", action="store_true", help="only check; fetch nothing")
    report = commands.add_parser(
        "report", help="render index.html, junit.xml, summary.md from DIR/results.json"
    )
    report.add_argument("directory", type=Path, metavar="DIR")
    report.add_argument(
        "--previous",
        type=Path,
        metavar="FILE",
        help="results.json to compare with (default: DIR/previous-results.json, else reports/)",
    )
    return parser


def command_list(matrix: Matrix, args: argparse.Namespace, console: Console) -> int:
    table = Table("environment", "libc", "scenario", "runtime", "expected", "reason")
    for host in matrix.hosts:
        if not fnmatchcase(host.name, args.image):
            continue
        for scenario, runtime in matrix.pairs(args.scenario, args.runtime):
            expectation = expect(matrix.rules, scenario.name, runtime.name, host.libc, None)
            table.add_row(
                host.name,
                host.libc,
                scenario.name,
                runtime.name,
                expectation.outcome or "-",
                expectation.reason,
            )
    console.print(table)
    return 0


def previous_results(matrix: Matrix, args: argparse.Namespace) -> tuple[Path | None, ResultSet | None]:
    path = args.previous or next(
        (p for p in (args.out / "results.json", matrix.root / "reports" / "results.json") if p.is_file()),
        None,
    )
    return path, read_results(path) if path else None


def run_cells(
    matrix: Matrix,
    args: argparse.Namespace,
    console: Console,
    selection: Selection,
    previous: ResultSet | None,
) -> tuple[list[Cell], str | None]:
    """The cells of the chosen backend, and the engine's version where there is one."""
    if args.jobs < 1:
        raise DlmatrixError(f"--jobs {args.jobs} is out of range", "use 1 or more attempts in flight")
    with tempfile.TemporaryDirectory(prefix="dlmatrix-") as scratch:
        workdir = args.keep_build or Path(scratch)
        if args.backend == "host":
            return run_hosts(matrix, workdir, selection, args.jobs), None
        with RunProgress(console) as progress:
            backend = DockerBackend(
                matrix,
                Engine(),
                workdir,
                selection,
                progress,
                CellBudget(args.jobs),
                previous,
                sources=SourceDirs.from_option(args.sources),
            )
            return backend.run(), backend.docker_version


def command_run(matrix: Matrix, args: argparse.Namespace, console: Console) -> int:
    if not 1 <= args.repeat <= 100:
        raise DlmatrixError(f"--repeat {args.repeat} is out of range", "use a value from 1 to 100")
    selection = Selection(args.scenario, args.runtime, args.image, args.repeat)
    started = datetime.now(UTC)
    _, previous = previous_results(matrix, args)
    cells, docker_version = run_cells(matrix, args, console, selection, previous)
    if not cells:
        raise DlmatrixError("the selection matched no cell", "check --image, --scenario and --runtime globs")
    results = ResultSet(run_metadata(matrix, started, args.backend, args.repeat, docker_version), cells)
    if previous is not None:  # kept so that `dlmatrix report` can show the same changes again
        write_results(previous, args.out / PREVIOUS)
    write_results(results, args.out / "results.json")
    written = write_report(results, args.out, previous)
    print_outcome(results, [args.out / "results.json", *written], console, args.table)
    return 1 if results.failing() else 0


def command_sources(matrix: Matrix, args: argparse.Namespace, console: Console) -> int:
    """Each selected snapshot and patch: found (and checked), fetched, or what is missing."""
    dirs = SourceDirs.from_option(args.sources)
    target = Path(args.sources) if args.sources else cache_dir()
    missing = 0
    for upstream, runtimes, patches in snapshots(matrix, args.runtime):
        found = dirs.find(upstream.snapshot, upstream.sha256)
        if found is None and not args.offline:
            console.print(f"fetching {upstream.snapshot} from {upstream.repository} ({upstream.commit[:12]})")
            try:
                found = fetch(upstream, target)
            except DlmatrixError as failed:  # the others may still come
                console.print(f"  {failed}", markup=False)
        console.print(
            f"{'ok' if found else 'MISSING'}: {upstream.snapshot} for {', '.join(runtimes)}"
            + (f" ({found})" if found else "")
        )
        missing += found is None
        for patch in patches:
            located = dirs.find(patch.file, patch.sha256)
            console.print(
                f"{'ok' if located else 'MISSING'}: {patch.file}"
                + (f" ({located})" if located else f": {patch.origin}; put it in {target}")
            )
            missing += located is None
    if missing:
        raise DlmatrixError(
            f"{missing} upstream file(s) missing from {dirs.describe()}",
            "run `dlmatrix sources` where the network reaches the repositories, or copy the files there",
        )
    return 0


def command_show(args: argparse.Namespace, console: Console) -> int:
    results = read_results(args.directory / "results.json")
    cells = [
        c
        for c in results.cells
        if fnmatchcase(c.image, args.image)
        and fnmatchcase(c.scenario, args.scenario)
        and fnmatchcase(c.runtime, args.runtime)
    ]
    console.print(cell_table(cells))
    console.print(counts_line(ResultSet(results.run, cells)))
    return 0


def command_render(matrix: Matrix, args: argparse.Namespace, console: Console) -> int:
    if args.check:
        outdated = stale(matrix)
        for path in outdated:
            console.print(f"stale: {path.relative_to(matrix.root)}")
        if outdated:
            raise DlmatrixError(
                f"{len(outdated)} generated Dockerfile(s) differ from their templates",
                "run `dlmatrix render` and commit the result",
            )
        console.print(f"{len(matrix.images)} Dockerfiles match their templates")
        return 0
    for path in write_all(matrix):
        console.print(f"wrote {path.relative_to(matrix.root)}")
    return 0


def command_bases(matrix: Matrix, args: argparse.Namespace, console: Console) -> int:
    engine, log = Engine(), RunProgress(console).log
    log(f"engine: Docker {engine.server_version()}")
    provider = BaseProvider(engine, Path(tempfile.gettempdir()) / "dlmatrix-bases")

    def provide(image: Image) -> bool:
        """True when a base that can be had here (pulled or built offline) could not be."""
        try:
            base = provider.provide(image)
        except BaseUnavailable as unavailable:
            log(f"{image.base}: unavailable: {unavailable}")
            return image.offline_suite is not None  # registry-only bases are expected to be missing here
        log(f"{image.base}: {base.ref} ({base.how})")
        return False

    images = {i.base: i for i in matrix.images if fnmatchcase(i.name, args.image)}.values()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        missing = sum(pool.map(provide, images))
    return 1 if missing else 0


def default_previous(directory: Path) -> Path | None:
    candidates = [directory / PREVIOUS]
    with contextlib.suppress(DlmatrixError):  # outside a checkout there is no reports/ to compare with
        candidates.append(find_root() / "reports" / "results.json")
    current = (directory / "results.json").resolve()
    return next((p for p in candidates if p.is_file() and p.resolve() != current), None)


def command_report(args: argparse.Namespace, console: Console) -> int:
    results = read_results(args.directory / "results.json")
    previous_path = args.previous or default_previous(args.directory)
    previous = read_results(previous_path) if previous_path else None
    written = write_report(results, args.directory, previous)
    compared = f", compared with {previous_path}" if previous_path else ""
    console.print(f"{counts_line(results)}; wrote {', '.join(map(str, written))}{compared}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=200, soft_wrap=True)  # logs and CI: lines stay whole
    try:
        if args.command == "report":
            return command_report(args, console)
        if args.command == "show":
            return command_show(args, console)
        matrix = load_matrix()
        if args.command == "list":
            return command_list(matrix, args, console)
        if args.command == "render":
            return command_render(matrix, args, console)
        if args.command == "bases":
            return command_bases(matrix, args, console)
        if args.command == "sources":
            return command_sources(matrix, args, console)
        if args.command == "bench":
            return command_bench(matrix, args, console)
        return command_run(matrix, args, console)
    except DlmatrixError as error:
        print(f"dlmatrix: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dlmatrix: interrupted; running containers were removed", file=sys.stderr)
        return 130
