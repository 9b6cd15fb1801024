"""The declared axes in matrix/: runtimes, scenarios, expectations and environments.

Everything is validated on load; an error names the file, the key and what is allowed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from dlmatrix.errors import ConfigError, DlmatrixError
from dlmatrix.expectations import VERSION_RANGE_PATTERN, Rule
from dlmatrix.outcomes import OUTCOME_HELP, OUTCOME_PATTERN
from dlmatrix.runtimes.kinds import FAMILIES, RUNTIME_KINDS
from dlmatrix.runtimes.plugins import DEFAULT_SCENARIOS, Loaded, Plugin, discover, plugin_of, read
from dlmatrix.strictyaml import StrictLoader

# Lengths that dlm-suite and the drivers hold in fixed buffers (names in paths and group names,
# steps and environment values after @RT@ expansion): refused here rather than cut there.
NAME = {"type": "string", "pattern": r"^[a-z0-9][a-z0-9._-]*$", "maxLength": 48}
TEXT = {"type": "string", "minLength": 1}
FLAGS = {"type": "string", "pattern": r"^[^\t\n]*$"}
ENV = {
    "type": "object",
    "additionalProperties": {"type": "string", "pattern": r"^[^\s]*$", "maxLength": 1024},
    "propertyNames": {"pattern": r"^[A-Z_][A-Z0-9_]*$"},
}
PROVIDER = "(a|b|origin)"  # the providers build.sh builds (libdlmprov_P.so)
STEP_PATTERN = (
    rf"^(open:{PROVIDER}(:(lazy|now|local|global)(,(lazy|now|local|global))*)?|fire:{PROVIDER}"
    rf"|close:{PROVIDER}|close-in-thread:{PROVIDER}|open-runtime|close-runtime|wake|check(:[a-z0-9-]+)?"
    rf"|cycles:[0-9]{{1,6}}:{PROVIDER}|bounded|fork-child:{PROVIDER}|exit-fast|sleep:[0-9]{{1,6}}"
    r"|run:[a-z0-9-]+)$"
)
STEP_HELP = (
    "open:P[:lazy|now,local|global], fire:P, close:P, close-in-thread:P, open-runtime, close-runtime, "
    "wake, check[:LABEL], cycles:N:P, bounded, fork-child:P, exit-fast, sleep:MS, run:TOOL "
    "(P: a, b or origin; N and MS up to 6 digits; 64 characters at most)"
)
DRIVERS = ("dlm-driver", "dlm-driver-linked", "dlm-driver-tracepoints")
SHA256 = {"type": "string", "pattern": r"^[0-9a-f]{64}$"}
FILE_NAME = {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._+-]*$"}
TEMPLATES = "dockerfiles/templates"
LIBC_FAMILIES = ("glibc", "musl")


def _object(properties: dict[str, Any], required: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


def _list_of(key: str, item: dict[str, Any]) -> dict[str, Any]:
    return _object({key: {"type": "array", "items": item, "minItems": 1}}, [key])


UPSTREAM = _object(
    {
        "repository": {"type": "string", "pattern": r"^(https|git|ssh|file)://[^\s]+$"},
        "commit": {"type": "string", "pattern": r"^[0-9a-f]{40}$"},
        "version": {"type": "string", "pattern": r"^[0-9A-Za-z.+~-]+$"},
        "snapshot": FILE_NAME,
        "sha256": SHA256,
        "configure": {"type": "array", "items": {"type": "string", "pattern": r"^[^\n]+$"}},
    },
    ["repository", "commit", "version", "snapshot", "sha256", "configure"],
)
PATCH = _object({"file": FILE_NAME, "sha256": SHA256, "origin": TEXT}, ["file", "sha256", "origin"])

SCHEMAS: dict[str, dict[str, Any]] = {
    "runtimes.yaml": _object(
        {
            "runtimes": {
                "type": "array",
                "minItems": 1,
                "items": _object(
                    {
                        "name": NAME,
                        "description": TEXT,
                        "kind": {"enum": [k for k in RUNTIME_KINDS if k != "plugin"]},
                        "cflags": FLAGS,
                        "ldflags": FLAGS,
                        "scenarios": {"type": "array", "items": TEXT, "minItems": 1},
                        "attempts": {"type": "integer", "minimum": 1, "maximum": 100},
                        "upstream": UPSTREAM,
                        "patches": {"type": "array", "items": PATCH},
                    },
                    ["name", "description", "kind"],
                ),
            },
            "musl_dependencies": {"type": "array", "items": UPSTREAM},
        },
        ["runtimes"],
    ),
    "scenarios.yaml": _object(
        {
            "defaults": _object(
                {
                    "driver": {"enum": list(DRIVERS)},
                    "timeout_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 600},
                    "env": ENV,
                },
                ["driver", "timeout_s", "env"],
            ),
            "scenarios": {
                "type": "array",
                "minItems": 1,
                "items": _object(
                    {
                        "name": NAME,
                        "description": TEXT,
                        "driver": {"enum": list(DRIVERS)},
                        "timeout_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 600},
                        "timeout_max_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 600},
                        "env": ENV,
                        "steps": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"type": "string", "pattern": STEP_PATTERN, "maxLength": 64},
                        },
                        "kinds": {"type": "array", "minItems": 1, "items": {"enum": list(RUNTIME_KINDS)}},
                    },
                    ["name", "description", "steps"],
                ),
            },
        },
        ["defaults", "scenarios"],
    ),
    "expectations.yaml": _list_of(
        "expectations",
        _object(
            {
                "scenario": TEXT,
                "runtime": TEXT,
                "libc": {"enum": ["*", *LIBC_FAMILIES]},
                "versions": {"type": "string", "pattern": VERSION_RANGE_PATTERN},
                "outcome": {"type": "string", "pattern": OUTCOME_PATTERN},
                "reason": TEXT,
                "racy": {"type": "boolean"},
                "otherwise": {"type": "string", "pattern": OUTCOME_PATTERN},
                "arch": TEXT,
                "emulated": {"type": "boolean"},
            },
            ["scenario", "runtime", "libc", "outcome", "reason"],
        ),
    ),
    "images.yaml": _list_of(
        "images",
        _object(
            {
                "name": NAME,
                "template": NAME,
                "base": {"type": "string", "pattern": r"^[a-z0-9./_-]+:[A-Za-z0-9._-]+$"},
                "offline": _object({"suite": NAME, "security": {"type": "boolean"}}, ["suite"]),
                "libc": {"enum": list(LIBC_FAMILIES)},
                "libc_version": {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)+$"},
                "arch": NAME,
            },
            ["name", "template", "base", "libc"],
        ),
    ),
    "architectures.yaml": _object(
        {
            "architectures": {
                "type": "array",
                "minItems": 1,
                "items": _object(
                    {
                        "name": NAME,
                        "platform": {"type": "string", "pattern": r"^linux/[a-z0-9]+(/v[0-9]+)?$"},
                        "namespace": NAME,
                        "machines": {"type": "array", "items": NAME, "minItems": 1},
                        "native_on": {"type": "array", "items": NAME},
                        "qemu": NAME,
                        "timeout_factor": {"type": "number", "minimum": 1, "maximum": 100},
                    },
                    ["name", "platform", "namespace", "machines", "qemu", "timeout_factor"],
                ),
            },
            "emulated": _object(
                {
                    "skip_kinds": {"type": "array", "items": {"enum": list(RUNTIME_KINDS)}},
                    "reason": TEXT,
                },
                ["skip_kinds", "reason"],
            ),
        },
        ["architectures", "emulated"],
    ),
    "hosts.yaml": _list_of(
        "hosts",
        _object(
            {"name": NAME, "libc": {"enum": list(LIBC_FAMILIES)}, "cc": TEXT, "install": TEXT},
            ["name", "libc", "cc", "install"],
        ),
    ),
}

ALLOWED_BY_PATTERN = {
    OUTCOME_PATTERN: OUTCOME_HELP,
    STEP_PATTERN: STEP_HELP,
    VERSION_RANGE_PATTERN: '"*" or comparisons such as ">=2.31,<2.40"',
}


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
        catalog's order (which of them a run takes is dlmatrix.selector's business)."""
        return [
            (scenario, runtime)
            for scenario in self.scenarios
            for runtime in self.runtimes
            if runtime.runs(scenario.name) and runtime.kind in scenario.kinds
        ]


def find_root(start: Path | None = None) -> Path:
    """The project root: $DLMATRIX_ROOT, else the nearest directory upward holding matrix/."""
    if "DLMATRIX_ROOT" in os.environ:
        return Path(os.environ["DLMATRIX_ROOT"]).resolve()
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "matrix" / "scenarios.yaml").is_file():
            return candidate
    raise DlmatrixError(
        f"no matrix/ directory found in {here} or above",
        "run dlmatrix from a dlmatrix checkout, or set DLMATRIX_ROOT to one",
    )


def _key_path(error: jsonschema.ValidationError) -> str:
    key = ""
    for part in error.absolute_path:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "(top level)"


def _allowed(error: jsonschema.ValidationError) -> str:
    schema = error.schema if isinstance(error.schema, dict) else {}
    if "enum" in schema:
        return ", ".join(map(str, schema["enum"]))
    if "pattern" in schema:
        return ALLOWED_BY_PATTERN.get(schema["pattern"], f"text matching {schema['pattern']}")
    if "properties" in schema:
        return "keys " + ", ".join(schema["properties"])
    return ""


def load_file(root: Path, name: str) -> dict[str, Any]:
    path = root / "matrix" / name
    label = f"matrix/{name}"
    try:
        data = yaml.load(path.read_bytes().decode(), Loader=StrictLoader)
    except FileNotFoundError:
        raise ConfigError(label, "(file)", "missing", "restore it from git") from None
    except yaml.YAMLError as exc:
        raise ConfigError(label, "(syntax)", f"not valid YAML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(label, "(encoding)", f"not UTF-8: {exc}") from None
    validator = jsonschema.Draft202012Validator(SCHEMAS[name])
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        raise ConfigError(label, _key_path(error), error.message, _allowed(error))
    assert isinstance(data, dict)
    return data


def _unique(label: str, key: str, names: Iterable[str]) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise ConfigError(label, f"{key}[{index}].name", f"{name!r} is declared twice", "unique names")
        seen.add(name)


def _check_globs(rules: Sequence[Rule], scenarios: Sequence[str], runtimes: Sequence[str]) -> None:
    """A rule that matches nothing is a typo that would silently never apply."""
    for index, rule in enumerate(rules):
        for key, pattern, names in (
            ("scenario", rule.scenario, scenarios),
            ("runtime", rule.runtime, runtimes),
        ):
            if not any(fnmatchcase(name, pattern) for name in names):
                raise ConfigError(
                    "matrix/expectations.yaml",
                    f"expectations[{index}].{key}",
                    f"{pattern!r} matches no declared {key}",
                    ", ".join(names),
                )


def _check_steps(scenarios: Sequence[Scenario]) -> None:
    for index, scenario in enumerate(scenarios):
        if any(step == "bounded" for step in scenario.steps) and not any(
            step.startswith("cycles:") for step in scenario.steps
        ):
            raise ConfigError(
                "matrix/scenarios.yaml",
                f"scenarios[{index}].steps",
                "'bounded' needs a cycles:N:P step before it",
            )


def _check_templates(root: Path, images: Sequence[Image]) -> None:
    available = sorted(
        p.name.removesuffix(".Dockerfile.j2") for p in (root / TEMPLATES).glob("*.Dockerfile.j2")
    )
    for index, image in enumerate(images):
        if image.template not in available:
            raise ConfigError(
                "matrix/images.yaml",
                f"images[{index}].template",
                f"no template {TEMPLATES}/{image.template}.Dockerfile.j2",
                ", ".join(available),
            )


def _image(index: int, item: dict[str, Any], architectures: Sequence[Architecture]) -> Image:
    arch = next((a for a in architectures if a.name == item.get("arch")), None)
    if "arch" in item and arch is None:
        raise ConfigError(
            "matrix/images.yaml",
            f"images[{index}].arch",
            f"{item['arch']!r} is not in matrix/architectures.yaml",
            ", ".join(a.name for a in architectures),
        )
    offline = item.get("offline", {})
    return Image(
        name=item["name"],
        template=item["template"],
        base=item["base"],
        libc=item["libc"],
        offline_suite=offline.get("suite"),
        libc_version=item.get("libc_version"),
        architecture=arch,
        offline_security=offline.get("security", True),
    )


def _upstream(item: dict[str, Any]) -> Upstream:
    return Upstream(**{**item, "configure": tuple(item["configure"])})


def _runtime(index: int, item: dict[str, Any]) -> Runtime:
    """A runtime entry; built from source exactly when it is of kind lttng-ust-source."""
    from_source = item["kind"] == "lttng-ust-source"
    if from_source != ("upstream" in item):
        raise ConfigError(
            "matrix/runtimes.yaml",
            f"runtimes[{index}].upstream",
            "required for kind lttng-ust-source"
            if from_source
            else "only kind lttng-ust-source is built from source",
            "repository, commit, version, snapshot, sha256, configure",
        )
    return Runtime(
        **{
            **item,
            "scenarios": tuple(item.get("scenarios", ["*"])),
            "upstream": _upstream(item["upstream"]) if from_source else None,
            "patches": tuple(Patch(**patch) for patch in item.get("patches", [])),
            "family": FAMILIES[item["kind"]],
        }
    )


def _rule(item: dict[str, Any]) -> Rule:
    """An expectation rule, from matrix/expectations.yaml or a plug-in's runtime.yaml."""
    return Rule(
        scenario=item["scenario"],
        runtime=item["runtime"],
        libc=item["libc"],
        versions=item.get("versions", "*"),
        outcome=item["outcome"],
        reason=item["reason"],
        racy=item.get("racy", False),
        otherwise=item.get("otherwise", "pass"),
        arch=item.get("arch", "*"),
        emulated=item.get("emulated"),
    )


def _plugin_runtime(loaded: Loaded) -> tuple[Runtime, list[Rule]]:
    """A plug-in's runtime and its expectations (which come before matrix/expectations.yaml's)."""
    if loaded.problem is not None:
        description = f"A runtime plug-in that cannot be used: {loaded.problem}"
        return Runtime(
            loaded.name,
            description,
            "plugin",
            scenarios=DEFAULT_SCENARIOS,
            family=FAMILIES["plugin"],
            problem=loaded.problem,
        ), []
    data = loaded.data
    rules = [
        _rule({"scenario": "*", **item, "runtime": data["name"]}) for item in data.get("expectations", [])
    ]
    runtime = Runtime(
        name=data["name"],
        description=data["description"],
        kind="plugin",
        scenarios=tuple(data.get("scenarios", DEFAULT_SCENARIOS)),
        attempts=data.get("attempts", 1),
        family=data.get("family", FAMILIES["plugin"]),
        plugin=plugin_of(loaded),
    )
    return runtime, rules


def _checked_plugin(runtime: Runtime, rules: Sequence[Rule], scenarios: Sequence[str]) -> Runtime:
    """A plug-in whose scenarios or expectations name no scenario of the catalog has a typo that
    would silently never apply: it becomes a broken plug-in that says so."""
    if runtime.kind != "plugin" or runtime.problem is not None or runtime.plugin is None:
        return runtime
    label = runtime.plugin.directory / "runtime.yaml"
    globs = [("scenarios", g) for g in runtime.scenarios]
    globs += [("expectations.scenario", r.scenario) for r in rules if r.runtime == runtime.name]
    for key, pattern in globs:
        if not any(fnmatchcase(name, pattern) for name in scenarios):
            problem = f"{label}: {key}: {pattern!r} matches no scenario of matrix/scenarios.yaml"
            return replace(runtime, problem=problem + f" (allowed: {', '.join(scenarios)})", plugin=None)
    return runtime


def load_plugins(root: Path, extra: Sequence[Path]) -> tuple[list[Runtime], list[Rule]]:
    runtimes: list[Runtime] = []
    rules: list[Rule] = []
    for directory in discover(root, tuple(extra)):
        runtime, own = _plugin_runtime(read(root, directory))
        runtimes.append(runtime)
        rules.extend(own)
    return runtimes, rules


def load_matrix(root: Path | None = None, runtime_dirs: Sequence[Path] = ()) -> Matrix:
    """matrix/ with the repository's runtime plug-ins and those of runtime_dirs (--runtimes)."""
    root = root or find_root()
    runtime_data = load_file(root, "runtimes.yaml")
    plugins, plugin_rules = load_plugins(root, runtime_dirs)
    runtimes = tuple(_runtime(index, item) for index, item in enumerate(runtime_data["runtimes"]))
    runtimes += tuple(plugins)
    musl_dependencies = tuple(_upstream(item) for item in runtime_data.get("musl_dependencies", []))
    scenario_data = load_file(root, "scenarios.yaml")
    defaults = scenario_data["defaults"]
    scenarios = tuple(
        Scenario(
            name=item["name"],
            description=item["description"],
            driver=item.get("driver", defaults["driver"]),
            timeout_s=float(item.get("timeout_s", defaults["timeout_s"])),
            env=dict(item.get("env", defaults["env"])),
            steps=tuple(item["steps"]),
            kinds=tuple(item.get("kinds", RUNTIME_KINDS)),
            timeout_max_s=item.get("timeout_max_s"),
        )
        for item in scenario_data["scenarios"]
    )
    rules = tuple(plugin_rules) + tuple(
        _rule(item) for item in load_file(root, "expectations.yaml")["expectations"]
    )
    hosts = tuple(Host(**item) for item in load_file(root, "hosts.yaml")["hosts"])
    arch_data = load_file(root, "architectures.yaml")
    architectures = tuple(
        Architecture(
            **{**item, "machines": tuple(item["machines"]), "native_on": tuple(item.get("native_on", []))}
        )
        for item in arch_data["architectures"]
    )
    _unique("matrix/architectures.yaml", "architectures", (a.name for a in architectures))
    images = tuple(
        _image(index, item, architectures)
        for index, item in enumerate(load_file(root, "images.yaml")["images"])
    )
    _unique("matrix/runtimes.yaml and the runtime plug-ins", "runtimes", (r.name for r in runtimes))
    _unique("matrix/scenarios.yaml", "scenarios", (s.name for s in scenarios))
    _unique("matrix/hosts.yaml", "hosts", (h.name for h in hosts))
    _unique("matrix/images.yaml", "images", (i.name for i in images))
    _check_templates(root, images)
    _check_globs(rules[len(plugin_rules) :], [s.name for s in scenarios], [r.name for r in runtimes])
    runtimes = tuple(_checked_plugin(r, plugin_rules, [s.name for s in scenarios]) for r in runtimes)
    _check_steps(scenarios)
    for index, rule in enumerate(rules):
        if rule.otherwise != "pass" and not rule.racy:
            raise ConfigError(
                "matrix/expectations.yaml",
                f"expectations[{index}].otherwise",
                "only a racy rule has attempts that end otherwise",
                "racy: true, or no otherwise",
            )
        if re.search(r"[\t\n]", rule.reason):
            raise ConfigError(
                "matrix/expectations.yaml",
                f"expectations[{index}].reason",
                "contains a tab or newline",
                "one line of text",
            )
    return Matrix(
        root=root,
        runtimes=runtimes,
        scenarios=scenarios,
        rules=rules,
        hosts=hosts,
        images=images,
        musl_dependencies=musl_dependencies,
        runtime_dirs=tuple(runtime_dirs),
        architectures=architectures,
        emulated=Emulated(
            tuple(arch_data["emulated"]["skip_kinds"]), " ".join(arch_data["emulated"]["reason"].split())
        ),
    )
