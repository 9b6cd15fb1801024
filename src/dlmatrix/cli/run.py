"""`dlmatrix run`: build and run the selected cells on a backend, write results.json and the
report into --out, and tell what needs a look."""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dlmatrix.backends.host import NOT_INSTALLED
from dlmatrix.backends.registry import BACKENDS, HELP, Backend, RunRequest, environments, make_backend
from dlmatrix.cli.arguments import (
    Selection,
    add_durations,
    add_engine,
    add_runtimes,
    add_selection,
    add_sources,
    engines_of,
    positive,
)
from dlmatrix.cli.command import Command, checkout
from dlmatrix.cli.plan import durations
from dlmatrix.cli.report_set import keep_partial, previous_results, write_report_set
from dlmatrix.config.project import Project, find_project
from dlmatrix.errors import DlmatrixError
from dlmatrix.interrupts import Interrupted
from dlmatrix.log import Logger
from dlmatrix.model.catalog import MAX_ATTEMPTS, Matrix
from dlmatrix.model.cells import ResultSet
from dlmatrix.model.estimates import ATTEMPTS_PER_CORE, default_budget
from dlmatrix.model.selector import Selector
from dlmatrix.model.shards import shard_selector
from dlmatrix.report.answer import Answer
from dlmatrix.report.documents import run_document
from dlmatrix.report.terminal import print_outcome
from dlmatrix.report.untested import nothing_tested, nothing_tested_cause
from dlmatrix.results.metadata import run_metadata
from dlmatrix.results.outdir import OutputDir
from dlmatrix.runtimes.sources import SourceDirs


@dataclass(frozen=True)
class RunOptions:
    selection: Selection
    runtimes: tuple[Path, ...]
    backend: str
    engines: tuple[str, ...]  # engine specs; none: the backend's default engine
    shard: str | None  # "K/N", as given
    durations: Path | None
    out: Path
    repeat: int
    jobs: int  # attempts in flight across the whole run
    table: bool  # every cell at the end, not only those to read
    headlines: bool  # each runtime's headline in full before the ending
    sources: str | None
    keep_build: Path | None  # build here and keep it; None: a temporary directory
    previous: Path | None
    json: bool  # the summary as one JSON document on stdout
    project: Project | None  # the project file, read once: its selection and its catalog

    @classmethod
    def of(cls, args: argparse.Namespace) -> RunOptions:
        project = find_project()
        return cls(
            Selection.of(args).under(project), tuple(args.runtimes), args.backend, engines_of(args),
            args.shard, args.durations, args.out, args.repeat, args.jobs, args.table, args.headlines,
            args.sources, args.keep_build,
            args.previous, args.json, project,
        )  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_selection(parser)
    add_runtimes(parser)
    parser.add_argument("--backend", choices=sorted(BACKENDS), default="host", help=HELP)
    add_engine(parser)
    parser.add_argument(
        "--shard", metavar="K/N", help="run exactly shard K of N (`dlmatrix plan` shows them)"
    )
    add_durations(parser)
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="directory for the results")
    parser.add_argument(
        "--repeat", type=positive, default=1, metavar="N", help=f"attempts per cell (1-{MAX_ATTEMPTS})"
    )
    parser.add_argument(
        "--jobs",
        type=positive,
        default=default_budget(),
        metavar="N",
        help=f"attempts in flight across the whole run (default {default_budget()}: "
        f"{ATTEMPTS_PER_CORE} per core; they wait more than they compute)",
    )
    parser.add_argument(
        "--table", action="store_true", help="print every cell at the end, not only those to read"
    )
    parser.add_argument(
        "--headlines",
        action="store_true",
        help="print each runtime's headline in full at the end (its reasons per C library, as in summary.md)",
    )
    add_sources(parser)
    parser.add_argument(
        "--keep-build", type=Path, metavar="DIR", help="build here and keep it (default: temp)"
    )
    parser.add_argument(
        "--previous",
        type=Path,
        metavar="FILE",
        help="results.json to compare with (default: the one already in --out, if any)",
    )


def run_selector(matrix: Matrix, options: RunOptions) -> Selector:
    """The selection, narrowed to one shard with --shard."""
    selector = options.selection.selector(matrix, repeat=options.repeat)
    if options.shard is None:
        return selector
    order = environments(options.backend, matrix)
    return shard_selector(matrix, selector, order, options.shard, durations(options.durations))


def run(options: RunOptions, log: Logger) -> int:
    matrix = checkout(log, options.project, options.runtimes)
    if not 1 <= options.repeat <= MAX_ATTEMPTS:
        raise DlmatrixError(
            f"--repeat {options.repeat} is out of range", f"use a value from 1 to {MAX_ATTEMPTS}"
        )
    selector = run_selector(matrix, options)
    started = datetime.now(UTC)
    with OutputDir(options.out) as out, tempfile.TemporaryDirectory(prefix="dlmatrix-") as scratch:
        _, previous = previous_results(options.out, options.previous, log)
        workdir = options.keep_build or Path(scratch)
        backend = make_backend(options.backend, request(matrix, selector, options, workdir, previous, log))

        def metadata() -> dict[str, Any]:
            return run_metadata(
                matrix, started, options.backend, options.repeat, backend.docker_version,
                selector.metadata(), backend.engine_records(), backend.image_tags(),
                backend.stage_seconds(),
            )  # fmt: skip

        results = run_backend(backend, out, metadata, log)
        if not results.cells:
            raise DlmatrixError("the selection matched no cell", f"check the globs: {selector.describe()}")
        written, answer = write_report_set(out, results, previous)
    if options.json:
        log.data(run_document(answer, written))
    else:
        print_outcome(answer, written, log, options.table, options.headlines)
    if nothing_tested(answer.cells):  # the report is written all the same: no result is lost
        raise tested_nothing(answer, options)
    return 1 if answer.failing else 0


def tested_nothing(answer: Answer, options: RunOptions) -> DlmatrixError:
    """Every selected cell was skipped: a run that proves nothing must not exit 0."""
    # only the plug-ins the host skipped for their packages are fixed by the images
    needs_packages = any(reason.startswith(NOT_INSTALLED) for u in answer.untested for reason in u.reasons)
    if options.backend == "host" and needs_packages:
        fix = "runtime plug-ins install their packages in the images: run them with --backend docker"
    else:
        fix = "act on the reason, or select cells that run here (`dlmatrix list` with the same selection)"
    cause = nothing_tested_cause(answer.untested, len(answer.cells))
    return DlmatrixError(f"{cause}; the report is in {options.out}", fix)


def request(
    matrix: Matrix,
    selector: Selector,
    options: RunOptions,
    workdir: Path,
    previous: ResultSet | None,
    log: Logger,
) -> RunRequest:
    """What the backend is given; failed builds' logs are kept in --out/logs."""
    sources = SourceDirs.from_option(options.sources)
    return RunRequest(
        matrix, selector, workdir, options.jobs, log, previous, sources, options.out / "logs",
        list(options.engines),
    )  # fmt: skip


def run_backend(
    backend: Backend, out: OutputDir, metadata: Callable[[], dict[str, Any]], log: Logger
) -> ResultSet:
    """The run's cells, its progress shown (and folded on CI) while it runs. Whatever stops it,
    the cells that finished are kept in a partial file before the stop goes on."""
    try:
        with log.group("dlmatrix run: builds and suites"), log.live():
            cells = backend.run()
    except (Interrupted, DlmatrixError) as stopped:  # a stop, the engine, or any other failure
        keep_partial(out, ResultSet(metadata(), backend.finished()), stopped)
        raise
    return ResultSet(metadata(), cells)


COMMAND = Command(
    "run",
    "build and run the scenarios, write results.json and index.html",
    add_arguments,
    RunOptions.of,
    run,
    json=True,
)
