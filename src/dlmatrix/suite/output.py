"""Reading what dlm-suite printed (JSON lines) into judged cells, losing none."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from dlmatrix.model.catalog import Matrix
from dlmatrix.model.cells import Cell, Environment, judged_cell, uniform_cells
from dlmatrix.model.libc import Libc
from dlmatrix.model.selector import Selector
from dlmatrix.suite.loader import reduce_to_dict


@dataclass
class SuiteOutput:
    environment: Environment | None = None
    cells: list[Cell] = field(default_factory=list)
    unparsed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # for the reader to tell: parsing prints nothing
    lanes: dict[str, Any] | None = None  # dlm-suite's lanes line: serial groups in lanes, or why not


def parse_lines(matrix: Matrix, image: str, lines: Iterable[str], emulated: bool = False) -> SuiteOutput:
    output = SuiteOutput()
    for line in lines:
        try:
            record: dict[str, Any] = json.loads(line)
        except json.JSONDecodeError:
            if line.strip():
                output.unparsed.append(line)
            continue
        if record.get("type") == "env":
            libc = record["libc"]
            output.environment = Environment(
                image,
                Libc(libc["family"], libc["version"]),
                record.get("compiler"),
                record.get("kernel"),
                record.get("arch", ""),
                emulated,
            )
        elif record.get("type") == "lanes":
            output.lanes = record
        elif record.get("type") == "cell" and output.environment is not None:
            output.cells.append(_cell(matrix, output.environment, record, output.warnings))
    return output


def _cell(matrix: Matrix, env: Environment, record: dict[str, Any], warnings: list[str]) -> Cell:
    attempts = record["attempts"]
    cell = judged_cell(
        matrix,
        env,
        record["scenario"],
        record["runtime"],
        [a["result"] for a in attempts],
        [a["duration_s"] for a in attempts],
        evidence=record["evidence"],
        stdout=record["stdout"],
        stderr=record["stderr"],
        loader=reduce_to_dict(record.get("loader")),
        lanes=[a.get("lane") for a in attempts],
    )
    if record["expected"] != cell.expected:
        warnings.append(
            f"{env.image} {cell.scenario}/{cell.runtime}: dlm-suite expected "
            f"{record['expected']}, dlmatrix expected {cell.expected}; using dlmatrix's"
        )
    return cell


def suite_cells(
    matrix: Matrix,
    fallback: Environment,
    lines: Iterable[str],
    problem: str,
    selector: Selector,
    warn: Callable[[str], None],
    lanes: bool = False,
) -> tuple[list[Cell], int]:
    """The judged cells of one suite run, plus an error cell for each selected cell it did not
    report (a crash of the runner, a harness timeout), so that no cell silently vanishes.
    Returns the cells and how many of them are such error cells; warn is told what the
    suite's output gave to warn about, and, with lanes (an image, where dlm-suite should give
    each attempt of a serial group a uid of its own), that a serial group took turns, and why."""
    output = parse_lines(matrix, fallback.image, lines, fallback.emulated)
    for warning in output.warnings + (took_turns(fallback.image, output) if lanes else []):
        warn(warning)
    missing = uniform_cells(
        matrix,
        output.environment or fallback,
        "error",
        f"dlm-suite stopped before this cell: {problem}",
        selector.pairs(matrix, fallback.image),
        done=output.cells,
    )
    return output.cells + missing, len(missing)


def took_turns(image: str, output: SuiteOutput) -> list[str]:
    """The warning for a suite whose serial groups' attempts took turns, as dlm-suite said why."""
    serial = sorted({c.runtime for c in output.cells if any(a.lane == "serial" for a in c.attempts)})
    if not serial or output.lanes is None or output.lanes.get("used"):
        return []
    return [
        f"{image}: the attempts of {', '.join(serial)} took turns, one at a time (dlm-suite: "
        f"{output.lanes.get('why', 'no reason given')}); their races' rates differ from a run in lanes"
    ]


def tail(text: str, limit: int = 4000) -> str:
    """The end of a log, where the cause of a failure usually is."""
    return text if len(text) <= limit else "..." + text[-limit:]
