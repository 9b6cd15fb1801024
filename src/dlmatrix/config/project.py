"""A project's own settings: dlmatrix.toml, or [tool.dlmatrix] in a pyproject.toml, in the current
directory or the nearest above it (a pyproject.toml without [tool.dlmatrix] is passed over).

    runtimes = ["plugins"]                  # plug-in directories, as --runtimes, relative to the file
    [select]                                # default globs of list, run and plan
    image = ["debian-*-glibc"]              # an include given on the command line replaces the file's
    skip-runtime = ["lttng-ust-2.1[12]*"]   # an exclude given on the command line adds to the file's
    [catalog]                               # more of the catalog, in the formats of matrix/
    expectations = ["expectations.yaml"]    # rules that come before the catalog's (the first match wins)
    scenarios = ["scenarios.yaml"]          # defaults: optional, the catalog's otherwise
    images = ["images.yaml"]                # with the catalog's templates and architectures

DLMATRIX_PROJECT names the file to use instead, or `none` for no project file at all.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlmatrix.config.schemas import allowed, first_error, key_path
from dlmatrix.errors import ConfigError, DlmatrixError
from dlmatrix.model.catalog import PROJECT_FILE

TABLE = "tool.dlmatrix"  # in pyproject.toml
AXES = ("image", "scenario", "runtime", "arch")
SELECT_KEYS = (*AXES, *(f"skip-{axis}" for axis in AXES))
CATALOG_KEYS = ("expectations", "scenarios", "images")  # each a list of files in matrix/'s format
_STRINGS = {"type": "array", "items": {"type": "string", "minLength": 1}}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "runtimes": _STRINGS,
        "select": {
            "type": "object",
            "additionalProperties": False,
            "properties": {key: _STRINGS for key in SELECT_KEYS},
        },
        "catalog": {
            "type": "object",
            "additionalProperties": False,
            "properties": {key: _STRINGS for key in CATALOG_KEYS},
        },
    },
}


@dataclass(frozen=True)
class Project:
    path: Path  # the file
    label: str  # how messages name it: "dlmatrix.toml" or "pyproject.toml [tool.dlmatrix]"
    runtimes: tuple[Path, ...] = ()  # plug-in directories (or directories of them)
    select: dict[str, tuple[str, ...]] = field(default_factory=dict)  # "image", "skip-image", ...
    catalog: dict[str, tuple[Path, ...]] = field(default_factory=dict)  # "expectations" -> files

    def files(self, key: str) -> list[tuple[Path, str]]:
        """The catalog files of one kind, each with how messages name it."""
        return [
            (path, f"{_shown(path)} (catalog.{key} of {self.label})") for path in self.catalog.get(key, ())
        ]


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _table(path: Path) -> dict[str, Any] | None:
    """The settings in path (None: a pyproject.toml without [tool.dlmatrix])."""
    label = _shown(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DlmatrixError(
            f"{label}: cannot be read: {exc}", "fix the file, or set DLMATRIX_PROJECT=none"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(label, "(syntax)", f"not valid TOML: {exc}") from None
    if path.name != "pyproject.toml":
        return data
    table = data.get("tool", {}).get("dlmatrix")
    if table is not None and not isinstance(table, dict):
        raise ConfigError(label, TABLE, "is not a table", "[tool.dlmatrix] with runtimes, select, catalog")
    return table


def read_project(path: Path) -> Project | None:
    """The project file at path, checked; None for a pyproject.toml without [tool.dlmatrix]."""
    path = path.resolve()
    data = _table(path)
    if data is None:
        return None
    label = _shown(path) + (f" [{TABLE}]" if path.name == "pyproject.toml" else "")
    error = first_error(data, SCHEMA)
    if error is not None:
        raise ConfigError(label, key_path(error), error.message, allowed(error))
    here = path.parent

    def existing(key: str, values: list[str], kind: str) -> tuple[Path, ...]:
        paths = tuple((here / value).resolve() for value in values)
        for index, (value, found) in enumerate(zip(values, paths, strict=True)):
            if not (found.is_dir() if kind == "directory" else found.is_file()):
                raise DlmatrixError(
                    f"{label}: {key}[{index}]: {value!r} is no {kind} (relative to {_shown(here)})",
                    f"create it, or remove it from {label}",
                )
        return paths

    catalog = data.get("catalog", {})
    return Project(
        path=path,
        label=label,
        runtimes=existing("runtimes", data.get("runtimes", []), "directory"),
        select={key: tuple(values) for key, values in data.get("select", {}).items()},
        catalog={
            key: existing(f"catalog.{key}", catalog[key], "file") for key in CATALOG_KEYS if key in catalog
        },
    )


def find_project(start: Path | None = None) -> Project | None:
    """The project file that applies here (see the module's doc), or None."""
    named = os.environ.get("DLMATRIX_PROJECT")
    if named == "none":
        return None
    if named:
        if not Path(named).is_file():
            raise DlmatrixError(
                f"DLMATRIX_PROJECT={named}: no such file",
                f"name a {PROJECT_FILE} or a pyproject.toml with [{TABLE}], or set DLMATRIX_PROJECT=none",
            )
        return read_project(Path(named))
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        for name in (PROJECT_FILE, "pyproject.toml"):
            if (directory / name).is_file():
                project = read_project(directory / name)
                if project is not None:
                    return project
    return None
