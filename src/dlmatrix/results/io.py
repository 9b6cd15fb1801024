"""results.json: written checked against its schema (schemas/results.schema.json, docs/results.md),
read back into cells."""

from __future__ import annotations

import json
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from dlmatrix.errors import DlmatrixError
from dlmatrix.model.cells import Attempt, Cell, ResultSet
from dlmatrix.model.libc import Libc

SCHEMA_VERSION = 1


def to_json(results: ResultSet) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "run": results.run,
        "summary": results.counts(),
        "cells": [cell_json(cell) for cell in results.cells],
    }


def cell_json(cell: Cell) -> dict[str, Any]:
    """A cell as results.json holds it: an attempt's lane only where it had one (a serial group's)."""
    data = asdict(cell)
    for attempt in data["attempts"]:
        if attempt["lane"] is None:
            del attempt["lane"]
    return data


def schema() -> dict[str, Any]:
    text = resources.files("dlmatrix.results").joinpath("schemas/results.schema.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def results_json(results: ResultSet) -> str:
    """results.json's text, checked against its schema (a result that does not fit is a bug)."""
    data = to_json(results)
    jsonschema.validate(data, schema())
    return json.dumps(data, indent=1, sort_keys=False) + "\n"


def write_results(results: ResultSet, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(results_json(results))


def read_results(path: Path) -> ResultSet:
    try:
        data = json.loads(path.read_bytes().decode())
    except FileNotFoundError:
        raise DlmatrixError(f"{path} does not exist", "run `dlmatrix run --out DIR` first") from None
    except IsADirectoryError:
        raise DlmatrixError(f"{path} is a directory, not a results file", "name a results.json") from None
    except OSError as exc:
        raise DlmatrixError(f"cannot read {path}: {exc.strerror}", "check its permissions") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DlmatrixError(
            f"{path} is not a results file (not UTF-8 JSON: {exc})",
            "restore it (e.g. `git checkout` for reports/), or remove it; `dlmatrix run` then starts afresh",
        ) from None
    try:
        jsonschema.validate(data, schema())
    except jsonschema.ValidationError as exc:
        raise DlmatrixError(
            f"{path} does not follow results schema {SCHEMA_VERSION}: {exc.message}",
            "regenerate it with this version of dlmatrix",
        ) from None
    cells = [
        Cell(**{**c, "libc": Libc.of(c["libc"]), "attempts": [Attempt(**a) for a in c["attempts"]]})
        for c in data["cells"]
    ]
    return ResultSet(run=data["run"], cells=cells)
