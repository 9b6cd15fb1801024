"""The catalog as typed values: runtimes, scenarios, hosts, architectures and images, and the
matrix that holds them (dlmatrix.config reads them from matrix/ and the runtime plug-ins)."""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

from dlmatrix.model.expectations import Rule
from dlmatrix.model.kinds import RUNTIME_KINDS

OUTPUT_LOCK = ".dlmatrix.lock"  # marks a run's output directory (results.outdir), never a source
PROJECT_FILE = "dlmatrix.toml"  # a project's own file (config.project reads it, `dlmatrix init` writes it)

LANGUAGES = {".c": "c", ".cc": "c++", ".cpp": "c++", ".cxx": "c++"}
PLUGIN_FILE = "runtime.yaml"  # what makes a directory a runtime plug-in
MAX_ATTEMPTS = 100  # attempts per cell, at most (--repeat, `attempts:`); dlm-suite holds them in place


@dataclass(frozen=True)
class Upstream:
    """A snapshot of an upstream repository: `git archive` of commit, named snapshot."""

    repository: str
    commit: str
    version: str
    snapshot: str
    sha256: str
    configure: tuple[str, ...] = ()


@dataclass(frozen=True)
class Patch:
    file: str
    sha256: str
    origin: str


BUILD_SYSTEMS = ("make", "autotools", "cmake", "meson", "script")
SOURCE_KINDS = ("path", "git", "archive")


@dataclass(frozen=True)
class Source:
    """Where a runtime plug-in's library is built from (runtime.yaml's source) and how (its build)."""

    kind: str  # SOURCE_KINDS
    location: str  # path: the directory; git: the repository (a path or a URL); archive: the file
    system: str  # BUILD_SYSTEMS
    commit: str = ""  # git
    sha256: str = ""  # archive
    patches: tuple[Path, ...] = ()  # applied in order with patch -p1
    configure: tuple[str, ...] = ()  # arguments of the build system's configuration step
    script: str = ""  # system script: the plug-in's script, beside runtime.yaml
    requires: dict[str, tuple[str, ...]] = field(default_factory=dict)  # build packages per manager

    @property
    def identity(self) -> str:
        """What the source is, in words without spaces (evidence and build logs)."""
        if self.kind == "git":
            return f"git:{self.commit}"
        if self.kind == "archive":
            return f"archive:{Path(self.location).name}@sha256:{self.sha256[:16]}"
        return f"path:{Path(self.location).name}"


@dataclass(frozen=True)
class Plugin:
    """What build.sh needs to build a plug-in's providers, and what its threads look like."""

    directory: Path
    provider: str
    packages: dict[str, tuple[str, ...]]
    sonames: tuple[str, ...]  # the one the provider links is the runtime (it differs by release)
    starts: str
    pkg_config: tuple[str, ...] = ()
    cflags: str = ""
    libs: str = ""
    env: dict[str, str] = field(default_factory=dict)
    source: Source | None = None  # built from source into a prefix, instead of packages

    @property
    def language(self) -> str:
        return LANGUAGES[Path(self.provider).suffix]


@dataclass(frozen=True)
class Runtime:
    name: str
    description: str
    kind: str = "model"
    cflags: str = ""
    ldflags: str = ""
    scenarios: tuple[str, ...] = ("*",)  # globs: the catalog scenarios that make sense for it
    attempts: int = 1  # at least this many attempts per cell, so that a racy outcome gets a rate
    upstream: Upstream | None = None  # kind lttng-ust-source: what it is built from
    patches: tuple[Patch, ...] = ()
    family: str = "model"  # how the report groups it (FAMILIES)
    plugin: Plugin | None = None  # kind plugin: its directory, packages and build
    problem: str | None = None  # kind plugin: why it cannot be built (its cells say so)

    def runs(self, scenario: str) -> bool:
        return any(fnmatchcase(scenario, pattern) for pattern in self.scenarios)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    driver: str
    timeout_s: float
    env: dict[str, str]
    steps: tuple[str, ...]
    kinds: tuple[str, ...] = RUNTIME_KINDS  # the runtime kinds it applies to
    timeout_max_s: float | None = None  # where the timeout is the assertion: emulation scales it no further

    def timeout_under(self, factor: float) -> float:
        """The timeout where everything runs factor times slower (emulation), within its cap."""
        scaled = self.timeout_s * factor
        return min(scaled, max(self.timeout_max_s, self.timeout_s)) if self.timeout_max_s else scaled


@dataclass(frozen=True)
class Host:
    name: str
    libc: str
    cc: str
    install: str


@dataclass(frozen=True)
class Architecture:
    """One value of the architecture axis (matrix/architectures.yaml)."""

    name: str  # Debian's
    platform: str  # OCI's: linux/arm64/v8
    namespace: str  # docker-library's per-architecture namespace: arm64v8
    machines: tuple[str, ...]  # uname -m of its own hosts
    qemu: str  # the binfmt_misc handler qemu-NAME
    timeout_factor: float  # under emulation
    native_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class Emulated:
    """What is left out where an architecture runs under emulation, and why."""

    skip_kinds: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Image:
    name: str
    template: str
    base: str
    libc: str
    offline_suite: str | None = None
    libc_version: str | None = None
    architecture: Architecture | None = None  # pinned; None: the engine's own architecture
    offline_security: bool = True  # the offline base's sources include SUITE-security

    @property
    def arch(self) -> str | None:
        return self.architecture.name if self.architecture else None

    @property
    def platform(self) -> str | None:
        """For FROM --platform and docker import --platform."""
        return self.architecture.platform if self.architecture else None

    @property
    def base_ref(self) -> str:
        """What dlmatrix pulls or tags for the base: for a pinned architecture, docker-library's
        per-architecture repository (arm64v8/debian:bookworm), which never replaces the engine's
        own debian:bookworm. The Dockerfile keeps `base`, with FROM --platform, for registry users."""
        return f"{self.architecture.namespace}/{self.base}" if self.architecture else self.base


@dataclass(frozen=True)
class Matrix:
    root: Path
    runtimes: tuple[Runtime, ...]
    scenarios: tuple[Scenario, ...]
    rules: tuple[Rule, ...]
    hosts: tuple[Host, ...]
    images: tuple[Image, ...]
    musl_dependencies: tuple[Upstream, ...] = ()
    runtime_dirs: tuple[Path, ...] = ()  # plug-ins from outside the repository (--runtimes)
    project: Path | None = None  # the project file that extended the catalog (dlmatrix.toml)
    architectures: tuple[Architecture, ...] = ()
    emulated: Emulated = Emulated()

    def architecture(self, name: str) -> Architecture:
        return next(a for a in self.architectures if a.name == name)

    def image(self, name: str) -> Image:
        return next(i for i in self.images if i.name == name)

    def plugins(self) -> list[Runtime]:
        """The runtime plug-ins, usable or not (a broken one still has cells that say why)."""
        return [r for r in self.runtimes if r.kind == "plugin"]

    def source_runtimes(self) -> list[Runtime]:
        """The runtimes built from an upstream snapshot, each in a build stage of its own."""
        return [r for r in self.runtimes if r.upstream is not None]

    def pairs(self) -> list[tuple[Scenario, Runtime]]:
        """The cells of one environment: each scenario with each runtime it applies to, in the
        catalog's order (which of them a run takes is dlmatrix.model.selector's business)."""
        return [
            (scenario, runtime)
            for scenario in self.scenarios
            for runtime in self.runtimes
            if runtime.runs(scenario.name) and runtime.kind in scenario.kinds
        ]
