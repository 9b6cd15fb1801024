"""What changed since the previous run: cells newly broken, newly fixed, whose race moved, new and
removed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dlmatrix.model.cells import Cell, ResultSet
from dlmatrix.model.outcomes import FAILING_VERDICTS
from dlmatrix.model.selector import Selector

Key = tuple[str, str, str]


@dataclass(frozen=True)
class Change:
    key: Key
    before: str  # "result (verdict)", or "" for a new cell
    after: str  # the same, or "" for a removed cell


@dataclass
class Changes:
    previous_run: dict[str, object] | None = None
    broken: list[Change] = field(default_factory=list)
    fixed: list[Change] = field(default_factory=list)
    rate_moved: list[Change] = field(default_factory=list)  # same verdict, another crash rate
    new: list[Change] = field(default_factory=list)
    removed: list[Change] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.broken or self.fixed or self.rate_moved or self.new or self.removed)

    def groups(self) -> list[tuple[str, list[Change]]]:
        return [
            ("newly broken", self.broken),
            ("newly fixed", self.fixed),
            ("rate moved", self.rate_moved),
            ("new", self.new),
            ("removed", self.removed),
        ]


def describe(cell: Cell) -> str:
    crashed, attempts = cell.crash_rate
    rate = f", {crashed}/{attempts} attempts crashed" if 0 < crashed < attempts or cell.racy else ""
    return f"{cell.result} ({cell.verdict}{rate})"


def rate_moved(old: Cell, new: Cell) -> bool:
    """A race whose share of crashing attempts changed (a move of one attempt in five is noise
    the report still shows: the rates are the evidence)."""
    (was, of), (now, out_of) = old.crash_rate, new.crash_rate
    raced = 0 < was < of or 0 < now < out_of
    return raced and was * out_of != now * of


def compare(previous: ResultSet | None, current: ResultSet) -> Changes:
    """Broken: not failing before, failing now. Fixed: failing before, ok now."""
    if previous is None:
        return Changes()
    before = {cell.key: cell for cell in previous.cells}
    after = {cell.key: cell for cell in current.cells}
    changes = Changes(previous_run=previous.run)
    for key, cell in after.items():
        old = before.get(key)
        if old is None:
            changes.new.append(Change(key, "", describe(cell)))
        elif old.verdict not in FAILING_VERDICTS and cell.verdict in FAILING_VERDICTS:
            changes.broken.append(Change(key, describe(old), describe(cell)))
        elif old.verdict in FAILING_VERDICTS and cell.verdict == "ok":
            changes.fixed.append(Change(key, describe(old), describe(cell)))
        elif rate_moved(old, cell):
            changes.rate_moved.append(Change(key, describe(old), describe(cell)))
    changes.removed = [
        Change(key, describe(cell), "")
        for key, cell in before.items()
        if key not in after and selected(cell, previous.run, current.run)
    ]
    return changes


def selected(cell: Cell, before: dict[str, Any], run: dict[str, Any]) -> bool:
    """Whether a run covers a cell of the run before: same backend, and its selection (include and
    exclude globs, a shard's units) takes the cell. A cell a run did not select was not removed by it."""
    if before.get("backend") != run.get("backend"):
        return False
    return Selector.from_metadata(run.get("selection") or {}).covers(cell.image, cell.scenario, cell.runtime)
