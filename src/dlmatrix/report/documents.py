"""The JSON documents of --json (docs/results.md, "The --json documents"): what `show`, `explain` and
`run` print for another program. Their keys are stable: one is added, never renamed or removed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dlmatrix.model.cells import Cell
from dlmatrix.model.outcomes import NOT_RAN, VERDICTS
from dlmatrix.report.answer import Answer
from dlmatrix.report.grid import skip_reason
from dlmatrix.report.untested import Untested, nothing_tested
from dlmatrix.results.io import cell_json


def counts(cells: Sequence[Cell]) -> dict[str, int]:
    """Cells per verdict, every verdict named (0 included), and the total."""
    found: dict[str, int] = {verdict: sum(c.verdict == verdict for c in cells) for verdict in VERDICTS}
    return {**found, "total": len(cells)}


def cell_row(cell: Cell) -> dict[str, Any]:
    """A cell as the terminal's table shows it, and why it was skipped (null when it ran)."""
    return {
        "image": cell.image,
        "libc": cell.libc.family,
        "libc_version": cell.libc.version,
        "arch": cell.arch,
        "scenario": cell.scenario,
        "runtime": cell.runtime,
        "result": cell.result,
        "expected": cell.expected,
        "verdict": cell.verdict,
        "attempts": len(cell.attempts),
        "agreeing": sum(a.result == cell.result for a in cell.attempts),
        "skipped_because": skip_reason(cell) if cell.verdict in NOT_RAN else None,
    }


def untested_entry(item: Untested) -> dict[str, Any]:
    return {"axis": item.axis, "name": item.name, "cells": item.cells, "reasons": list(item.reasons)}


def show_document(results: Path, cells: Sequence[Cell]) -> dict[str, Any]:
    return {"results": str(results), "counts": counts(cells), "cells": [cell_row(c) for c in cells]}


def explain_document(results: Path, cells: Sequence[Cell]) -> dict[str, Any]:
    """The cells in full, each as results.json holds it (docs/results.md, "A cell")."""
    return {"results": str(results), "cells": [cell_json(c) for c in cells]}


def run_document(answer: Answer, written: Sequence[Path]) -> dict[str, Any]:
    """A run's summary: the counts, the cells that need a look, what was not tested, the report."""
    return {
        "counts": counts(answer.cells),
        "standing": answer.standing,
        "needs_a_look": [cell_row(c) for c in answer.needs_a_look],
        "not_tested": [untested_entry(u) for u in answer.untested],
        "nothing_tested": nothing_tested(answer.cells),
        "report": {
            "directory": str(written[0].parent) if written else None,
            "files": [str(p) for p in written],
        },
    }
