"""Runtime plug-ins (docs/runtimes.md): a directory holding runtime.yaml and a provider source.

The repository ships its own in matrix/runtimes/; `dlmatrix run --runtimes DIR` adds more.
A plug-in that cannot be used (bad runtime.yaml, missing provider) does not stop the run: it
becomes a runtime whose cells report build-error with the one message that says why. A bad
`source` is the exception: it stops the run on load (dlmatrix.config.source says why).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml

from dlmatrix.config.entries import rule_of
from dlmatrix.config.schemas import PLUGIN_ALLOWED, PLUGIN_SCHEMA, first_error, key_path
from dlmatrix.config.source import source_of
from dlmatrix.config.strictyaml import read_yaml
from dlmatrix.errors import DlmatrixError
from dlmatrix.model.catalog import PLUGIN_FILE, Plugin, Runtime, Source
from dlmatrix.model.expectations import Rule
from dlmatrix.model.kinds import FAMILIES

REPOSITORY_DIR = ("matrix", "runtimes")
PKG_CONFIG_OR = "|"  # between the alternatives of one build.pkg-config entry (build.sh splits on it)
# the catalog scenarios that suit a library found through the default search path
DEFAULT_SCENARIOS = (
    "app-linked",
    "app-dlopen-dlclose",
    "reopen",
    "two-providers",
    "rtld-global-now",
    "close-in-thread",
    "ld-preload",
    "runtime-abs-first",
)


@dataclass(frozen=True)
class Loaded:
    """One plug-in directory as read: its runtime.yaml, or the problem that makes it unusable."""

    name: str
    directory: Path
    label: str  # how messages name its runtime.yaml
    data: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None
    source: Source | None = None  # what its library is built from, when not from packages


def discover(root: Path, extra: tuple[Path, ...] = ()) -> list[Path]:
    """The repository's plug-ins, then those of each --runtimes DIR (a plug-in, or a directory of them)."""
    found = sorted(p.parent for p in root.joinpath(*REPOSITORY_DIR).glob(f"*/{PLUGIN_FILE}"))
    fix = "name a plug-in's directory (`dlmatrix new-runtime NAME` makes one), or a directory of them"
    for directory in extra:
        if not directory.is_dir():
            raise DlmatrixError(f"--runtimes {directory}: no such directory", fix)
        if (directory / PLUGIN_FILE).is_file():
            found.append(directory)
            continue
        inside = sorted(p.parent for p in directory.glob(f"*/{PLUGIN_FILE}"))
        if not inside:
            raise DlmatrixError(
                f"--runtimes {directory}: no {PLUGIN_FILE} in it or in a directory in it", fix
            )
        found.extend(inside)
    return found


def _label(root: Path, directory: Path) -> str:
    path = directory / PLUGIN_FILE
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def read(root: Path, directory: Path) -> Loaded:
    """A plug-in's runtime.yaml checked against the format; raises only for a bad source (ConfigError)."""
    label = _label(root, directory)
    fallback = "".join(c if c.isalnum() or c in "._-" else "-" for c in directory.name.lower()) or "plugin"
    try:
        data = read_yaml(directory / PLUGIN_FILE)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return Loaded(fallback, directory, label, problem=f"{label}: cannot be read: {exc}")
    source = source_of(label, directory, data) if isinstance(data, dict) else None
    error = first_error(data, PLUGIN_SCHEMA)
    name = str(data["name"]) if isinstance(data, dict) and isinstance(data.get("name"), str) else fallback
    if error is not None:
        key = key_path(error)
        allowed = PLUGIN_ALLOWED.get(re.split(r"[.\[]", key)[0], "")
        return Loaded(
            name,
            directory,
            label,
            problem=f"{label}: {key}: {error.message}" + (f" (allowed: {allowed})" if allowed else ""),
        )
    if not (directory / data["provider"]).is_file():
        return Loaded(
            name,
            directory,
            label,
            problem=f"{label}: provider: {data['provider']} does not exist beside runtime.yaml "
            "(write the provider source there, or name the right file)",
        )
    if source is None and "packages" not in data:
        return Loaded(
            name,
            directory,
            label,
            problem=f"{label}: packages: missing (the packages that bring the library, an empty list "
            "when it is already there, or a source to build it from)",
        )
    return Loaded(name, directory, label, data=data, source=source)


def pkg_config_entry(item: str | list[str]) -> str:
    """One entry of build.pkg-config as Plugin.pkg_config holds it and build.sh reads it: a name, or
    a list of alternatives (one package that is named by release or architecture, such as oneTBB's
    tbb32 on 32-bit) joined by PKG_CONFIG_OR, which no pkg-config name contains (the schema)."""
    return item if isinstance(item, str) else PKG_CONFIG_OR.join(item)


def plugin_of(loaded: Loaded) -> Plugin:
    data = loaded.data
    env: dict[str, str] = {}
    threads = data["threads"]
    if "name" in threads:
        env["DLM_THREAD_PATTERN"] = threads["name"]
    else:  # the driver counts the threads beyond its own; the declared count goes with the evidence
        env["DLM_THREADS_ADDED"] = str(threads["added"])
        env["DLM_EVIDENCE_THREADS_DECLARED"] = str(threads["added"])
    wake = data.get("wake", {})
    if "sleep_ms" in wake:
        env["DLM_WAKE_SLEEP_MS"] = str(wake["sleep_ms"])
    if wake.get("connect"):
        env["DLM_WAKE_CONNECT"] = "1"
    env.update(data.get("env", {}))
    build = data.get("build", {})
    return Plugin(
        directory=loaded.directory,
        provider=data["provider"],
        packages={manager: tuple(names) for manager, names in data.get("packages", {}).items()},
        sonames=tuple([data["soname"]] if isinstance(data["soname"], str) else data["soname"]),
        starts=data["starts"],
        pkg_config=tuple(pkg_config_entry(item) for item in build.get("pkg-config", [])),
        cflags=build.get("cflags", ""),
        libs=build.get("libs", ""),
        env=env,
        source=loaded.source,
    )


def plugin_runtime(loaded: Loaded) -> tuple[Runtime, list[Rule]]:
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
        rule_of({"scenario": "*", **item, "runtime": data["name"]}) for item in data.get("expectations", [])
    ]
    runtime = Runtime(
        name=data["name"],
        description=data["description"],
        kind="plugin",
        scenarios=tuple(data.get("scenarios", DEFAULT_SCENARIOS)),
        attempts=data.get("attempts", 1),
        family=data.get("family", FAMILIES["plugin"]),
        plugin=plugin_of(loaded),
        source=loaded.source,
    )
    return runtime, rules


def checked_plugin(runtime: Runtime, rules: Sequence[Rule], scenarios: Sequence[str]) -> Runtime:
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
            allowed = f" (allowed: {', '.join(scenarios)})"
            return replace(runtime, problem=problem + allowed, plugin=None, source=None)
    return runtime


def load_plugins(root: Path, extra: Sequence[Path]) -> tuple[list[Runtime], list[Rule]]:
    runtimes: list[Runtime] = []
    rules: list[Rule] = []
    for directory in discover(root, tuple(extra)):
        runtime, own = plugin_runtime(read(root, directory))
        runtimes.append(runtime)
        rules.extend(own)
    return runtimes, rules
