"""Docker backend: per image, provide its base, build it (unless an identical one exists) and run
its whole suite in one sandboxed container; images proceed in parallel, bounded by the cores."""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from fnmatch import fnmatchcase
from pathlib import Path

from dlmatrix.bases import Base, BaseProvider, BaseUnavailable
from dlmatrix.bundle import bundle_digest, write_bundle
from dlmatrix.config import Image, Matrix
from dlmatrix.engine import Engine
from dlmatrix.errors import DlmatrixError
from dlmatrix.render import dockerfile_path, stale
from dlmatrix.results import Cell, Environment, uniform_cells
from dlmatrix.selection import Selection, suite_arguments, suite_timeout
from dlmatrix.suiteoutput import suite_cells, tail

BUILD_TIMEOUT_S = 1800
Log = Callable[[str], None]


def image_tag(image: Image, dockerfile: str, digest: str, base: Base) -> str:
    """Derived from every input, so an unchanged image is found again instead of rebuilt."""
    inputs = hashlib.sha256("\0".join([dockerfile, digest, base.image_id, image.base]).encode())
    return f"dlmatrix/{image.name}:{inputs.hexdigest()[:16]}"


def declared_env(image: Image) -> Environment:
    return Environment(image.name, image.libc, None, None)


class DockerBackend:
    def __init__(self, matrix: Matrix, engine: Engine, workdir: Path, selection: Selection, log: Log) -> None:
        self.matrix = matrix
        self.engine = engine
        self.workdir = workdir
        self.selection = selection
        self.log = log
        self.bases = BaseProvider(engine, workdir / "logs")
        self.base_locks = {image.base: threading.Lock() for image in matrix.images}
        self.digest = bundle_digest(matrix)
        self.docker_version: str | None = None

    def images(self) -> list[Image]:
        return [i for i in self.matrix.images if fnmatchcase(i.name, self.selection.image)]

    def check_rendered(self) -> None:
        outdated = stale(self.matrix)
        if outdated:
            names = ", ".join(str(p.relative_to(self.matrix.root)) for p in outdated)
            raise DlmatrixError(
                f"generated Dockerfiles are stale: {names}", "run `dlmatrix render` and commit"
            )

    def run(self, jobs: int) -> list[Cell]:
        self.check_rendered()
        self.docker_version = self.engine.server_version()
        self.log(f"engine: Docker {self.docker_version}")
        images = self.images()
        pool = ThreadPoolExecutor(max_workers=max(1, jobs))
        try:
            batches = [future.result() for future in [pool.submit(self.run_image, i) for i in images]]
        except BaseException:
            # Ctrl-C: no container outlives the run, and the workers stop waiting on them
            self.engine.remove_all()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown()
        return [cell for batch in batches for cell in batch]

    def provide_base(self, image: Image) -> Base:
        with self.base_locks[image.base]:  # the glibc and musl image of a suite share one base
            return self.bases.provide(image)

    def run_image(self, image: Image) -> list[Cell]:
        env = declared_env(image)
        try:
            base = self.provide_base(image)
        except BaseUnavailable as missing:
            self.log(f"{image.name}: skipped: {missing.cause}")
            return self.uniform(env, "skipped", str(missing))
        self.log(f"{image.name}: base {base.ref} ({base.how})")
        tag = self.build(image, base)
        if tag is None:
            return self.uniform(env, "build-error", self.build_log(image).read_text()[-4000:])
        return self.run_suite(image, tag)

    def uniform(self, env: Environment, result: str, message: str) -> list[Cell]:
        return uniform_cells(
            self.matrix, env, result, message, self.selection.scenario, self.selection.runtime
        )

    def build_log(self, image: Image) -> Path:
        return self.workdir / "logs" / f"build-{image.name}.log"

    def build(self, image: Image, base: Base) -> str | None:
        dockerfile = dockerfile_path(self.matrix, image).read_text()
        tag = image_tag(image, dockerfile, self.digest, base)
        if self.engine.image_id(tag):
            self.log(f"{image.name}: image {tag} is up to date")
            return tag
        context = self.workdir / "context" / image.name
        shutil.rmtree(context, ignore_errors=True)
        write_bundle(self.matrix, context / "suite")
        (context / "Dockerfile").write_text(dockerfile)
        self.build_log(image).parent.mkdir(parents=True, exist_ok=True)
        self.log(f"{image.name}: building {tag}")
        started = time.monotonic()
        built = self.engine.build(
            tag, context, {"BASE_IMAGE": base.ref}, self.build_log(image), BUILD_TIMEOUT_S
        )
        took = time.monotonic() - started
        self.log(
            f"{image.name}: {'built' if built else 'BUILD FAILED'} in {took:.0f} s"
            + ("" if built else f"; log: {self.build_log(image)}")
        )
        return tag if built else None

    def run_suite(self, image: Image, tag: str) -> list[Cell]:
        args = suite_arguments(self.selection)
        name = f"dlmatrix-{image.name}-{os.getpid()}"
        timeout = suite_timeout(self.matrix, self.selection)
        expected = len(self.matrix.pairs(self.selection.scenario, self.selection.runtime))
        lines: list[str] = []
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            self.engine.remove(name)

        timer = threading.Timer(timeout, expire)
        with self.engine.container(name, tag, args) as process:
            timer.start()
            assert process.stdout is not None and process.stderr is not None
            done = 0
            for line in process.stdout:
                lines.append(line)
                if line.startswith('{"type":"cell"'):
                    done += 1
                    if done % 14 == 0 or done == expected:  # progress, about once a scenario row
                        self.log(f"{image.name}: {done}/{expected} cells")
            stderr = process.stderr.read()
            code = process.wait()
            timer.cancel()
        if expired.is_set():
            problem = f"the harness timeout of {timeout:.0f} s expired"
        else:
            problem = f"the container exited {code}: {tail(stderr)}"
        cells, missing = suite_cells(self.matrix, declared_env(image), lines, problem, self.selection)
        if missing:
            self.log(f"{image.name}: {missing} cells did not run: {problem}")
        return cells
