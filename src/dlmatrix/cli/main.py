"""Command line: dlmatrix list | run | plan | merge | show | explain | new-runtime | render | bases |
sources | report | bench | prune."""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
import tempfile
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from dlmatrix.backends.oci.bases import BaseProvider, BaseUnavailable
from dlmatrix.backends.oci.dockerfiles import stale, write_all
from dlmatrix.backends.oci.engine import ENGINE_FORMS, Engine
from dlmatrix.backends.oci.prune import prune_plan
from dlmatrix.backends.platform import SETUP_HINT, runs_here
from dlmatrix.backends.registry import BACKENDS, HELP, RunRequest, environments, make_backend
from dlmatrix.cli.bench import add_bench_arguments, command_bench
from dlmatrix.config.load import find_root, load_matrix
from dlmatrix.errors import DlmatrixError
from dlmatrix.interrupts import Interrupted, add_notes, settle, shielded
from dlmatrix.interrupts import install as install_signal_handlers
from dlmatrix.model.arches import environment_arches, native_arches, outside_arches
from dlmatrix.model.catalog import Image, Matrix
from dlmatrix.model.cells import ResultSet
from dlmatrix.model.estimates import ATTEMPTS_PER_CORE, default_budget
from dlmatrix.model.expectations import expect
from dlmatrix.model.selector import Patterns, Selector, split_globs
from dlmatrix.model.shards import plan, render_plan, shard_selector
from dlmatrix.progress import RunProgress
from dlmatrix.report.answer import Answer, build_answer
from dlmatrix.report.explain import explain_text, find_cells
from dlmatrix.report.files import report_files
from dlmatrix.report.terminal import cell_table, counts_line, print_outcome
from dlmatrix.results.io import read_results, results_json
from dlmatrix.results.merge import merge, results_path
from dlmatrix.results.metadata import run_metadata
from dlmatrix.results.outdir import PARTIAL, OutputDir
from dlmatrix.runtimes.skeleton import write_skeleton
from dlmatrix.runtimes.sources import SourceDirs, cache_dir, fetch, snapshots

PREVIOUS = "previous-results.json"
EXIT_BUG = 70  # EX_SOFTWARE: a traceback is a bug, never a verdict (1) or a set-up problem (2)


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1 (0 or -3 jobs is a mistake, not 1 job)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is out of range: use 1 or more")
    return value


def _selection_arguments(parser: argparse.ArgumentParser) -> None:
    """Include and exclude globs per axis: each option repeatable, each value a comma-separated list."""
    for axis, what in (
        ("scenario", "scenarios"),
        ("runtime", "runtime variants"),
        ("image", "images or hosts"),
    ):
        parser.add_argument(
            f"--{axis}",
            action="append",
            default=[],
            metavar="GLOB[,GLOB]",
            help=f"{what} to include (default: all)",
        )
        parser.add_argument(
            f"--skip-{axis}", action="append", default=[], metavar="GLOB[,GLOB]", help=f"{what} to leave out"
        )
    parser.add_argument(
        "--arch",
        action="append",
        default=[],
        metavar="ARCH[,ARCH]",
        help="architectures to include (Debian's names, globs; `native`: those this machine runs "
        "without emulation; default: all)",
    )
    parser.add_argument(
        "--skip-arch", action="append", default=[], metavar="ARCH[,ARCH]", help="architectures to leave out"
    )


def selector_of(
    args: argparse.Namespace, matrix: Matrix | None, arches: Mapping[str, str] | None = None
) -> Selector:
    """--arch and --skip-arch become the environments they leave out (arches: each environment's
    architecture, by default as matrix/ declares it). Without them no matrix is needed."""
    outside = []
    if args.arch or args.skip_arch:
        matrix = matrix or load_matrix()
        outside = outside_arches(
            environment_arches(matrix) if arches is None else arches,
            split_globs(args.arch),
            split_globs(args.skip_arch),
            native_arches(matrix),
        )
    return Selector.of(
        args.scenario or "*",
        args.runtime or "*",
        args.image or "*",
        getattr(args, "repeat", 1),
        skip_scenario=args.skip_scenario,
        skip_runtime=args.skip_runtime,
        skip_image=[*args.skip_image, *outside],
    )


def _engine_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        action="append",
        default=[],
        metavar="ENGINE[,ENGINE]",
        help="the engine(s) to run on, repeatable; images are spread across them by load. "
        f"An engine is {ENGINE_FORMS}",
    )


def _durations_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--durations",
        type=Path,
        metavar="PATH",
        help="a results.json (or its directory) whose measured durations balance the shards "
        "(default: cell counts); plan and every run --shard must be given the same one",
    )


def _runtimes_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runtimes",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="add the runtime plug-in in DIR, or every plug-in in DIR's subdirectories (docs/runtimes.md); "
        "repeatable",
    )


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
    _runtimes_argument(listing)
    run = commands.add_parser("run", help="build and run the scenarios, write results.json and index.html")
    _selection_arguments(run)
    _runtimes_argument(run)
    run.add_argument("--backend", choices=sorted(BACKENDS), default="host", help=HELP)
    _engine_argument(run)
    run.add_argument("--shard", metavar="K/N", help="run exactly shard K of N (`dlmatrix plan` shows them)")
    _durations_argument(run)
    run.add_argument("--out", type=Path, required=True, metavar="DIR", help="directory for the results")
    run.add_argument("--repeat", type=positive, default=1, metavar="N", help="attempts per cell (1-100)")
    run.add_argument(
        "--jobs",
        type=positive,
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
    planning = commands.add_parser(
        "plan", help="split the selected cells into N balanced shards, as a matrix a CI job reads"
    )
    _selection_arguments(planning)
    _runtimes_argument(planning)
    planning.add_argument("--shards", type=positive, required=True, metavar="N")
    planning.add_argument("--format", choices=["json", "github", "gitlab"], default="json")
    planning.add_argument("--backend", choices=sorted(BACKENDS), default="docker", help="whose environments")
    planning.add_argument("--repeat", type=positive, default=1, metavar="N", help="as `run --repeat`")
    _durations_argument(planning)
    merging = commands.add_parser("merge", help="one results.json and report from the results of shards")
    merging.add_argument(
        "results", type=Path, nargs="+", metavar="RESULTS", help="results.json files or their directories"
    )
    merging.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="where to write the merged report"
    )
    merging.add_argument(
        "--allow-mixed", action="store_true", help="merge results of different commits or dlmatrix versions"
    )
    merging.add_argument("--previous", type=Path, metavar="FILE", help="results.json to compare with")
    explain = commands.add_parser(
        "explain", help="print one cell's expectation, outcome, ELF facts, evidence and loader account"
    )
    explain.add_argument("cell", metavar="CELL", help="IMAGE/SCENARIO/RUNTIME (globs allowed)")
    explain.add_argument(
        "--results", type=Path, metavar="PATH", help="a results.json or its directory (default: reports/)"
    )
    new_runtime = commands.add_parser("new-runtime", help="write a runtime plug-in skeleton to fill in")
    new_runtime.add_argument("name", metavar="NAME", help="the runtime's name, also the new directory's")
    new_runtime.add_argument(
        "--into", type=Path, default=Path("."), metavar="DIR", help="where to make NAME/ (default: here)"
    )
    show = commands.add_parser("show", help="print the cells of DIR/results.json as a table")
    show.add_argument("directory", type=Path, metavar="DIR")
    _selection_arguments(show)
    bench = commands.add_parser("bench", help="measure the run against its floor and the naive design")
    add_bench_arguments(bench)
    render = commands.add_parser("render", help="render dockerfiles/*/Dockerfile from the templates")
    render.add_argument("--check", action="store_true", help="fail if a committed Dockerfile is stale")
    bases = commands.add_parser("bases", help="provide every base image: present, pulled or built offline")
    bases.add_argument(
        "--image", action="append", default=[], metavar="GLOB[,GLOB]", help="images whose bases to provide"
    )
    _engine_argument(bases)
    bases.add_argument("--jobs", type=positive, default=2, metavar="N", help="bases provided in parallel")
    sources = commands.add_parser(
        "sources", help="check the upstream snapshots of the runtimes built from source; fetch missing ones"
    )
    _sources_argument(sources)
    sources.add_argument(
        "--runtime", action="append", default=[], metavar="GLOB[,GLOB]", help="runtime variants"
    )
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
    prune = commands.add_parser(
        "prune", help="remove this project's images that no current input produces, and stray containers"
    )
    prune.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    _engine_argument(prune)
    return parser


def command_list(matrix: Matrix, args: argparse.Namespace, console: Console) -> int:
    table = Table("environment", "libc", "arch", "scenario", "runtime", "expected", "reason")
    selector = selector_of(args, matrix)
    arches = environment_arches(matrix)
    places: list[tuple[str, str, str | None]] = [(h.name, h.libc, None) for h in matrix.hosts]
    places += [(i.name, i.libc, i.libc_version) for i in matrix.images]
    for name, libc, version in places:
        if not selector.image(name):
            continue
        for scenario, runtime in selector.pairs(matrix, name):
            expectation = expect(matrix.rules, scenario.name, runtime.name, libc, version, arches[name])
            table.add_row(
                name,
                f"{libc} {version}" if version else libc,
                arches[name],
                scenario.name,
                runtime.name,
                expectation.outcome or "-",
                expectation.reason,
            )
    console.print(table)
    return 0


def previous_results(
    matrix: Matrix, args: argparse.Namespace, console: Console
) -> tuple[Path | None, ResultSet | None]:
    """The results to compare with: --previous, else --out's own, else the published ones. One that
    cannot be read is named and left alone: the run compares with nothing rather than not run."""
    path = args.previous or next(
        (p for p in (args.out / "results.json", matrix.root / "reports" / "results.json") if p.is_file()),
        None,
    )
    if path is None:
        return None, None
    try:
        return path, read_results(path)
    except DlmatrixError as unreadable:
        if args.previous:
            raise
        console.print(f"dlmatrix: warning: not comparing with {path}: {unreadable.cause}", markup=False)
        return None, None


def durations(args: argparse.Namespace) -> ResultSet | None:
    return read_results(results_path(args.durations)) if args.durations else None


def run_selector(matrix: Matrix, args: argparse.Namespace) -> Selector:
    """The selection, narrowed to one shard with --shard."""
    selector = selector_of(args, matrix)
    if args.shard is None:
        return selector
    return shard_selector(matrix, selector, environments(args.backend, matrix), args.shard, durations(args))


def command_run(matrix: Matrix, args: argparse.Namespace, console: Console) -> int:
    if not 1 <= args.repeat <= 100:
        raise DlmatrixError(f"--repeat {args.repeat} is out of range", "use a value from 1 to 100")
    selector = run_selector(matrix, args)
    started = datetime.now(UTC)
    with OutputDir(args.out) as out, tempfile.TemporaryDirectory(prefix="dlmatrix-") as scratch:
        _, previous = previous_results(matrix, args, console)
        request = RunRequest(
            matrix,
            selector,
            args.keep_build or Path(scratch),
            args.jobs,
            console,
            previous,
            SourceDirs.from_option(args.sources),
            args.out / "logs",
            list(split_globs(args.engine)),
        )
        backend = make_backend(args.backend, request)

        def metadata() -> dict[str, Any]:
            return run_metadata(
                matrix, started, args.backend, args.repeat, backend.docker_version, selector.metadata(),
                backend.engine_records(), backend.image_tags(),
            )  # fmt: skip

        try:
            with backend.progress or contextlib.nullcontext():
                cells = backend.run()
        except (Interrupted, DlmatrixError) as stopped:  # a stop, the engine, or any other failure
            keep_partial(out, ResultSet(metadata(), backend.finished()), stopped)
            raise
        if not cells:
            raise DlmatrixError("the selection matched no cell", f"check the globs: {selector.describe()}")
        results = ResultSet(metadata(), cells)
        written, answer = write_report_set(out, results, previous)
    print_outcome(answer, written, console, args.table)
    return 1 if results.failing() else 0


def write_report_set(
    out: OutputDir, results: ResultSet, previous: ResultSet | None
) -> tuple[list[Path], Answer]:
    """results.json, the previous results and the report, all at once; results.json alone when the
    report has a bug (a bug in the report must not cost the results). The report's model comes
    back for the terminal, which says the same answer."""
    files: dict[str, str | bytes] = {"results.json": results_json(results)}
    if previous is not None:  # kept so that `dlmatrix report` can show the same changes again
        files[PREVIOUS] = results_json(previous)
    try:
        answer = build_answer(results, previous)
        files.update(report_files(answer))
    except Exception as bug:
        out.write(files, remove=(PARTIAL,))
        bug.add_note(
            f"dlmatrix: results.json is written in {out.path}; once this is fixed, "
            f"`dlmatrix report {out.path}` renders the rest from it"
        )
        raise
    return out.write(files, remove=(PARTIAL,)), answer


def command_plan(matrix: Matrix, args: argparse.Namespace, console: Console) -> int:
    """Prints the shards (stdout only: a CI captures it); what they weigh goes to stderr."""
    measured = durations(args)
    selector = selector_of(args, matrix)
    order = environments(args.backend, matrix)
    shards = plan(matrix, selector, order, args.shards, measured)
    for shard in shards:
        cells = sum(unit.cell_count for unit in shard.units)
        weight = f"~{shard.weight:.0f} attempt-seconds, {cells} cells" if measured else f"{cells} cells"
        print(f"shard {shard.name}: {weight}: {', '.join(shard.images(order))}", file=sys.stderr)
    print(render_plan(shards, order, measured is not None, args.format, shlex.join(plan_options(args))))
    return 0


def plan_options(args: argparse.Namespace) -> list[str]:
    """The options that made the plan: every `run --shard` must be given them to run its part of it."""
    options = []
    for axis in ("image", "scenario", "runtime", "arch"):
        options += [item for value in getattr(args, axis) for item in (f"--{axis}", value)]
        options += [item for value in getattr(args, f"skip_{axis}") for item in (f"--skip-{axis}", value)]
    options += [item for directory in args.runtimes for item in ("--runtimes", str(directory))]
    options += ["--repeat", str(args.repeat)] if args.repeat != 1 else []
    return options + (["--durations", str(args.durations)] if args.durations else [])


def command_merge(args: argparse.Namespace, console: Console) -> int:
    results = merge(args.results, args.allow_mixed)
    previous = read_results(args.previous) if args.previous else None
    with OutputDir(args.out) as out:
        written, _ = write_report_set(out, results, previous)
    console.print(f"merged {len(args.results)} results: {counts_line(results)}", markup=False)
    console.print(f"wrote {', '.join(map(str, written))}", markup=False)
    return 1 if results.failing() else 0


def keep_partial(out: OutputDir, partial: ResultSet, stopped: Interrupted | DlmatrixError) -> None:
    """The cells that finished before a stop, in a file that says it is partial; results.json and
    the report stay as they were."""
    reason = f"interrupted by {stopped.name}" if isinstance(stopped, Interrupted) else stopped.cause
    partial.run["partial"] = reason
    notes = [f"results in {out.path} are untouched"]
    with shielded():  # a second signal must not cut the write short
        if partial.cells:
            out.write({PARTIAL: results_json(partial)})
            notes.append(f"the {len(partial.cells)} cells that finished are in {out.path / PARTIAL}")
    add_notes(stopped, notes)


def command_sources(matrix: Matrix, args: argparse.Namespace, console: Console) -> int:
    """Each selected snapshot and patch: found (and checked), fetched, or what is missing."""
    dirs = SourceDirs.from_option(args.sources)
    target = Path(args.sources) if args.sources else cache_dir()
    missing = 0
    for upstream, runtimes, patches in snapshots(matrix, Patterns.of(args.runtime or "*")):
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
    selector = selector_of(args, None, {c.image: c.arch for c in results.cells})  # show needs no checkout
    cells = [c for c in results.cells if selector.covers(c.image, c.scenario, c.runtime)]
    console.print(cell_table(cells))
    console.print(counts_line(ResultSet(results.run, cells)))
    return 0


def command_explain(args: argparse.Namespace, console: Console) -> int:
    path = args.results or find_root() / "reports"
    results = read_results(path / "results.json" if path.is_dir() else path)
    for index, cell in enumerate(find_cells(results.cells, args.cell)):
        console.print(
            ("\n" if index else "") + explain_text(cell), markup=False, highlight=False, emoji=False
        )
    return 0


def command_new_runtime(args: argparse.Namespace, console: Console) -> int:
    written = write_skeleton(args.into / args.name)
    console.print(
        f"wrote {', '.join(map(str, written))}; fill in the TODOs (docs/runtimes.md), then run with "
        f"--runtimes {args.into / args.name}",
        markup=False,
    )
    return 0


def warn_broken_plugins(matrix: Matrix) -> None:
    for runtime in matrix.plugins():
        if runtime.problem:
            print(
                f"dlmatrix: warning: runtime {runtime.name} cannot be used, its cells report build-error: "
                f"{runtime.problem}",
                file=sys.stderr,
            )


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
    """Every selected image's base, on every engine named (copied from one to the others)."""
    log = RunProgress(console).log
    engines = [Engine(spec) for spec in split_globs(args.engine) or ["default"]]
    return max(provide_bases(matrix, args, engine, engines, log) for engine in engines)


def provide_bases(
    matrix: Matrix,
    args: argparse.Namespace,
    engine: Engine,
    engines: list[Engine],
    log: Callable[[str], None],
) -> int:
    log(f"engine: {engine.describe()}")
    provider = BaseProvider(engine, Path(tempfile.gettempdir()) / "dlmatrix-bases", engines)

    def provide(image: Image) -> bool:
        """True when a base that can be had here (pulled or built offline) could not be."""
        runs = runs_here(matrix, image)
        if runs.how == "unavailable":
            log(f"{image.base_ref}: left out: {runs.why}; to run it: {SETUP_HINT}")
            return False
        try:
            base = provider.provide(image)
        except BaseUnavailable as unavailable:
            log(f"{image.base_ref}: unavailable: {unavailable}")
            return image.offline_suite is not None  # registry-only bases are expected to be missing here
        log(f"{image.base_ref}: {base.ref} ({base.how})")
        return False

    chosen = Patterns.of(args.image or "*")
    images = {i.base_ref: i for i in matrix.images if chosen(i.name)}.values()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        try:
            missing = sum(pool.map(provide, images))
        except BaseException:  # a stop: mmdebstrap and docker import end with it
            engine.children.kill_all()
            raise
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
    with OutputDir(args.directory) as out:
        written = out.write(report_files(build_answer(results, previous)))
    compared = f", compared with {previous_path}" if previous_path else ""
    console.print(f"{counts_line(results)}; wrote {', '.join(map(str, written))}{compared}")
    return 0


def command_prune(matrix: Matrix, args: argparse.Namespace, console: Console) -> int:
    engines = [Engine(spec) for spec in split_globs(args.engine) or ["default"]]
    return max(prune_engine(matrix, args, engine, console) for engine in engines)


def prune_engine(matrix: Matrix, args: argparse.Namespace, engine: Engine, console: Console) -> int:
    console.print(f"engine: {engine.describe()}", markup=False)
    plan = prune_plan(matrix, engine)
    for ref, why in plan.images:
        console.print(f"{'would remove' if args.dry_run else 'removing'} {ref}: {why}", markup=False)
    for name in plan.containers:
        console.print(f"{'would remove' if args.dry_run else 'removing'} container {name}: no run owns it")
    if not args.dry_run:
        plan.carry_out(engine)
    for refusal in plan.refused:
        console.print(f"not removed: {refusal}", markup=False)
    kept = ", ".join(plan.kept) or "none"
    verb = "to remove" if args.dry_run else "removed"
    console.print(f"{len(plan.images)} image(s) and {len(plan.containers)} container(s) {verb}; kept: {kept}")
    return 1 if plan.refused else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    install_signal_handlers()
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=200, soft_wrap=True)  # logs and CI: lines stay whole
    try:
        if args.command == "report":
            return command_report(args, console)
        if args.command == "show":
            return command_show(args, console)
        if args.command == "explain":
            return command_explain(args, console)
        if args.command == "merge":
            return command_merge(args, console)
        if args.command == "new-runtime":
            return command_new_runtime(args, console)
        matrix = load_matrix(runtime_dirs=getattr(args, "runtimes", []))
        warn_broken_plugins(matrix)
        if args.command == "list":
            return command_list(matrix, args, console)
        if args.command == "plan":
            return command_plan(matrix, args, console)
        if args.command == "render":
            return command_render(matrix, args, console)
        if args.command == "bases":
            return command_bases(matrix, args, console)
        if args.command == "sources":
            return command_sources(matrix, args, console)
        if args.command == "bench":
            return command_bench(matrix, args, console)
        if args.command == "prune":
            return command_prune(matrix, args, console)
        return command_run(matrix, args, console)
    except DlmatrixError as error:
        print(f"dlmatrix: error: {error}", file=sys.stderr)
        return 2
    except Interrupted as stop:
        settle()
        print(f"dlmatrix: interrupted by {stop.name}; stopped", file=sys.stderr)
        for line in stop.details:
            print(f"  {line}", file=sys.stderr)
        return stop.exit_code
    except KeyboardInterrupt:  # before the handlers were installed
        return 130
    except Exception:
        traceback.print_exc()
        print(
            "dlmatrix: internal error: this is a bug in dlmatrix, not in your matrix; please report it "
            "with the traceback above",
            file=sys.stderr,
        )
        return EXIT_BUG
