"""The formats of matrix/ and of runtime plug-ins (runtime.yaml) as JSON schemas, and how a
schema error is told: the key path and what is allowed there."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jsonschema

from dlmatrix.config.steps import STEP_HELP, STEP_MAX_LENGTH, STEP_PATTERN
from dlmatrix.model.catalog import BUILD_SYSTEMS, MAX_ATTEMPTS
from dlmatrix.model.expectations import VERSION_RANGE_PATTERN
from dlmatrix.model.kinds import RUNTIME_KINDS
from dlmatrix.model.outcomes import OUTCOME_HELP, OUTCOME_PATTERN

# Lengths that dlm-suite and the drivers hold in fixed buffers (names in paths and group names,
# steps and environment values after @RT@ expansion): refused here rather than cut there.
NAME = {"type": "string", "pattern": r"^[a-z0-9][a-z0-9._-]*$", "maxLength": 48}
TEXT = {"type": "string", "minLength": 1}
STEP = {"type": "string", "pattern": STEP_PATTERN, "maxLength": STEP_MAX_LENGTH}
FLAGS = {"type": "string", "pattern": r"^[^\t\n]*$"}
ENV = {
    "type": "object",
    "additionalProperties": {"type": "string", "pattern": r"^[^\s]*$", "maxLength": 1024},
    "propertyNames": {"pattern": r"^[A-Z_][A-Z0-9_]*$"},
}

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


# runtime plug-ins: runtime.yaml (docs/runtimes.md)
MANAGERS = ("apt", "apk", "dnf")

SONAME = r"^[A-Za-z0-9_+-][A-Za-z0-9._+-]*\.so(\.[0-9]+)*$"
WORDS = {"type": "string", "pattern": r"^[^\t\n'\"\\`$]*$"}  # flags, quoted for build.sh

# What an expectation rule may add to its match: an image glob, the evidence an ok cell shows, and a
# racy outcome's rate among the attempts (fractions, bounds included).
RULE_CONDITIONS: dict[str, Any] = {
    "image": {"type": "string", "minLength": 1},
    "evidence": {
        "type": "object",
        "minProperties": 1,
        "propertyNames": {"pattern": r"^[^\s=]+$"},
        "additionalProperties": {"type": ["boolean", "integer", "string"], "pattern": r"^[^\s]+$"},
    },
    "rate": {
        "type": "array",
        "items": {"type": "number", "minimum": 0, "maximum": 1},
        "minItems": 2,
        "maxItems": 2,
    },
}

PACKAGE_NAME = {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9.+:_-]*$"}
PACKAGES = {
    "type": "object",
    "minProperties": 1,
    "propertyNames": {"enum": list(MANAGERS)},
    "additionalProperties": {"type": "array", "items": PACKAGE_NAME},
}
RELATIVE = {"type": "string", "pattern": r"^[^\s'\"\\`$]+$"}  # a path beside runtime.yaml, for sh too
REPOSITORY = {"type": "string", "pattern": r"^(https|git|ssh|file)://[^\s]+$"}
COMMIT = {"type": "string", "pattern": r"^[0-9a-f]{40}([0-9a-f]{24})?$"}
# a patch that says where it comes from: beside runtime.yaml or in the sources directories
PATCH = _object({"file": FILE_NAME, "sha256": SHA256, "origin": TEXT}, ["file", "sha256", "origin"])
# source and build.system of a plug-in built from source (checked on their own, before anything is built)
SOURCE_SCHEMA = {
    "type": "object",
    "properties": {
        "path": RELATIVE,
        "git": _object({"repository": RELATIVE, "commit": COMMIT}, ["repository", "commit"]),
        "archive": {
            **_object(
                {"file": RELATIVE, "sha256": SHA256, "repository": REPOSITORY, "commit": COMMIT},
                ["file", "sha256"],
            ),
            # where it comes from: both or neither (`dlmatrix sources` fetches `git archive` of the commit)
            "dependentRequired": {"repository": ["commit"], "commit": ["repository"]},
        },
        "patches": {"type": "array", "items": {"anyOf": [RELATIVE, PATCH]}},
        "fixups": {"type": "array", "items": {"anyOf": [RELATIVE, PATCH]}},
    },
    "additionalProperties": False,
}
SOURCE_BUILD = {  # how a source is built, for a plug-in, an entry of runtimes.yaml or a dependency
    "system": {"enum": list(BUILD_SYSTEMS)},
    "script": FILE_NAME,
    "configure": {"type": "array", "items": {"type": "string", "pattern": r"^[^\n]+$"}},
    "requires": PACKAGES,
    "managers": {"type": "array", "items": {"enum": list(MANAGERS)}, "minItems": 1, "uniqueItems": True},
    "depends": {"type": "array", "items": NAME},  # matrix/runtimes.yaml's dependencies
    "subdirs": {"type": "array", "items": RELATIVE, "minItems": 1},  # what make builds, in order
    "derived-from": NAME,  # an entry of matrix/runtimes.yaml whose built tree this one patches
    "configure-cache-from": NAME,  # an autotools entry whose configure results this one's starts from
}
PKG_CONFIG_NAME = {"type": "string", "pattern": r"^[A-Za-z0-9._+-]+$"}
# one package under names that differ by release or architecture (oneTBB's tbb32): the first found
PKG_CONFIG_ALTERNATIVES = {"type": "array", "items": PKG_CONFIG_NAME, "minItems": 1, "uniqueItems": True}
BUILD_SCHEMA = _object(
    {
        **SOURCE_BUILD,
        "pkg-config": {"type": "array", "items": {"anyOf": [PKG_CONFIG_NAME, PKG_CONFIG_ALTERNATIVES]}},
        "cflags": WORDS,
        "libs": WORDS,
    },
    [],
)
# runtimes an environment leaves out (globs), and why: its cells are skipped with the reason
GLOBS = {"type": "array", "items": TEXT}
LEFT_OUT = _object({"skip_runtimes": GLOBS, "reason": TEXT}, ["skip_runtimes", "reason"])
# under emulation, also: the runtimes a cross toolchain builds where the architecture has one, and
# timeouts in the environment (ENV's names; a native value, in its own unit) scaled as scenarios' are
SCALED = {**ENV, "additionalProperties": {"type": "integer", "minimum": 1}}
EMULATED_ONLY = {"cross_runtimes": GLOBS, "scaled_env": SCALED}
EMULATED = {**LEFT_OUT, "properties": {**LEFT_OUT["properties"], **EMULATED_ONLY}}
# a cross toolchain (Debian's) on the build machine: a GNU triplet; per C library, PKG:ARCH and a specs file
TRIPLET = {"type": "string", "pattern": r"^[a-z0-9_]+(-[a-z0-9_]+){2,3}$", "maxLength": 48}
DEBS = {"type": "array", "items": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9.+-]*(:[a-z0-9]+)?$"}}
SPECS = {"type": "string", "pattern": r"^/usr/lib/[a-z0-9_]+(-[a-z0-9_]+){2,3}/[A-Za-z0-9._-]+\.specs$"}
GCC_FLAGS = {"type": "array", "items": {"type": "string", "pattern": r"^-[A-Za-z0-9][A-Za-z0-9=,._+-]*$"}}
CROSS_LIBC = _object({"packages": {**DEBS, "minItems": 1}, "specs": SPECS, "flags": GCC_FLAGS}, ["packages"])
CROSS_LIBC["dependentRequired"] = {"flags": ["specs"]}  # the wrapper that a specs file makes gives them
CROSS_LIBCS = {**_object(dict.fromkeys(LIBC_FAMILIES, CROSS_LIBC), []), "minProperties": 1}
CROSS = _object({"triplet": TRIPLET, "libc": CROSS_LIBCS}, ["triplet", "libc"])

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
                        "attempts": {"type": "integer", "minimum": 1, "maximum": MAX_ATTEMPTS},
                        "source": SOURCE_SCHEMA,
                        "build": _object(SOURCE_BUILD, []),
                    },
                    ["name", "description", "kind"],
                ),
            },
            "dependencies": {
                "type": "array",
                "items": _object(
                    {
                        "name": NAME,
                        "description": TEXT,
                        "libc": {"type": "array", "items": {"enum": list(LIBC_FAMILIES)}, "minItems": 1},
                        "source": SOURCE_SCHEMA,
                        "build": _object(SOURCE_BUILD, ["system"]),
                    },
                    ["name", "description", "source", "build"],
                ),
            },
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
                            "items": STEP,
                        },
                        "kinds": {"type": "array", "minItems": 1, "items": {"enum": list(RUNTIME_KINDS)}},
                        "requires": {"type": "array", "minItems": 1, "items": FILE_NAME, "uniqueItems": True},
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
                **RULE_CONDITIONS,
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
                        "cross": CROSS,
                    },
                    ["name", "platform", "namespace", "machines", "qemu", "timeout_factor"],
                ),
            },
            "emulated": EMULATED,
        },
        ["architectures", "emulated"],
    ),
    "hosts.yaml": _object(
        {
            "hosts": {
                "type": "array",
                "minItems": 1,
                "items": _object(
                    {"name": NAME, "libc": {"enum": list(LIBC_FAMILIES)}, "cc": TEXT, "install": TEXT},
                    ["name", "libc", "cc", "install"],
                ),
            },
            "every_host": LEFT_OUT,
        },
        ["hosts"],
    ),
}

ALLOWED_BY_PATTERN = {
    OUTCOME_PATTERN: OUTCOME_HELP,
    STEP_PATTERN: STEP_HELP,
    VERSION_RANGE_PATTERN: '"*" or comparisons such as ">=2.31,<2.40"',
}


def key_path(error: jsonschema.ValidationError) -> str:
    """Where the error is, as messages name it: expectations[3].outcome."""
    key = ""
    for part in error.absolute_path:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "(top level)"


def allowed(error: jsonschema.ValidationError) -> str:
    """What the schema allows where the error is, in words."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    if "enum" in schema:
        return ", ".join(map(str, schema["enum"]))
    if "pattern" in schema:
        return ALLOWED_BY_PATTERN.get(schema["pattern"], f"text matching {schema['pattern']}")
    if "properties" in schema:
        return "keys " + ", ".join(schema["properties"])
    return ""


SOURCE_ALLOWED = {
    "source": "exactly one of path: DIR, git: {repository, commit} or archive: {file, sha256, and "
    "where it comes from: repository, commit}; patches and fixups: [FILE or {file, sha256, origin}, ...]",
    "build.system": ", ".join(BUILD_SYSTEMS),
}

PLUGIN_SCHEMA = _object(
    {
        "name": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9._-]*$", "maxLength": 48},
        "family": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$", "maxLength": 32},
        "description": {"type": "string", "minLength": 1},
        "packages": PACKAGES,
        "source": SOURCE_SCHEMA,
        "provider": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]*\.(c|cc|cpp|cxx)$"},
        "build": BUILD_SCHEMA,
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
        "attempts": {"type": "integer", "minimum": 1, "maximum": MAX_ATTEMPTS},
        "expectations": {
            "type": "array",
            "items": _object(
                {
                    "scenario": {"type": "string", "minLength": 1},
                    "libc": {"enum": ["*", *LIBC_FAMILIES]},
                    "versions": {"type": "string", "pattern": VERSION_RANGE_PATTERN},
                    "outcome": {"type": "string", "pattern": OUTCOME_PATTERN},
                    "reason": {"type": "string", "pattern": r"^[^\t\n]+$"},
                    "racy": {"type": "boolean"},
                    "otherwise": {"type": "string", "pattern": OUTCOME_PATTERN},
                    "arch": {"type": "string", "minLength": 1},
                    "emulated": {"type": "boolean"},
                    **RULE_CONDITIONS,
                },
                ["libc", "outcome", "reason"],
            ),
        },
    },
    ["name", "description", "provider", "soname", "threads", "starts"],  # packages, unless source
)
PLUGIN_ALLOWED = {  # what a plug-in's top-level keys allow, in words
    "packages": "apt, apk or dnf, each with a list of package names",
    "build": "pkg-config (a list: each a name, or a list of one package's names tried in order), cflags, "
    "libs; for a source: system, configure, script, requires, depends, subdirs, derived-from, "
    "configure-cache-from",
    "threads": "name: GLOB (on /proc thread names, 15 characters at most) or added: N",
    "soname": "the runtime library's DT_SONAME, e.g. libgomp.so.1, or a list when it differs by release",
    "provider": "a file beside runtime.yaml ending in .c, .cc, .cpp or .cxx",
}


def first_error(data: Any, schema: dict[str, Any]) -> jsonschema.ValidationError | None:
    """The error that best explains why data does not fit schema, or None when it fits."""
    error: jsonschema.ValidationError | None = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(data)
    )
    return error
