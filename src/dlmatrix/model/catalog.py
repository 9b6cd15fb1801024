"""The catalog as typed values: runtimes, scenarios, hosts, architectures and images, and the
matrix that holds them (dlmatrix.config reads them from matrix/ and the runtime plug-ins)."""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

from dlmatrix.model.expectations import Rule
from dlmatrix.model.kinds import RUNTIME_KINDS

OUTPUT_LOCK = ".dlmatrix.lock"  # marks a run's output directory (results.outdir), never a source
PROJECT_FILE = "dlmatrix.toml"  # a project's own file (config.project reads it, `dlmatrix init` writes it)

LANGUAGES = {".c": "c", ".cc": "c++", ".cpp": "c++", ".cxx": "c++"}
PLUGIN_FILE = "runtime.yaml"  # what makes a directory a runtime plug-in
MAX_ATTEMPTS = 100  # attempts per cell, at most (--repeat, `attempts:`); dlm-suite holds them in place


@dataclass(frozen=True)
class SourcePatch:
    """A patch applied with patch -p1: a file beside runtime.yaml (path), or a declared one (file,
    sha256, origin), found there or else in the sources directories by its name and checksum."""

    file: str
    path: Path | None = None  # where it was found on load; None: looked up in the sources directories
    sha256: str = ""
    origin: str = ""  # where it comes from, in words


BUILD_SYSTEMS = ("make", "autotools", "cmake", "meson", "script")
SOURCE_KINDS = ("path", "git", "archive")


@dataclass(frozen=True)
class Source:
    """Where a runtime's library is built from (runtime.yaml's source, or an entry of
    matrix/runtimes.yaml) and how (its build)."""

    kind: str  # SOURCE_KINDS
    location: str  # path: the directory; git: the repository (a path or a URL); archive: the file,
    # or "" for a declared archive that is looked up by name in the sources directories
    system: str  # BUILD_SYSTEMS
    commit: str = ""  # git; for an archive, the commit it is `git archive` of, when declared
    sha256: str = ""  # archive
    patches: tuple[SourcePatch, ...] = ()  # applied in order with patch -p1
    # upstream fixes an older commit of its history may need to build here (`dlmatrix bisect` applies
    # those that apply and are not yet in the tree, before it gives a commit up as unbuildable)
    fixups: tuple[SourcePatch, ...] = ()
    configure: tuple[str, ...] = ()  # arguments of the build system's configuration step
    script: str = ""  # system script: the plug-in's script, beside runtime.yaml
    requires: dict[str, tuple[str, ...]] = field(default_factory=dict)  # build packages per manager
    managers: tuple[str, ...] = ()  # where it is built: images of these package managers ((): all)
    file: str = ""  # archive: its file name (what the sources directories hold)
    repository: str = ""  # archive: the repository it comes from, when declared (`dlmatrix sources`)
    depends: tuple[str, ...] = ()  # dependencies (matrix/runtimes.yaml) built first, where they apply
    label: str = ""  # the file that declares it, as messages name it
    # make and autotools: the directories make builds and installs, in order (): the whole tree)
    subdirs: tuple[str, ...] = ()
    # a runtime of the same source whose configured and built tree this one's build starts from: its
    # further patches applied there, make recompiles only what they touch (build.derived-from)
    derived_from: str = ""
    # an autotools runtime built in the same image whose configure results (config.cache) this one's
    # configure starts from: its checks answered there run again only where that one did not run them
    configure_cache_from: str = ""

    @property
    def identity(self) -> str:
        """What the source is, in words without spaces (evidence and build logs)."""
        if self.kind == "git":
            return f"git:{self.commit}"
        if self.kind == "archive":
            return f"archive:{self.file}@sha256:{self.sha256[:16]}"
        return f"path:{Path(self.location).name}"

    def builds_with(self, manager: str) -> bool:
        """Whether an image that installs with manager builds it (elsewhere: not applicable)."""
        return not self.managers or manager in self.managers

    @property
    def fetchable(self) -> bool:
        """An archive that says where it comes from: `dlmatrix sources` can fetch it, and a missing
        copy skips its cells rather than stopping the run."""
        return self.kind == "archive" and bool(self.repository and self.commit)

    def evidence(self) -> dict[str, str]:
        """What each cell records of it: the source, and for a commit (a git source, or an archive
        that declares one) the repository, the commit and the patches applied."""
        found = {"source": self.identity}
        if self.commit:
            repository = self.repository or self.location
            found["upstream_repository"] = repository if "://" in repository else Path(repository).name
            found["upstream_commit"] = self.commit
            found["upstream_patches"] = ",".join(p.file for p in self.patches) or "none"
        return found


@dataclass(frozen=True)
class Dependency:
    """A library built from source before the runtimes that name it in build.depends, for the C
    libraries it lists (elsewhere the image's own packages serve): its prefix goes into their build
    flags and its libraries beside theirs."""

    name: str
    description: str
    source: Source
    libc: tuple[str, ...] = ("glibc", "musl")


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
    source: Source | None = None  # built from source into a prefix of its own (plug-ins: plugin.source)
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
    requires: tuple[str, ...] = ()  # programs its steps run: where one is missing the cell is skipped

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
class Cross:
    """An architecture's cross toolchain on the build machine (Debian's, of the image's release) for
    one C library: what builds the emulated images' heavy runtimes without qemu (architectures.yaml
    `cross`)."""

    triplet: str  # GNU's, of Debian's cross gcc and binutils: configure --host, TRIPLET-gcc
    libc: str  # the C library of the images it serves
    packages: tuple[str, ...]  # installed on the build machine; PKG:ARCH for the target's libraries
    # a GCC specs file that points TRIPLET-gcc at another C library than its own (musl-dev:ARCH's
    # musl-gcc.specs, as musl-gcc does natively), in a directory named after that one's triplet
    specs: str = ""
    flags: tuple[str, ...] = ()  # options the wrapper gives with it (what the other C library needs)

    @property
    def compiler(self) -> str:
        """TRIPLET-gcc; with specs, the wrapper that the toolchain stage writes, named after the C
        library's triplet (aarch64-linux-musl-gcc), so that each build's evidence says what it targets."""
        return f"{PurePosixPath(self.specs).parent.name}-gcc" if self.specs else f"{self.triplet}-gcc"

    @property
    def libdir(self) -> str:
        """The target's multiarch directory of that C library (pkg-config's files there)."""
        return str(PurePosixPath(self.specs).parent) if self.specs else f"/usr/lib/{self.triplet}"


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
    cross: tuple[Cross, ...] = ()  # one per C library it serves


@dataclass(frozen=True)
class LeftOut:
    """Runtimes (globs) an environment does not build and run, and why: under emulation
    (architectures.yaml), on the host backend (hosts.yaml)."""

    runtimes: tuple[str, ...] = ()
    reason: str = ""
    cross: tuple[str, ...] = ()  # under emulation: those built with a cross toolchain where one serves
    # under emulation: environment variables that are timeouts (native value, in their own unit),
    # scaled by the architecture's factor as the scenarios' timeouts are (suite/bundle.py)
    scaled_env: tuple[tuple[str, int], ...] = ()

    def names(self, runtimes: tuple[Runtime, ...]) -> set[str]:
        return {r.name for r in runtimes if any(fnmatchcase(r.name, g) for g in self.runtimes)}

    def cross_built(self, name: str) -> bool:
        return any(fnmatchcase(name, g) for g in self.cross)


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
    def manager(self) -> str:
        """Its package manager, as its template's name starts (apt-glibc: apt)."""
        return self.template.partition("-")[0]

    @property
    def cross(self) -> Cross | None:
        """The cross toolchain that builds its emulated.cross_runtimes on the build machine: its
        architecture's, for its C library, from Debian's archive (apt images only)."""
        toolchains = self.architecture.cross if self.architecture and self.manager == "apt" else ()
        return next((c for c in toolchains if c.libc == self.libc), None)

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
    dependencies: tuple[Dependency, ...] = ()
    runtime_dirs: tuple[Path, ...] = ()  # plug-ins from outside the repository (--runtimes)
    project: Path | None = None  # the project file that extended the catalog (dlmatrix.toml)
    architectures: tuple[Architecture, ...] = ()
    emulated: LeftOut = LeftOut()
    on_hosts: LeftOut = LeftOut()  # what the host backend leaves out (hosts.yaml)

    def architecture(self, name: str) -> Architecture:
        return next(a for a in self.architectures if a.name == name)

    def image(self, name: str) -> Image:
        return next(i for i in self.images if i.name == name)

    def plugins(self) -> list[Runtime]:
        """The runtime plug-ins, usable or not (a broken one still has cells that say why)."""
        return [r for r in self.runtimes if r.kind == "plugin"]

    def source_runtimes(self) -> list[Runtime]:
        """The runtimes built from source (catalog entries and plug-ins alike), each in a build
        stage of its own."""
        return [r for r in self.runtimes if r.source is not None]

    def base_of(self, runtime: Runtime) -> Runtime | None:
        """The runtime whose built tree runtime's build starts from (build.derived-from), if any."""
        name = runtime.source.derived_from if runtime.source else ""
        return next((r for r in self.runtimes if name and r.name == name), None)

    def with_bases(self, chosen: list[Runtime]) -> list[Runtime]:
        """chosen, and the base of each derived one that chosen leaves out (its tree must be built)."""
        names = {r.name for r in chosen}
        bases = {base.name: base for r in chosen if (base := self.base_of(r)) and base.name not in names}
        return [*chosen, *bases.values()]

    def cross_builds(self, image: Image, runtime: str) -> bool:
        """Whether image builds runtime on the build machine with its architecture's cross toolchain
        (emulated.cross_runtimes), rather than in its own toolchain (under qemu where it is foreign)."""
        return image.cross is not None and self.emulated.cross_built(runtime)

    def dependencies_for(self, runtime: Runtime, libc: str) -> list[Dependency]:
        """What runtime's build needs built first where the C library is libc."""
        named = runtime.source.depends if runtime.source else ()
        return [d for d in self.dependencies if d.name in named and libc in d.libc]

    def pairs(self) -> list[tuple[Scenario, Runtime]]:
        """The cells of one environment: each scenario with each runtime it applies to, in the
        catalog's order (which of them a run takes is dlmatrix.model.selector's business)."""
        return [
            (scenario, runtime)
            for scenario in self.scenarios
            for runtime in self.runtimes
            if runtime.runs(scenario.name) and runtime.kind in scenario.kinds
        ]
