"""`dlmatrix cache export DIR` / `dlmatrix cache import DIR`: the images and their bases kept between
runs (dlmatrix.backends.oci.cache), so that a fresh machine or CI runner with a restored DIR starts
warm. The GitHub Action and the fanned-out matrix workflow keep DIR with actions/cache, under the
key that export prints."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from dlmatrix.backends.oci.cache import (
    Exported,
    Imported,
    choose,
    compiler_caches,
    current_images,
    export_cache,
    import_cache,
    run_images,
)
from dlmatrix.backends.oci.engine import Engine
from dlmatrix.cli.command import Command, checkout
from dlmatrix.config.project import find_project
from dlmatrix.log import Logger
from dlmatrix.model.selector import Patterns


@dataclass(frozen=True)
class CacheOptions:
    action: str  # export | import
    directory: Path
    results: Path | None  # export the images this run used (its results.json), not today's
    image: tuple[str, ...]  # image globs
    bases_only: bool
    no_compiler_cache: bool
    engine: str
    json: bool

    @classmethod
    def of(cls, args: argparse.Namespace) -> CacheOptions:
        return cls(
            args.action,
            args.dir,
            args.results,
            tuple(args.image),
            args.bases_only,
            args.no_compiler_cache,
            args.engine,
            args.json,
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["export", "import"], help="save the images into DIR, or load them")
    parser.add_argument("dir", type=Path, metavar="DIR", help="the cache: images.tar and manifest.json")
    parser.add_argument(
        "--results",
        type=Path,
        metavar="FILE",
        help="export the images the run of this results.json used (default: those today's inputs produce)",
    )
    parser.add_argument(
        "--image", action="append", default=[], metavar="GLOB[,GLOB]", help="only these images (export)"
    )
    parser.add_argument(
        "--bases-only",
        action="store_true",
        help="export the bases only (for a library whose every commit makes new images)",
    )
    parser.add_argument(
        "--no-compiler-cache",
        action="store_true",
        help="leave the source stages' compiler caches (BuildKit cache mounts) out of the export",
    )
    parser.add_argument("--engine", default="default", help="the engine (default: DOCKER_HOST's or docker's)")


def run(options: CacheOptions, log: Logger) -> int:
    engine = Engine(options.engine)
    log.info(f"engine: {engine.describe()}")
    if options.action == "import":
        show_imported(import_cache(engine, options.directory), options, log)
        return 0
    matrix = checkout(log, find_project())
    images = run_images(options.results) if options.results else current_images(matrix, engine)
    wanted = Patterns.of(options.image or "*")
    kept = choose(matrix, engine, images, wanted, options.bases_only)
    compiler = None if options.no_compiler_cache else compiler_caches(matrix, engine, kept)
    show_exported(export_cache(engine, kept, options.directory, compiler), options, log)
    return 0


def gigabytes(size: int) -> str:
    return f"{size / 1e9:.2f} GB"


def show_exported(exported: Exported, options: CacheOptions, log: Logger) -> None:
    if options.json:
        log.data(
            {
                "key": exported.key,
                "changed": exported.changed,
                "bytes": exported.bytes,
                "seconds": round(exported.seconds, 1),
                "kept": [k.ref for k in exported.kept],
                "compiler_cache_bytes": exported.compiler_bytes,
            }
        )
        return
    for kept in exported.kept:
        log.text(f"{kept.kind}: {kept.ref} ({kept.image_id.removeprefix('sha256:')[:12]})")
    if exported.compiler_bytes:
        log.text(f"compiler caches of the source stages: {gigabytes(exported.compiler_bytes)}")
    done = f"saved in {exported.seconds:.0f} s" if exported.changed else "unchanged: DIR already holds them"
    log.text(f"{len(exported.kept)} image(s), {gigabytes(exported.bytes)}, {done}; key {exported.key}")


def show_imported(imported: Imported, options: CacheOptions, log: Logger) -> None:
    if options.json:
        log.data(
            {
                "bytes": imported.bytes,
                "seconds": round(imported.seconds, 1),
                "kept": [k.ref for k in imported.kept],
                "missing": list(imported.missing),
                "compiler_caches": imported.compiler_caches,
            }
        )
        return
    for kept in imported.kept:
        log.text(
            f"{kept.kind}: {kept.ref}{' MISSING after the load' if kept.ref in imported.missing else ''}"
        )
    log.text(
        f"{len(imported.kept)} image(s), {gigabytes(imported.bytes)}, loaded in {imported.seconds:.0f} s"
    )
    if imported.missing:
        log.warning(f"{len(imported.missing)} image(s) did not come back with their id: a run builds them")


COMMAND = Command(
    "cache",
    "export the images and their bases into a directory, or import them: a fresh engine starts warm",
    add_arguments,
    CacheOptions.of,
    run,
    json=True,
)
