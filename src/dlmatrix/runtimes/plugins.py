"""Runtime plug-ins (docs/runtimes.md): a directory holding runtime.yaml and a provider source.

The repository ships its own in matrix/runtimes/; `dlmatrix run --runtimes DIR` adds more.
A plug-in that cannot be used (bad runtime.yaml, missing provider) does not stop the run: it
becomes a runtime whose cells report build-error with the one message that says why.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from dlmatrix.errors import DlmatrixError
from dlmatrix.expectations import VERSION_RANGE_PATTERN
from dlmatrix.outcomes import OUTCOME_PATTERN
from dlmatrix.strictyaml import StrictLoader

MANAGERS = ("apt", "apk", "dnf")
LANGUAGES = {".c": "c", ".cc": "c++", ".cpp": "c++", ".cxx": "c++"}
PLUGIN_FILE = "runtime.yaml"
REPOSITORY_DIR = ("matrix", "runtimes")
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
SONAME = r"^[A-Za-z0-9_+-][A-Za-z0-9._+-]*\.so(\.[0-9]+)*$"
WORDS = {"type": "string", "pattern": r"^[^\t\n'\"\\`$]*$"}  # flags, quoted for build.sh


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


SCHEMA = _object(
    {
        "name": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9._-]*$", "maxLength": 48},
        "family": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$", "maxLength": 32},
        "description": {"type": "string", "minLength": 1},
        "packages": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"enum": list(MANAGERS)},
            "additionalProperties": {
                "type": "array",
                "items": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9.+:_-]*$"},
            },
        },
        "provider": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]*\.(c|cc|cpp|cxx)$"},
        "build": _object(
            {
                "pkg-config": {
                    "type": "array",
                    "items": {"type": "string", "pattern": r"^[A-Za-z0-9._+-]+$"},
                },
                "cflags": WORDS,
                "libs": WORDS,
            },
            [],
        ),
        "soname": {
            "anyOf": [
                {"type": "string", "pattern": SONAME},
                {"type": "array", "items": {"type": "string", "pattern": SONAME}, "minItems": 1},
            ]
        },
        "threads": {
            "oneOf": [
                _object({"name": {"type": "string", "pattern": r"^[^\s]{1,15}$"}}, ["name"]),
                _object({"added": {"type": "integer", "minimum": 1, "maximum": 1000}}, ["added"]),
            ]
        },
        "starts": {"type": "string", "minLength": 1},
        "wake": _object(
            {
                "sleep_ms": {"type": "integer", "minimum": 1, "maximum": 60000},
                "connect": {"type": "boolean"},
            },
            [],
        ),
        "env": {
            "type": "object",
            "additionalProperties": {"type": "string", "pattern": r"^[^\s]*$", "maxLength": 1024},
            "propertyNames": {"pattern": r"^[A-Z_][A-Z0-9_]*$"},
        },
        "scenarios": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
        "attempts": {"type": "integer", "minimum": 1, "maximum": 100},
        "expectations": {
            "type": "array",
            "items": _object(
                {
                    "scenario": {"type": "string", "minLength": 1},
                    "libc": {"enum": ["*", "glibc", "musl"]},
                    "versions": {"type": "string", "pattern": VERSION_RANGE_PATTERN},
                    "outcome": {"type": "string", "pattern": OUTCOME_PATTERN},
                    "reason": {"type": "string", "pattern": r"^[^\t\n]+$"},
                    "racy": {"type": "boolean"},
                    "otherwise": {"type": "string", "pattern": OUTCOME_PATTERN},
                    "arch": {"type": "string", "minLength": 1},
                    "emulated": {"type": "boolean"},
                },
                ["libc", "outcome", "reason"],
            ),
        },
    },
    ["name", "description", "packages", "provider", "soname", "threads", "starts"],
)
ALLOWED = {
    "packages": "apt, apk or dnf, each with a list of package names",
    "threads": "name: GLOB (on /proc thread names, 15 characters at most) or added: N",
    "soname": "the runtime library's DT_SONAME, e.g. libgomp.so.1, or a list when it differs by release",
    "provider": "a file beside runtime.yaml ending in .c, .cc, .cpp or .cxx",
}


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

    @property
    def language(self) -> str:
        return LANGUAGES[Path(self.provider).suffix]

    def bundle_files(self) -> dict[str, bytes]:
        """The files of bundle directory plugins/NAME/: the provider, plugin.env, runtime.env."""
        build = {
            "PROVIDER_SOURCE": self.provider,
            "PROVIDER_LANG": self.language,
            "PKG_CONFIG_NAMES": " ".join(self.pkg_config),
            "BUILD_CFLAGS": self.cflags,
            "BUILD_LIBS": self.libs,
            "SONAMES": " ".join(self.sonames),
        }
        plugin_env = "".join(f"{key}={shlex.quote(value)}\n" for key, value in build.items())
        runtime_env = "".join(f"{key}={value}\n" for key, value in self.env.items())
        return {
            self.provider: (self.directory / self.provider).read_bytes(),
            "plugin.env": plugin_env.encode(),
            "runtime.env": runtime_env.encode(),
        }


@dataclass(frozen=True)
class Loaded:
    """One plug-in directory as read: its runtime.yaml, or the problem that makes it unusable."""

    name: str
    directory: Path
    label: str  # how messages name its runtime.yaml
    data: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None


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


def _key(error: jsonschema.ValidationError) -> str:
    return ".".join(str(part) for part in error.absolute_path) or "(top level)"


def read(root: Path, directory: Path) -> Loaded:
    """A plug-in's runtime.yaml checked against the format; never raises for a bad plug-in."""
    label = _label(root, directory)
    fallback = "".join(c if c.isalnum() or c in "._-" else "-" for c in directory.name.lower()) or "plugin"
    try:
        data = yaml.load((directory / PLUGIN_FILE).read_bytes().decode(), Loader=StrictLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return Loaded(fallback, directory, label, problem=f"{label}: cannot be read: {exc}")
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data))
    name = str(data["name"]) if isinstance(data, dict) and isinstance(data.get("name"), str) else fallback
    if error is not None:
        key = _key(error)
        allowed = ALLOWED.get(key.split(".")[0], "")
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
    return Loaded(name, directory, label, data=data)


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
        packages={manager: tuple(names) for manager, names in data["packages"].items()},
        sonames=tuple([data["soname"]] if isinstance(data["soname"], str) else data["soname"]),
        starts=data["starts"],
        pkg_config=tuple(build.get("pkg-config", [])),
        cflags=build.get("cflags", ""),
        libs=build.get("libs", ""),
        env=env,
    )


SKELETON_YAML = """\
# A runtime plug-in for dlmatrix (docs/runtimes.md).  Fill in every TODO, then:
#   dlmatrix run --backend docker --image 'debian-*-glibc' --runtimes {parent} --runtime {name} --out results
name: {name}
family: library
description: "TODO: which library, and what the provider does to start its threads."
# The packages that provide the library and its development files, per package manager.
packages:
  apt: [TODO-dev]
# C (.c) or C++ (.cc, .cpp, .cxx); it must define int dlm_provider_fire(void), returning 0.
provider: provider.c
build:
  pkg-config: [TODO]   # names for `pkg-config --cflags --libs`; or cflags/libs below
  cflags: ""
  libs: ""
soname: TODO.so.1      # the library whose threads are under test (a list if it differs by release)
threads:
  added: 1             # or name: "GLOB" on /proc thread names (15 characters at most)
starts: "TODO: the call that starts the threads"
# wake:                # optional: sleep_ms: N (threads that wake on a timer) or connect: true
#   sleep_ms: 1500     #   (the provider writes host:port lines to $DLM_WORKDIR/wake-address)
scenarios: [app-linked, app-dlopen-dlclose, reopen, two-providers, rtld-global-now, close-in-thread,
            ld-preload, runtime-abs-first]
expectations:          # the first match wins; these come before matrix/expectations.yaml's
  - scenario: "*"
    libc: musl
    outcome: skipped
    reason: Not applicable. Debian builds TODO against glibc; this image's suite is built with musl-gcc.
  - scenario: "*"
    libc: glibc
    outcome: pass
    reason: "TODO: why it survives (or crash:SIGSEGV and why not)."
"""

SKELETON_PROVIDER = """\
/* A provider for dlmatrix: loaded with dlopen() by an application that is not linked
 * against the library; dlm_provider_fire() starts the library's threads. */

int dlm_provider_fire(void)
{
	/* TODO: call the library so that it starts its threads; return 0 when it did. */
	return 1;
}
"""


def write_skeleton(directory: Path) -> list[Path]:
    """`dlmatrix new-runtime NAME`: runtime.yaml and provider.c to fill in, in a new directory."""
    name = directory.name
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name) or len(name) > 48:
        raise DlmatrixError(
            f"{name!r} cannot name a runtime",
            "use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit (48 at most)",
        )
    if directory.exists():
        raise DlmatrixError(
            f"{directory} already exists", "choose another NAME or --into DIR; nothing was written"
        )
    directory.mkdir(parents=True)
    written = [directory / PLUGIN_FILE, directory / "provider.c"]
    written[0].write_text(SKELETON_YAML.format(name=name, parent=directory.parent))
    written[1].write_text(SKELETON_PROVIDER)
    return written
