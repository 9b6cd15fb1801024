"""Rendering a Dockerfile per image from the Jinja templates in dockerfiles/templates/."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2

from dlmatrix.config.load import load_matrix
from dlmatrix.config.root import installed, work_dir
from dlmatrix.config.schemas import TEMPLATES
from dlmatrix.errors import DlmatrixError
from dlmatrix.model.catalog import Image, Matrix, Runtime, Source

GENERATED = "dockerfiles"  # dockerfiles/IMAGE/Dockerfile, beside templates/
PREFIX = "/opt/dlmatrix"  # where the suite is installed inside every image
USER = "10001:10001"  # numeric: the musl images have no /etc/passwd; the attempts run as it
LANES = 10100  # the first lane uid: dlm-suite runs a serial group's attempt in slot N as LANES + N
PACKAGES_PREFIX = "/opt/dlmatrix-packages"  # the plug-ins' package markers (build.sh reads them)
BUILT_PREFIX = "/opt/dlmatrix-built"  # plug-ins built from source, one prefix each (build.sh's default)
CCACHE_DIR = "/var/cache/dlmatrix/ccache"  # the source stages' compiler cache: a BuildKit cache mount
TREES_DIR = "/usr/src/dlmatrix-trees"  # built trees kept for derived stages (build-source.sh's DLM_TREES)
CONFIGURE_CACHES = "/opt/dlmatrix-configure-caches"  # configure's results, handed on (DLM_CONFIGURE_CACHES)
# the build machine's lttng-tools in a foreign image (cross.j2 build_machine_tools; lttng-common reads it)
BUILD_MACHINE_TOOLS = "/usr/libexec/dlmatrix/build-machine"
# the packages holding each plug-in's sonames, found on the build machine (macros.j2 runtime_packages)
RUNTIME_LISTS = "/opt/dlmatrix-runtime-packages"


def _fail(message: str) -> None:
    raise jinja2.TemplateRuntimeError(message)


@functools.lru_cache(maxsize=8)  # compiled once per process; jinja reloads a template whose file changed
def environment(root: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(root / TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.globals.update(
        fail=_fail,
        prefix=PREFIX,
        user=USER,
        lanes=LANES,
        packages_prefix=PACKAGES_PREFIX,
        built_prefix=BUILT_PREFIX,
        ccache_dir=CCACHE_DIR,
        trees_dir=TREES_DIR,
        configure_caches=CONFIGURE_CACHES,
        build_machine_tools=BUILD_MACHINE_TOOLS,
        runtime_lists=RUNTIME_LISTS,
    )
    return env


def smoke_libraries(runtime: Runtime) -> list[str]:
    """What the smoke check of a cross-built runtime loads under qemu (templates/cross.j2): its own
    library (LTTng-UST's liblttng-ust, a plug-in's sonames), not the others its build installs
    (liblttng-ust-ctl leaves a symbol to lttng-tools, so it loads in no program of its own)."""
    if runtime.plugin is not None:
        return list(runtime.plugin.sonames)
    return ["liblttng-ust.so"] if runtime.kind == "lttng-ust" else []


def bootstraps(image: Image, source: Source) -> bool:
    """Whether the build's configure is made in a stage that the images of the release share
    (templates/macros.j2 bootstrap_stages): autotools, built here, on a release whose base installs
    with apt (the stage's autotools), so that the build machine's base is that release's; not a
    build that names packages (build.requires: their macros may be what its bootstrap needs,
    and that stage has the autotools alone)."""
    return (
        source.system == "autotools"
        and image.manager == "apt"
        and source.builds_with(image.manager)
        and not source.requires.get(image.manager)
    )


def uses_build_machine(matrix: Matrix, image: Image) -> bool:
    """Whether the image's Dockerfile has stages on the build machine's base (BUILD_BASE_IMAGE): its
    cross-built runtimes (templates/cross.j2) or its release's bootstrap stages."""
    return any(r["cross"] or r["bootstraps"] for r in source_stages(matrix, image))


def source_stages(matrix: Matrix, image: Image) -> list[dict[str, Any]]:
    """What is built from source, each in a stage of its own: the dependencies that apply to the
    image's C library first (the stages that need them copy their prefixes), then the runtimes; a
    derived one (build.derived-from) after its base, whose stage keeps its built tree."""
    bases = {r.source.derived_from for r in matrix.source_runtimes() if r.source and r.source.derived_from}
    runtimes: list[dict[str, Any]] = [
        {
            "name": r.name,
            "requires": r.source.requires,
            "managers": r.source.managers,
            "builds_here": r.source.builds_with(image.manager),  # as stages.py stages its tree
            "depends": [d.name for d in matrix.dependencies_for(r, image.libc)],
            "dependency": False,
            "derived_from": r.source.derived_from,  # its stage starts from that one's (built tree)
            "keeps_tree": r.name in bases,  # in TREES_DIR, for the stages derived from it
            # on the build machine (templates/cross.j2)
            "cross": matrix.cross_builds(image, r.name) and r.source.builds_with(image.manager),
            "loads": smoke_libraries(r),
            "configure_cache_from": r.source.configure_cache_from,
            "bootstraps": bootstraps(image, r.source) and not r.source.derived_from,
        }
        for r in matrix.source_runtimes()
        if r.source is not None
    ]
    # a configure cache is handed on between stages of one kind (both cross-built or neither) that
    # build here, from a stage defined before (COPY --from names an earlier one): seeds first
    seeds = {r["name"]: r for r in runtimes if r["builds_here"]}
    for runtime in runtimes:
        seed = seeds.get(runtime["configure_cache_from"])
        if not runtime["builds_here"] or seed is None or seed["cross"] != runtime["cross"]:
            runtime["configure_cache_from"] = ""
    named = {r["configure_cache_from"] for r in runtimes}
    for runtime in runtimes:  # the order their stages are written in (sort is stable)
        runtime["order"] = 0 if runtime["name"] in named else 1
    # what a cross-built runtime links against is cross-built too, by the same compiler
    crossed = {name for r in runtimes if r["cross"] for name in r["depends"]}
    dependencies = [
        {
            "name": d.name,
            "requires": d.source.requires,
            "managers": d.source.managers,
            "builds_here": d.source.builds_with(image.manager),
            "depends": [],
            "dependency": True,
            "derived_from": "",
            "keeps_tree": False,
            "cross": d.name in crossed,
            "loads": ["*.so"],  # it names no soname: the smoke check loads every library it installs
            "configure_cache_from": "",
            "order": 0,
            # bootstrapped in its own stage: its Makefile.in from the shared stage once differed
            # from the image's own (docs/runtimes.md), which a runtime's never did
            "bootstraps": False,
        }
        for d in matrix.dependencies
        if image.libc in d.libc
    ]
    return dependencies + runtimes


def render(matrix: Matrix, image: Image, cache_mounts: bool = True) -> str:
    """The image's Dockerfile. cache_mounts: for BuildKit (every current docker and podman), whose
    cache mounts keep the source builds' compiler cache; False for docker's classic builder."""
    try:
        template = environment(matrix.root).get_template(f"{image.template}.Dockerfile.j2")
        plugins = [  # a plug-in built from source installs no packages
            {"name": r.name, "packages": r.plugin.packages, "sonames": list(r.plugin.sonames)}
            for r in matrix.plugins()
            if r.plugin is not None and r.plugin.source is None
        ]
        text = template.render(
            image=image,
            plugins=plugins,
            # the LTTng-UST variants of the image's own packages (apt-glibc: suite-cross's package layer)
            packaged_lttng=[r.name for r in matrix.runtimes if r.kind == "lttng-ust" and r.source is None],
            sources=source_stages(matrix, image),
            cache_mounts=cache_mounts,
        )
    except jinja2.TemplateError as exc:
        raise DlmatrixError(
            f"{TEMPLATES}/{image.template}.Dockerfile.j2 failed for {image.name}: {exc}",
            "fix the template or the image entry in matrix/images.yaml",
        ) from None
    lines = [line.rstrip() for line in text.strip().splitlines()]
    kept = [line for i, line in enumerate(lines) if line or (i and lines[i - 1])]  # one blank at most
    return "\n".join(kept) + "\n"


def generated_dir(matrix: Matrix, into: Path | None = None) -> Path:
    """Where the Dockerfiles are written: into, else the checkout's dockerfiles/ (committed), else,
    for an installed catalog (never written to), the work directory."""
    if into is not None:
        return into
    return work_dir() / GENERATED if installed(matrix.root) else matrix.root / GENERATED


def dockerfile_path(matrix: Matrix, image: Image, into: Path | None = None) -> Path:
    return generated_dir(matrix, into) / image.name / "Dockerfile"


def orphans(matrix: Matrix, into: Path | None = None) -> list[Path]:
    """Generated Dockerfiles that no image of matrix/images.yaml produces any more (an image that
    was removed or renamed): docker-library's apply-templates.sh starts from scratch for this."""
    produced = {dockerfile_path(matrix, image, into) for image in matrix.images}
    found = sorted(generated_dir(matrix, into).glob("*/Dockerfile"))
    return [path for path in found if path.parent.name != "templates" and path not in produced]


def remove_orphans(matrix: Matrix, into: Path | None = None) -> list[Path]:
    """Removes the orphans, and their directories once empty."""
    removed = orphans(matrix, into)
    for path in removed:
        path.unlink()
        if not any(path.parent.iterdir()):
            path.parent.rmdir()
    return removed


def render_all(matrix: Matrix, into: Path | None = None) -> dict[Path, str]:
    return {dockerfile_path(matrix, image, into): render(matrix, image) for image in matrix.images}


def as_committed(matrix: Matrix, into: Path | None) -> Matrix:
    """What the generated Dockerfiles render: in their own place (into None), for the catalog alone
    (plug-ins added with --runtimes or a project file change the Dockerfile a run builds, not the
    committed one); elsewhere (--into), for everything the command line and project file add."""
    if into is None and (matrix.runtime_dirs or matrix.project):
        return load_matrix(matrix.root)
    return matrix


def write_all(matrix: Matrix, into: Path | None = None) -> list[Path]:
    written = []
    for path, text in render_all(as_committed(matrix, into), into).items():
        if not path.is_file() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            written.append(path)
    return written


def stale(matrix: Matrix, into: Path | None = None) -> list[Path]:
    """Generated Dockerfiles (the committed ones, or those in into) that differ from what their
    templates render now (as_committed says for which catalog)."""
    matrix = as_committed(matrix, into)
    return [
        path
        for path, text in render_all(matrix, into).items()
        if not path.is_file() or path.read_text() != text
    ]


def outdated_committed(matrix: Matrix) -> list[Path]:
    """What a run checks before it builds: a checkout's committed Dockerfiles that are stale. An
    installed catalog has none; a run renders what it builds from the templates in memory anyway."""
    return [] if installed(matrix.root) else stale(matrix)
