"""`dlmatrix bisect`: which commit of a source-built runtime's history changed one cell, in each of
the named images. Both ends are checked first (they must differ somewhere), then the first-parent
range is halved per image (dlmatrix.model.bisect), each tried commit built in the image as the
runtime's source stage and run --repeat times (cli.bisect_trials). The answer goes to the terminal,
to --json, and with --out to bisect.json and bisect.html."""

from __future__ import annotations

import argparse
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from pathlib import Path

from dlmatrix.cli.arguments import add_engine, add_runtimes, add_sources, engines_of, positive
from dlmatrix.cli.bisect_trials import Trials
from dlmatrix.cli.command import Command, checkout
from dlmatrix.config.project import find_project
from dlmatrix.errors import DlmatrixError
from dlmatrix.log import Logger
from dlmatrix.model.bisect import Bisection, Commit, ImageResult, Search, Step, differ, ran, side_of
from dlmatrix.model.catalog import MAX_ATTEMPTS, Matrix, Runtime
from dlmatrix.model.selector import split_globs
from dlmatrix.report.bisect import attempts_words, bisect_document, bisect_files, print_bisection
from dlmatrix.results.outdir import OutputDir
from dlmatrix.runtimes.history import commit_of, first_parent, merge_base, open_repository
from dlmatrix.runtimes.sources import SourceDirs


@dataclass(frozen=True)
class BisectOptions:
    runtime: str
    old: str
    new: str
    images: tuple[str, ...]
    scenario: str
    repository: str | None
    repeat: int
    json: bool
    out: Path | None
    sources: str | None
    engines: tuple[str, ...]
    runtimes: tuple[Path, ...]  # plug-in directories, as run's --runtimes

    @classmethod
    def of(cls, args: argparse.Namespace) -> BisectOptions:
        return cls(
            args.runtime, args.old, args.new, split_globs(args.image), args.scenario, args.repository,
            args.repeat, args.json, args.out, args.sources, engines_of(args), tuple(args.runtimes),
        )  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runtime", required=True, metavar="NAME", help="a runtime built from source")
    parser.add_argument("--old", required=True, metavar="REV", help="a revision with the old outcome")
    parser.add_argument("--new", required=True, metavar="REV", help="a later revision with the new outcome")
    parser.add_argument(
        "--image", required=True, action="append", metavar="IMAGE[,IMAGE]", help="images to bisect in"
    )
    parser.add_argument("--scenario", required=True, metavar="S", help="the scenario of the cell")
    parser.add_argument(
        "--repository",
        metavar="PATH|BUNDLE|URL",
        help="the history: a clone, a git bundle or a URL (default: the runtime's own source)",
    )
    parser.add_argument(
        "--repeat", type=positive, default=1, metavar="N", help=f"attempts per commit (1-{MAX_ATTEMPTS})"
    )
    parser.add_argument("--out", type=Path, metavar="DIR", help="write bisect.json and bisect.html here")
    add_runtimes(parser)
    add_sources(parser)
    add_engine(parser)


def chosen_runtime(matrix: Matrix, name: str) -> Runtime:
    runtime = next((r for r in matrix.runtimes if r.name == name), None)
    if runtime is None:
        raise DlmatrixError(f"--runtime {name}: no such runtime", "`dlmatrix list` names them")
    if runtime.source is None:
        raise DlmatrixError(
            f"--runtime {name} is not built from source (it comes from packages or the model's code): "
            "it has no history to bisect",
            "a runtime with a source (matrix/runtimes.yaml's lttng-ust-* entries, or a plug-in's source:)",
        )
    return runtime


def chosen_images(matrix: Matrix, runtime: Runtime, globs: tuple[str, ...]) -> list[str]:
    names = [i.name for i in matrix.images if any(fnmatchcase(i.name, g) for g in globs)]
    if not names:
        raise DlmatrixError(f"--image {','.join(globs)} names no image", "`dlmatrix list` names them")
    assert runtime.source is not None
    for image in (matrix.image(n) for n in names):
        if not runtime.source.builds_with(image.manager):
            raise DlmatrixError(
                f"{runtime.name} is not built in {image.name} (build.managers: "
                f"{', '.join(runtime.source.managers)})",
                "choose images whose package manager builds it",
            )
    return names


def repository_of(runtime: Runtime, given: str | None) -> str:
    if given:
        return given
    source = runtime.source
    assert source is not None
    if source.kind == "git" or (source.kind == "path" and (Path(source.location) / ".git").exists()):
        return source.location
    if source.repository:
        return source.repository
    raise DlmatrixError(
        f"{runtime.name} names no repository to read its history from", "give --repository PATH|BUNDLE|URL"
    )


def check_scenario(matrix: Matrix, runtime: Runtime, scenario: str) -> None:
    if scenario not in {s.name for s, r in matrix.pairs() if r.name == runtime.name}:
        raise DlmatrixError(
            f"--scenario {scenario} is no scenario of {runtime.name}",
            f"one of `dlmatrix list --runtime {runtime.name}`",
        )


def run(options: BisectOptions, log: Logger) -> int:
    if not 1 <= options.repeat <= MAX_ATTEMPTS:
        raise DlmatrixError(f"--repeat {options.repeat} is out of range", f"from 1 to {MAX_ATTEMPTS}")
    matrix = checkout(log, find_project(), options.runtimes)
    runtime = chosen_runtime(matrix, options.runtime)
    check_scenario(matrix, runtime, options.scenario)
    images = chosen_images(matrix, runtime, options.images)
    location = repository_of(runtime, options.repository)
    with ExitStack() as stack:
        # --out is checked writable and locked before any build, as a run's is
        out = stack.enter_context(OutputDir(options.out)) if options.out is not None else None
        scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="dlmatrix-bisect-"))
        bisection, builds = bisected(options, log, matrix, runtime, images, location, Path(scratch))
        document = bisect_document(bisection, builds)
        if out is not None:
            written = out.write(bisect_files(bisection, document))
            log.info(f"written: {', '.join(str(p) for p in written)}")
    if options.json:
        log.data(document)
    else:
        print_bisection(bisection, log, builds)
    return 0


def bisected(
    options: BisectOptions,
    log: Logger,
    matrix: Matrix,
    runtime: Runtime,
    images: list[str],
    location: str,
    scratch: Path,
) -> tuple[Bisection, int]:
    """The bisection, and how many images the engine built for it."""
    repository = open_repository(location, scratch)
    old, new = commit_of(repository, options.old, "--old"), commit_of(repository, options.new, "--new")
    commits = first_parent(repository, old, new)
    base = merge_base(repository, old, new)
    if base:
        log.info(f"{options.old} is no ancestor of {options.new}: the range starts after {base[:8]}")
    log.info(f"{len(commits)} first-parent commits from {options.old} to {options.new}")
    trials = Trials(
        matrix, runtime, repository, options.scenario, options.repeat, scratch / "work", log,
        SourceDirs.from_option(options.sources), options.engines,
    )  # fmt: skip
    started = time.monotonic()
    steps: list[Step] = []
    ends = [checked_ends(trials, image, old, new, options, steps) for image in images]
    if not any(differ(o.attempts, n.attempts) for o, n in ends):
        raise same_ends(options, ends)
    results = [
        search(trials, image, commits, o, n, steps) for image, (o, n) in zip(images, ends, strict=True)
    ]
    bisection = Bisection(
        runtime.name, options.scenario, location, (options.old, old), (options.new, new), tuple(commits),
        base, tuple(results), tuple(steps), round(time.monotonic() - started, 1),
    )  # fmt: skip
    return bisection, trials.builds


def checked_ends(
    trials: Trials, image: str, old: Commit, new: Commit, options: BisectOptions, steps: list[Step]
) -> tuple[Step, Step]:
    """Both ends in image, each printed; an end that ran nothing stops the bisect."""
    ends = []
    for role, commit, revision in (("old end", old, options.old), ("new end", new, options.new)):
        step = trials.step(commit, image, role, "old" if role == "old end" else "new")
        trials.log.info(f"{image}: {role} {revision} ({commit.short}): {attempts_words(step.attempts)}")
        if not ran(step.attempts):
            raise DlmatrixError(
                f"the {role} {revision} ({commit.short}) did not run in {image}: {step.outcome}"
                + (f"\n{step.log}" if step.log else ""),
                "an end that builds here, or a fix-up it needs (source.fixups, docs/bisect.md)",
            )
        steps.append(step)
        ends.append(step)
    return ends[0], ends[1]


def same_ends(options: BisectOptions, ends: list[tuple[Step, Step]]) -> DlmatrixError:
    seen = "; ".join(f"{o.image}: {attempts_words(o.attempts)} at both" for o, _ in ends)
    return DlmatrixError(
        f"{options.old} and {options.new} end the same in every image ({seen}): nothing to bisect",
        "ends whose outcomes differ (another --old, --new, --scenario or --image); for a race, more --repeat",
    )


def search(
    trials: Trials, image: str, commits: list[Commit], old: Step, new: Step, steps: list[Step]
) -> ImageResult:
    """Halving in one image, when its ends differ."""
    libc = trials.matrix.image(image).libc
    if not differ(old.attempts, new.attempts):
        trials.log.info(f"{image}: no change across the range ({attempts_words(old.attempts)} at both ends)")
        return ImageResult(image, libc, old, new, None)
    by_sha = {c.sha: c for c in commits}
    found = Search(tuple(by_sha))
    number = 0
    while (sha := found.next()) is not None:
        number += 1
        step = trials.step(by_sha[sha], image, f"step {number}")
        side = side_of(step.attempts, old.attempts, new.attempts)
        found.record(sha, side)
        steps.append(step := replace(step, side=side))
        trials.log.info(
            f"{image}: {step.commit.short} {step.commit.subject[:60]}: {attempts_words(step.attempts)} "
            f"({step.build}{' with ' + ', '.join(step.fixups) if step.fixups else ''}) -> {side}"
        )
    return ImageResult(image, libc, old, new, found.answer())


COMMAND = Command(
    "bisect",
    "find the commit of a source-built runtime's history that changed a cell, per image",
    add_arguments,
    BisectOptions.of,
    run,
    json=True,
)
