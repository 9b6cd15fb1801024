"""Result cells and results.json (schema: schemas/results.schema.json, docs/results.md)."""

from __future__ import annotations

import json
import platform
import subprocess
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from dlmatrix import __version__
from dlmatrix.config import Matrix, Runtime, Scenario
from dlmatrix.errors import DlmatrixError
from dlmatrix.expectations import expect
from dlmatrix.outcomes import FAILING_VERDICTS, Outcome, representative, verdict

SCHEMA_VERSION = 1


@dataclass
class Attempt:
    result: str
    duration_s: float


@dataclass
class Cell:
    image: str
    libc: dict[str, str | None]
    compiler: str | None
    runtime: str
    scenario: str
    outcome: str
    signal: str | None
    exit_code: int | None
    duration_s: float
    expected: str | None
    reason: str
    verdict: str
    evidence: dict[str, Any]
    attempts: list[Attempt]
    stdout: str = ""
    stderr: str = ""
    racy: bool = False  # the expectation allows passing attempts: the attempts give the rate
    family: str = ""  # the runtime's family, how the report groups it (model, LTTng-UST, library)
    loader: dict[str, Any] | None = None  # glibc's account of the dlclose()s (dlmatrix.loader)
    engine: str = ""  # the engine that ran it, as --engine named it; "host" on the host backend
    arch: str = ""  # Debian's name of the architecture dlm-suite was compiled for (declared, if it never ran)
    emulated: bool = False  # it ran under emulation (qemu-user): timeouts scaled, rules for emulation

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.image, self.scenario, self.runtime)

    @property
    def result(self) -> str:
        return str(Outcome(self.outcome, self.signal, self.exit_code))

    @property
    def crash_rate(self) -> tuple[int, int]:
        """Attempts that crashed, of all attempts: a race's rate."""
        return sum(a.result.startswith("crash") for a in self.attempts), len(self.attempts)

    @property
    def words(self) -> str:
        """The outcome for people: "crash SIGSEGV", "exit 3", "pass"."""
        if self.outcome == "crash":
            return f"crash {self.signal}"
        return f"exit {self.exit_code}" if self.outcome == "exit" else self.outcome


@dataclass
class Environment:
    """Where one suite ran: an image or a host C library, as read inside it."""

    image: str
    libc_family: str
    libc_version: str | None
    compiler: str | None
    kernel: str | None = None
    arch: str = ""  # as dlm-suite reports it; declared (images.yaml or the host's) until it runs
    emulated: bool = False  # runs under qemu-user on this machine (dlmatrix.architectures)


@dataclass
class ResultSet:
    run: dict[str, Any]
    cells: list[Cell] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return dict(Counter(cell.verdict for cell in self.cells))

    def failing(self) -> list[Cell]:
        return [cell for cell in self.cells if cell.verdict in FAILING_VERDICTS]


def judged_cell(
    matrix: Matrix,
    env: Environment,
    scenario: str,
    runtime: str,
    results: Sequence[str],
    durations: Sequence[float],
    evidence: dict[str, Any] | None = None,
    stdout: str = "",
    stderr: str = "",
    loader: dict[str, Any] | None = None,
) -> Cell:
    """A cell classified against matrix/expectations.yaml from its attempts' results."""
    expectation = expect(
        matrix.rules, scenario, runtime, env.libc_family, env.libc_version, env.arch, env.emulated
    )
    shown = representative(expectation.outcome, results, expectation.racy, expectation.otherwise)
    outcome = Outcome.parse(results[shown])
    return Cell(
        image=env.image,
        libc={"family": env.libc_family, "version": env.libc_version},
        compiler=env.compiler,
        runtime=runtime,
        scenario=scenario,
        outcome=outcome.kind,
        signal=outcome.signal,
        exit_code=outcome.exit_code,
        duration_s=round(durations[shown], 4),
        expected=expectation.outcome,
        reason=expectation.reason,
        verdict=verdict(expectation.outcome, results, expectation.racy, expectation.otherwise),
        evidence=evidence or {},
        attempts=[Attempt(r, round(d, 4)) for r, d in zip(results, durations, strict=True)],
        stdout=stdout,
        stderr=stderr,
        racy=expectation.racy,
        family=next((r.family for r in matrix.runtimes if r.name == runtime), ""),
        loader=loader,
        arch=env.arch,
        emulated=env.emulated,
    )


def uniform_cells(
    matrix: Matrix,
    env: Environment,
    result: str,
    message: str,
    pairs: Iterable[tuple[Scenario, Runtime]],
    done: Iterable[Cell] = (),
) -> list[Cell]:
    """Cells of pairs (the selected ones) not in done, all with one result (build-error, skipped,
    error) and message."""
    have = {(cell.scenario, cell.runtime) for cell in done}
    return [
        judged_cell(matrix, env, s.name, r.name, [result], [0.0], stderr=message)
        for s, r in pairs
        if (s.name, r.name) not in have
    ]


def git_commit(root: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return None
    return out.stdout.strip() or None


def run_metadata(
    matrix: Matrix,
    started: datetime,
    backend: str,
    repeat: int,
    docker_version: str | None = None,
    selection: dict[str, Any] | None = None,
    engines: list[dict[str, str]] | None = None,
    images: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "docker_version": docker_version,
        "tool": "dlmatrix",
        "tool_version": __version__,
        "git_commit": git_commit(matrix.root),
        "host": platform.node(),
        "kernel": platform.release(),
        "backend": backend,
        "repeat": repeat,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "selection": selection or {"image": "*", "scenario": "*", "runtime": "*"},
        **({"engines": engines} if engines else {}),
        **({"images": images} if images else {}),  # image name -> the tag it ran as
        "runtimes": {
            r.name: {"family": r.family, "description": r.description}
            | ({"starts": r.plugin.starts} if r.plugin else {})
            for r in matrix.runtimes
        },
    }


def to_json(results: ResultSet) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "run": results.run,
        "summary": results.counts(),
        "cells": [asdict(cell) for cell in results.cells],
    }


def schema() -> dict[str, Any]:
    text = resources.files("dlmatrix").joinpath("schemas/results.schema.json").read_text()
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
    cells = [Cell(**{**c, "attempts": [Attempt(**a) for a in c["attempts"]]}) for c in data["cells"]]
    return ResultSet(run=data["run"], cells=cells)
