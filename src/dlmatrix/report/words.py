"""The report's English: names joined for a sentence and the verb that agrees with them, C library
versions listed or spanned, a reason's first sentence, a cell's result in words. The headlines,
the seed's answer, the grid's family lines and the terminal all say things with these."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from dlmatrix.model.cells import Cell
from dlmatrix.model.expectations import version_key
from dlmatrix.model.outcomes import VERDICTS


def names(items: list[str]) -> str:
    """Names joined for a sentence: "a", "a and b", "a, b and c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def they(items: list[str], one: str, many: str) -> str:
    """The names, then the verb that agrees with them."""
    return f"{names(items)} {one if len(items) == 1 else many}"


def versions(values: Iterable[str]) -> list[str]:
    """Each version once, oldest first: "2.31" before "2.36" before "2.41" (not as strings sort)."""
    return sorted(set(values), key=version_key)


def libc_versions(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """Each C library family once, with its versions in order: ["glibc 2.31, 2.36", "musl 1.2.3"]."""
    by_family: dict[str, set[str]] = defaultdict(set)
    for family, version in pairs:
        by_family[family].add(version)
    return [f"{family} {', '.join(versions(found))}" for family, found in sorted(by_family.items())]


def span(values: Iterable[str]) -> str:
    """The versions as a range: "2.31 to 2.43", or the one version."""
    ordered = versions(values)
    return ordered[0] if len(ordered) == 1 else f"{ordered[0]} to {ordered[-1]}"


def first_sentence(reason: str) -> str:
    """A reason's first sentence, to continue a sentence of ours: no full stop, lower-case start."""
    first = reason.split(". ")[0].rstrip(".")
    return first[:1].lower() + first[1:]


def label(cell: Cell) -> str:
    """The result in words; when attempts differ (a race), with its rate."""
    text = cell.words
    hits = sum(attempt.result == cell.result for attempt in cell.attempts)
    return text if hits == len(cell.attempts) else f"{text} {hits}/{len(cell.attempts)}"


def verdict_counts(counts: Mapping[str, int], total: int) -> str:
    """Cells per verdict, every verdict named: "3 ok, 0 unexpected, ... of 3 cells"."""
    return ", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICTS) + f" of {total} cells"
