"""What a run did not test: the selected runtimes and images whose every cell was skipped (not
applicable) or not run (expected to run, but could not here), with the cells' reasons, so that
"0 ok, 16 skipped" never reads as a success."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from dlmatrix.model.cells import Cell
from dlmatrix.model.outcomes import NOT_RAN
from dlmatrix.report.grid import skip_reason
from dlmatrix.report.words import names

Axis = Literal["runtime", "image"]
REASON_CHARS = 160  # a reason is a line of the terminal, not a log
REASONS_SHOWN = 3


@dataclass(frozen=True)
class Untested:
    axis: Axis
    name: str
    cells: int
    reasons: tuple[str, ...]  # the cells' reasons, each once and shortened, the commonest first
    state: str = "skipped"  # skipped (as declared), not run, or skipped or not run

    def why(self) -> str:
        return reasons_text(self.reasons)


def shorten(reason: str) -> str:
    line = reason.strip().splitlines()[0] if reason.strip() else "no reason given"
    return line if len(line) <= REASON_CHARS else line[: REASON_CHARS - 1].rstrip() + "…"


def reasons_text(reasons: Sequence[str]) -> str:
    shown = "; ".join(reasons[:REASONS_SHOWN])
    more = len(reasons) - REASONS_SHOWN
    return f"{shown}; and {more} other reason{'s' if more > 1 else ''}" if more > 0 else shown


def _reasons(cells: Sequence[Cell]) -> tuple[str, ...]:
    counted: dict[str, int] = {}
    for cell in cells:
        reason = shorten(skip_reason(cell))
        counted[reason] = counted.get(reason, 0) + 1
    return tuple(sorted(counted, key=lambda r: -counted[r]))  # stable: ties keep their first order


def untested(cells: Sequence[Cell]) -> list[Untested]:
    """The runtimes and the images whose every cell was skipped, in the results' order, each named
    once: along the axis with fewer of them first, then those of the other axis that hold a cell the
    first did not name (the one runtime selected on two hosts is that runtime, not the hosts too)."""
    runtimes = _all_skipped(cells, "runtime", lambda c: c.runtime)
    images = _all_skipped(cells, "image", lambda c: c.image)
    first, then = (runtimes, images) if len(runtimes) <= len(images) else (images, runtimes)
    named = {(u.axis, u.name) for u in first}
    covered = [c for c in cells if ("runtime", c.runtime) in named or ("image", c.image) in named]
    seen = {(c.image, c.runtime) for c in covered}
    return first + [u for u in then if any((c.image, c.runtime) not in seen for c in _of(cells, u))]


def _of(cells: Sequence[Cell], item: Untested) -> list[Cell]:
    return [c for c in cells if (c.runtime if item.axis == "runtime" else c.image) == item.name]


def _all_skipped(cells: Sequence[Cell], axis: Axis, key: Callable[[Cell], str]) -> list[Untested]:
    groups: dict[str, list[Cell]] = {}
    for cell in cells:  # one pass: a report at scale holds ten thousand cells
        groups.setdefault(key(cell), []).append(cell)
    return [
        Untested(axis, name, len(group), _reasons(group), _state(group))
        for name, group in groups.items()
        if all(c.verdict in NOT_RAN for c in group)
    ]


def _state(cells: Sequence[Cell]) -> str:
    verdicts = {c.verdict for c in cells}
    return "skipped or not run" if len(verdicts) > 1 else "skipped" if verdicts == {"skipped"} else "not run"


def nothing_tested(cells: Sequence[Cell]) -> bool:
    """Cells were selected and not one of them ran."""
    return bool(cells) and all(c.verdict in NOT_RAN for c in cells)


def _grouped(found: Sequence[Untested]) -> list[tuple[str, int, str]]:
    """Those of one axis that share their reasons together: ("runtimes a and b", 32, why)."""
    groups: dict[tuple[Axis, str, str], list[Untested]] = {}
    for item in found:
        groups.setdefault((item.axis, item.state, item.why()), []).append(item)
    return [
        (
            f"{axis}{'s' if len(group) > 1 else ''} {names([u.name for u in group])}",
            sum(u.cells for u in group),
            f"{state} ({why})",
        )
        for (axis, state, why), group in groups.items()
    ]


def untested_lines(found: Sequence[Untested]) -> list[str]:
    """One line per reason shared: "not tested: runtimes a and b: all 32 cells skipped (why)"."""
    return [f"not tested: {who}: {_every(count)} {said}" for who, count, said in _grouped(found)]


def nothing_tested_cause(found: Sequence[Untested], total: int) -> str:
    """The cause for a run that tested nothing, naming what untested() named."""
    groups = _grouped(found)
    are = "are" if total != 1 else "is"
    if len(groups) == 1:
        who, _, said = groups[0]
        return f"nothing was tested: {_every(total)} of {who} {are} {said}"
    each = "; ".join(f"{who}: {said}" for who, _, said in groups)
    return f"nothing was tested: {_every(total)} {are} skipped or not run: {each}"


def _every(count: int) -> str:
    return f"all {count} cells" if count != 1 else "the 1 cell"
