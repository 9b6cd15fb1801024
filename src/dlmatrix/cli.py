"""Command line: dlmatrix list | run | render | bases | report."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path

from rich.console import Console
from rich.table import Table

from dlmatrix.bases import BaseProvider, BaseUnavailable
from dlmatrix.config import Matrix, load_matrix
from dlmatrix.containers import DockerBackend
from dlmatrix.engine import Engine
from dlmatrix.errors import DlmatrixError
from dlmatrix.expectations import expect
from dlmatrix.host import Selection, run_hosts
from dlmatrix.render import stale, write_all
from dlmatrix.report import label, write_report
from dlmatrix.results import Cell, ResultSet, read_results, run_metadata, write_results

VERDICT_STYLE = {"ok": "green", "unexpected": "bold red", "flaky": "yellow", "skipped": "dim"}


def _selection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenario", default="*", metavar="GLOB", help="scenarios to include (glob)")
    parser.add_argument("--runtime", default="*", metavar="GLOB", help="runtime variants to include (glob)")
    parser.add_argument("--image", default="*", metavar="GLOB", help="images or host environments (glob)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dlmatrix", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="list the cells of the matrix with their expectations")
    _selection_arguments(listing)
    run = commands.add_parser("run", help="build and run the scenarios, write results.json and index.html")
    _selection_arguments(run)
    run.add_argument("--backend", choices=["host", "docker"], default="host",
                     help="host: this machine's glibc and musl; docker: every image of matrix/images.yaml")
    run.add_argument("--out", type=Path, required=True, metavar="DIR", help="directory for the results")
    run.add_argument("--repeat", type=int, default=1, metavar="N", help="attempts per cell (1-100)")
    run.add_argument("--jobs", type=int, default=2, metavar="N", help="environments run in parallel")
    run.add_argument("--keep-build", type=Path, metavar="DIR", help="build here and keep it (default: temp)")
    render = commands.add_parser("render", help="render dockerfiles/*/Dockerfile from the templates")
    render.add_argument("--check", action="store_true", help="fail if a committed Dockerfile is stale")
    bases = commands.add_parser("bases", help="provide every base image: present, pulled or built offline")
    bases.add_argument("--image", default="*", metavar="GLOB", help="images whose bases to provide (glob)")
    report = commands.add_parser("report", help="render DIR/index.html from DIR/results.json")
    report.add_argument("directory", type=Path, metavar="DIR")
    return parser


def command_list(matrix: Matrix, args: argparse.Namespace, console: Console) -> int:
    table = Table("environment", "libc", "scenario", "runtime", "expected", "reason")
    for host in matrix.hosts:
        if not fnmatchcase(host.name, args.image):
            continue
        for scenario in matrix.select_scenarios(args.scenario):
            for runtime in matrix.select_runtimes(args.runtime):
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


def print_cells(cells: Sequence[Cell], console: Console) -> None:
    table = Table("environment", "libc", "scenario", "runtime", "result", "expected", "verdict", "attempts")
    for cell in cells:
        same = sum(a.result == cell.result for a in cell.attempts)
        table.add_row(
            cell.image,
            f"{cell.libc['family']} {cell.libc['version'] or '?'}",
            cell.scenario,
            cell.runtime,
            label(cell),
            cell.expected or "-",
            f"[{VERDICT_STYLE[cell.verdict]}]{cell.verdict}[/]",
            f"{same}/{len(cell.attempts)}",
        )
    console.print(table)


def summary_line(results: ResultSet) -> str:
    counts = results.counts()
    return ", ".join(f"{counts.get(v, 0)} {v}" for v in ("ok", "unexpected", "flaky", "skipped"))


def command_run(matrix: Matrix, args: argparse.Namespace, console: Console) -> int:
    if not 1 <= args.repeat <= 100:
        raise DlmatrixError(f"--repeat {args.repeat} is out of range", "use a value from 1 to 100")
    selection = Selection(args.scenario, args.runtime, args.image, args.repeat)
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="dlmatrix-") as scratch:
        workdir = args.keep_build or Path(scratch)
        if args.backend == "docker":
            backend = DockerBackend(matrix, Engine(), workdir, selection, progress(console))
            cells = backend.run(args.jobs)
        else:
            cells = run_hosts(matrix, workdir, selection, args.jobs)
    if not cells:
        raise DlmatrixError("the selection matched no cell", "check --image, --scenario and --runtime globs")
    results = ResultSet(run_metadata(matrix, started, args.backend, args.repeat), cells)
    write_results(results, args.out / "results.json")
    write_report(results, args.out)
    print_cells(cells, console)
    console.print(f"{summary_line(results)}; wrote {args.out / 'results.json'} and {args.out / 'index.html'}")
    return 1 if results.failing() else 0


def progress(console: Console) -> Callable[[str], None]:
    start = time.monotonic()
    return lambda message: console.print(f"[dim]{time.monotonic() - start:6.0f}s[/] {message}")


def command_render(matrix: Matrix, args: argparse.Namespace, console: Console) -> int:
    if args.check:
        outdated = stale(matrix)
        for path in outdated:
            console.print(f"stale: {path.relative_to(matrix.root)}")
        if outdated:
            raise DlmatrixError(f"{len(outdated)} generated Dockerfile(s) differ from their templates",
                                "run `dlmatrix render` and commit the result")
        console.print(f"{len(matrix.images)} Dockerfiles match their templates")
        return 0
    for path in write_all(matrix):
        console.print(f"wrote {path.relative_to(matrix.root)}")
    return 0


def command_bases(matrix: Matrix, args: argparse.Namespace, console: Console) -> int:
    engine, log = Engine(), progress(console)
    log(f"engine: Docker {engine.server_version()}")
    provider, missing = BaseProvider(engine, Path(tempfile.gettempdir()) / "dlmatrix-bases"), 0
    for image in {i.base: i for i in matrix.images if fnmatchcase(i.name, args.image)}.values():
        try:
            base = provider.provide(image)
            log(f"{image.base}: {base.ref} ({base.how})")
        except BaseUnavailable as unavailable:
            log(f"{image.base}: unavailable: {unavailable}")
            missing += image.offline_suite is not None  # registry-only bases are expected to be missing here
    return 1 if missing else 0


def command_report(args: argparse.Namespace, console: Console) -> int:
    results = read_results(args.directory / "results.json")
    path = write_report(results, args.directory)
    console.print(f"{summary_line(results)}; wrote {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=200)  # logs and CI: no wrapping into unreadable columns
    try:
        if args.command == "report":
            return command_report(args, console)
        matrix = load_matrix()
        if args.command == "list":
            return command_list(matrix, args, console)
        if args.command == "render":
            return command_render(matrix, args, console)
        if args.command == "bases":
            return command_bases(matrix, args, console)
        return command_run(matrix, args, console)
    except DlmatrixError as error:
        print(f"dlmatrix: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dlmatrix: interrupted; running containers were removed", file=sys.stderr)
        return 130
