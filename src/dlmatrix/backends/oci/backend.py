"""Container backend (docker or podman engines, one or several): per image, provide its base,
build it (unless an identical one exists) and run its whole suite in one sandboxed container,
handing it the current catalog.

Builds compute, so they are bounded by the cores; suites wait, so they all run at once and
share one budget of attempts in flight (dlmatrix.backends.oci.tokens), the longest suites first. With several
engines, each image goes to the least loaded one (by estimated seconds) and stays there: its
base, its build and its suite.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

from dlmatrix.backends.oci.bases import Base, BaseProvider, BaseUnavailable, build_machine
from dlmatrix.backends.oci.dockerfiles import outdated_committed, render, uses_build_machine
from dlmatrix.backends.oci.engine import Engine
from dlmatrix.backends.oci.failures import START_HINT, ContainerFailed, EngineFailure
from dlmatrix.backends.oci.images import image_labels, image_tag
from dlmatrix.backends.oci.parts import Parts
from dlmatrix.backends.oci.placement import place
from dlmatrix.backends.oci.stages import context_digest, upstream_context, write_context
from dlmatrix.backends.oci.tokens import CellBudget, TokenFeeder
from dlmatrix.backends.platform import SETUP_HINT, runs_here, skipped_under_emulation, timeout_factor
from dlmatrix.children import Cancelled
from dlmatrix.errors import DlmatrixError
from dlmatrix.interrupts import add_notes, shielded
from dlmatrix.log import Logger
from dlmatrix.model.arches import image_arch
from dlmatrix.model.catalog import Image, Matrix
from dlmatrix.model.cells import Cell, Environment, ResultSet, uniform_cells
from dlmatrix.model.estimates import WorkEstimate
from dlmatrix.model.libc import Libc
from dlmatrix.model.selector import Selector
from dlmatrix.runtimes.build import prepare_sources
from dlmatrix.runtimes.sources import SourceDirs
from dlmatrix.suite.bundle import CATALOG, bundle_digest, catalog_input, suite_tsv, write_bundle
from dlmatrix.suite.command import suite_arguments, suite_timeout
from dlmatrix.suite.output import parse_lines, suite_cells, tail

BUILD_TIMEOUT_S = 1800
WATCH_INTERVAL_S = 10  # the engine is asked every so often whether it still answers ...
WATCH_MISSES = 2  # ... and the run stops when it missed this many times in a row


class ContainerBackend:
    def __init__(
        self,
        matrix: Matrix,
        engines: Engine | Sequence[Engine],
        workdir: Path,
        selection: Selector,
        log: Logger,
        budget: CellBudget,
        previous: ResultSet | None = None,
        build_jobs: int | None = None,
        sources: SourceDirs | None = None,
        logs: Path | None = None,
    ) -> None:
        self.matrix = matrix
        self.sources = sources or SourceDirs.from_option()
        self.engines = [engines] if isinstance(engines, Engine) else list(engines)
        self.workdir = workdir
        self.selection = selection
        self.log = log  # steps, each image's stage and cells, warnings
        self.budget = budget
        # how each image's architecture runs here, and so which of its cells it runs: once per run
        self.runs = {image.name: runs_here(matrix, image) for image in self.images()}
        self.selections = {image.name: self.without_left_out(image) for image in self.images()}
        names = [image.name for image in self.images()]
        self.estimate = WorkEstimate.of(matrix, names, selection, previous)  # from previous, if any
        self.bases = {e: BaseProvider(e, workdir / "logs", self.engines) for e in self.engines}
        # One lock per base across engines: a second engine waits, then copies the first one's.
        self.base_locks = {image.base_ref: threading.Lock() for image in matrix.images}
        slots = build_jobs or os.cpu_count() or 1  # builds compute: local engines share these cores
        shared = threading.Semaphore(slots)
        self.build_slots = {e: shared if e.spec.local else threading.Semaphore(slots) for e in self.engines}
        self.placement: dict[str, Engine] = {}
        self.versions: list[str] = []
        self.digest = bundle_digest(matrix)
        self.stop = threading.Event()
        self.docker_version: str | None = None  # every engine's version ("Docker 28.2.2; podman 4.3.1")
        self.built: list[str] = []  # images this run had to build (the others were up to date)
        self.tags: dict[str, str] = {}  # image -> the tag its suite ran in
        self.logs = logs  # where logs of failed builds are kept
        self.lock = threading.Lock()
        self.batches: dict[str, list[Cell]] = {}  # image -> its cells, once its suite is done
        self.reading: dict[str, list[str]] = {}  # image -> the lines of its suite so far
        self.failure: EngineFailure | None = None
        self.staged: dict[str, Path | str] = {}  # the plug-ins built from source, staged before any build
        self.parts = Parts()  # where each image's time went (results.json run.parts)

    def images(self) -> list[Image]:
        return [i for i in self.matrix.images if self.selection.image(i.name)]

    def check_rendered(self) -> None:
        outdated = outdated_committed(self.matrix)
        if outdated:
            names = ", ".join(str(p.relative_to(self.matrix.root)) for p in outdated)
            raise DlmatrixError(
                f"generated Dockerfiles are stale: {names}", "run `dlmatrix render` and commit"
            )

    def run(self) -> list[Cell]:
        self.check_rendered()
        self.versions = [engine.describe() for engine in self.engines]  # an engine that cannot be used
        # stops the run before the sources are unpacked and staged
        self.staged = prepare_sources(self.matrix, self.selection, self.sources, self.workdir / "sources")
        self.docker_version = "; ".join(self.versions)
        self.log.step(f"engine: {self.docker_version}; {self.budget.size} attempts in flight")
        images = {image.name: image for image in self.images()}
        if not images:
            return []
        self.placement = place(list(images), self.estimate.seconds, self.engines)
        if len(self.engines) > 1:
            for engine in self.engines:
                mine = [name for name in images if self.placement[name] is engine]
                self.log.step(f"{engine.spec.name}: {', '.join(mine) or 'nothing'}")
        watch = threading.Thread(target=self.watch_engine, name="engine-watch", daemon=True)
        watch.start()
        pool = ThreadPoolExecutor(max_workers=len(images))
        try:
            futures = {
                name: pool.submit(self.run_image, images[name])
                for name in self.estimate.longest_first(images)
            }
            batches = [futures[name].result() for name in images]  # the declared order of images
            if self.failure is not None:
                raise self.failure
        except BaseException as stop:
            self.abort(pool, stop)
            raise self.failure or stop from None
        finally:
            self.stop.set()  # ends the engine watch
        pool.shutdown()
        for warning in sorted({w for engine in self.engines for w in engine.warnings}):
            self.log.warning(warning)
        return [cell for batch in batches for cell in batch]

    def engine_records(self) -> list[dict[str, str]]:
        """Each engine with its version; none before every engine answered (a run stopped early)."""
        answered = zip(self.engines, self.versions, strict=False)
        return [{"name": engine.spec.name, "version": version} for engine, version in answered]

    def image_tags(self) -> dict[str, str]:
        return dict(sorted(self.tags.items()))

    def stage_seconds(self) -> dict[str, dict[str, float]]:
        return self.parts.record()

    def abort(self, pool: ThreadPoolExecutor, stop: BaseException) -> None:
        """A signal, an engine failure or a bug: no container or child outlives the run, and the
        workers stop waiting on them. Another signal meanwhile waits until this is done."""
        with shielded():
            self.stop.set()
            for engine in self.engines:
                engine.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
        lines = [line for engine in self.engines for line in engine.cleanup().lines()]
        add_notes(self.failure or stop, lines)  # what run() raises

    def fail(self, failure: EngineFailure) -> None:
        """The first engine failure stops the run; the workers see their children die."""
        with self.lock:
            if self.failure is None:
                self.failure = failure
        self.stop.set()
        for engine in self.engines:
            engine.children.kill_all()

    def watch_engine(self) -> None:
        """An engine that dies or freezes mid-run ends it within a minute, whatever is waiting on it."""
        misses = dict.fromkeys(range(len(self.engines)), 0)
        while not self.stop.wait(WATCH_INTERVAL_S):
            for index, engine in enumerate(self.engines):
                cause = engine.unanswered()
                misses[index] = misses[index] + 1 if cause else 0
                if cause and misses[index] >= WATCH_MISSES:
                    self.fail(
                        EngineFailure(f"{engine.title} stopped answering during the run: {cause}", START_HINT)
                    )
                    return

    def finished(self) -> list[Cell]:
        """The cells that did run, whatever stopped the run: whole suites and the cells read so far
        from suites cut short (kept in a partial file)."""
        with self.lock:
            done = [cell for batch in self.batches.values() for cell in batch]
            reading = dict(self.reading)
        for name, lines in reading.items():  # a suite cut short: the stop is the news, not its warnings
            done += parse_lines(self.matrix, name, list(lines), self.runs[name].emulated).cells
        return done

    def provide_base(self, image: Image, engine: Engine) -> Base:
        with self.base_locks[image.base_ref]:  # the glibc and musl image of a suite share one base
            return self.bases[engine].provide(image)

    def provide_build_base(self, image: Image, engine: Engine) -> Base | None:
        """BUILD_BASE_IMAGE where runtimes are cross-built or bootstrapped on the build machine."""
        used = uses_build_machine(self.matrix, image)
        return self.provide_base(build_machine(image), engine) if used else None

    def run_image(self, image: Image) -> list[Cell]:
        engine = self.placement.get(image.name, self.engines[0])
        try:
            cells = self.image_cells(image, engine)
        except EngineFailure as failure:
            self.fail(failure)
            raise
        for cell in cells:
            cell.engine = engine.spec.name
        with self.lock:
            self.batches[image.name] = cells
            self.reading.pop(image.name, None)
        return cells

    def declared_env(self, image: Image) -> Environment:
        arch, emulated = image_arch(self.matrix, image), self.runs[image.name].emulated
        return Environment(image.name, Libc(image.libc, None), None, arch=arch, emulated=emulated)

    def without_left_out(self, image: Image) -> Selector:
        """The run's selection less the runtimes an image leaves out where it runs emulated."""
        left_out = skipped_under_emulation(self.matrix, image, self.runs[image.name])
        return self.selection.without_runtimes(left_out)

    def left_out(self, image: Image) -> list[Cell]:
        """Skipped cells, with the reason, for the runtimes the image does not build under emulation."""
        pairs = self.selection.pairs(self.matrix, image.name)
        kept = {(s.name, r.name) for s, r in self.selections[image.name].pairs(self.matrix, image.name)}
        dropped = [(s, r) for s, r in pairs if (s.name, r.name) not in kept]
        env = self.declared_env(image)
        return uniform_cells(self.matrix, env, "skipped", self.matrix.emulated.reason, dropped)

    def image_cells(self, image: Image, engine: Engine) -> list[Cell]:
        env = self.declared_env(image)
        runs = self.runs[image.name]
        if runs.how == "unavailable":
            self.log.stage(image.name, "skipped", runs.why)
            return self.uniform(env, "skipped", f"{runs.why}; to run it: {SETUP_HINT}")
        return self.built_cells(image, engine, env) + self.left_out(image)

    def built_cells(self, image: Image, engine: Engine, env: Environment) -> list[Cell]:
        with self.build_slots[engine]:
            if self.stop.is_set():
                raise Cancelled()
            try:
                with self.parts.timed(image.name, "base"):
                    base = self.provide_base(image, engine)
                    build_base = self.provide_build_base(image, engine)
            except BaseUnavailable as missing:
                self.log.stage(
                    image.name, "skipped" if missing.result == "skipped" else "failed", missing.cause
                )
                return self.uniform(env, missing.result, str(missing))
            with self.parts.timed(image.name, "build"):
                tag = self.build(image, base, engine, build_base)
        if tag is None:
            kept = self.keep_log(image)
            self.log.stage(image.name, "failed", f"build failed; log: {kept}")
            return self.uniform(env, "build-error", f"log: {kept}\n" + tail(kept.read_text(errors="replace")))
        try:
            with self.parts.timed(image.name, "suite"):
                return self.run_suite(image, tag, engine)
        except ContainerFailed as failed:  # the engine answers: this image's cells only
            self.log.stage(image.name, "failed", failed.cause)
            return self.uniform(env, "error", str(failed))

    def keep_log(self, image: Image) -> Path:
        """A failed build's log, kept under the output directory (the work directory goes away)."""
        if self.logs is None:
            return self.build_log(image)
        self.logs.mkdir(parents=True, exist_ok=True)
        kept = self.logs / self.build_log(image).name
        shutil.copyfile(self.build_log(image), kept)
        return kept

    def uniform(self, env: Environment, result: str, message: str) -> list[Cell]:
        pairs = self.selections[env.image].pairs(self.matrix, env.image)
        return uniform_cells(self.matrix, env, result, message, pairs)

    def build_log(self, image: Image) -> Path:
        return self.workdir / "logs" / f"build-{image.name}.log"

    def build(self, image: Image, base: Base, engine: Engine, build_base: Base | None = None) -> str | None:
        dockerfile = render(self.matrix, image, engine.buildkit)  # the committed one, plus --runtimes
        build_base = build_base or self.provide_build_base(image, engine)  # where the caller did not
        wanted = functools.partial(self.selections[image.name].runtime, image=image.name)
        upstream = upstream_context(self.matrix, image, wanted, self.staged)
        inputs = context_digest(upstream) + (f"\0{build_base.image_id}" if build_base else "")
        tag = image_tag(image, dockerfile, self.digest, base, inputs)
        self.tags[image.name] = tag
        if engine.image_id(tag):
            self.log.stage(image.name, "built", f"{tag} is up to date")
            return tag
        context = self.workdir / "context" / image.name
        shutil.rmtree(context, ignore_errors=True)
        write_bundle(self.matrix, context / "suite", catalog=False)
        (context / "catalog").mkdir(parents=True)
        (context / "catalog" / CATALOG).write_text(suite_tsv(self.matrix, image=image.name))  # `docker run`
        (context / "Dockerfile").write_text(dockerfile)
        write_context(upstream, context / "upstream")
        self.build_log(image).parent.mkdir(parents=True, exist_ok=True)
        where = f" on {engine.spec.name}" if len(self.engines) > 1 else ""
        self.log.stage(image.name, "building", f"{tag}{where} from {base.ref} ({base.how})")
        started = time.monotonic()
        built = engine.build(
            tag,
            context,
            {"BASE_IMAGE": base.ref} | ({"BUILD_BASE_IMAGE": build_base.ref} if build_base else {}),
            self.build_log(image),
            BUILD_TIMEOUT_S,
            image_labels(dockerfile, self.digest, base),
        )
        if built:
            self.built.append(image.name)
            self.log.stage(image.name, "built", f"in {time.monotonic() - started:.0f} s")
        return tag if built else None

    def harness_timeout(self) -> float:
        """Bounds a container whatever the budget makes it wait: every selected suite in a row."""
        return sum(
            suite_timeout(self.matrix, self.selections[image.name], image.name)
            * timeout_factor(self.matrix, self.runs[image.name])
            for image in self.images()
        )

    def run_suite(self, image: Image, tag: str, engine: Engine) -> list[Cell]:
        selection, runs = self.selections[image.name], self.runs[image.name]
        args = suite_arguments(self.matrix, selection, self.budget.size, image.name, tokens=True)
        name = f"dlmatrix-{image.name}-{os.getpid()}"
        timeout = self.harness_timeout()
        total = len(selection.pairs(self.matrix, image.name))
        lines: list[str] = []
        expired = threading.Event()
        with self.lock:
            self.reading[image.name] = lines

        self.log.stage(image.name, "running")
        self.log.cells(image.name, 0, total)
        # emulated: the catalog carries its scaled timeouts and the rules for emulation
        catalog = catalog_input(self.matrix, timeout_factor(self.matrix, runs), runs.emulated, image.name)
        with engine.container(name, tag, args, stdin=catalog) as process:
            assert process.stdin is not None and process.stdout is not None and process.stderr is not None

            def expire() -> None:  # ends the reading below; leaving the block removes the container
                expired.set()
                process.kill()

            timer = threading.Timer(timeout, expire)
            feeder = TokenFeeder(
                self.budget, process.stdin, image.name, self.estimate.seconds.get(image.name, 0), self.stop
            )
            timer.start()
            try:
                self.read_suite(image, process.stdout, feeder, lines, total)
                stderr = process.stderr.read()
                code = process.wait()
            finally:
                timer.cancel()
                feeder.finish()
        if self.stop.is_set():
            raise Cancelled()  # cut short by the stop: the partial file has what was read
        expiry = f"the harness timeout of {timeout:.0f} s expired"
        problem = expiry if expired.is_set() else f"the container exited {code}: {tail(stderr)}"
        cells, missing = suite_cells(
            self.matrix, self.declared_env(image), lines, problem, selection, self.log.warning, lanes=True
        )
        if missing:
            engine.check(stderr, f"running the suite of {image.name}")  # or was it the engine?
        self.log.stage(
            image.name,
            "failed" if missing else "done",
            f"{missing} cells did not run: {problem}" if missing else "",
        )
        return cells

    def read_suite(
        self, image: Image, stdout: IO[str], feeder: TokenFeeder, lines: list[str], total: int
    ) -> None:
        done = 0
        for line in stdout:
            if line.startswith('{"type":"attempt"'):
                feeder.returned_one()
                continue
            lines.append(line)
            if line.startswith('{"type":"plan"'):
                feeder.start(json.loads(line)["attempts"])
            elif line.startswith('{"type":"cell"'):
                done += 1
                self.log.cells(image.name, done, total)
