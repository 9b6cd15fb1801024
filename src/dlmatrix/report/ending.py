"""The end of a run on the terminal: one screen, whatever the matrix's size.

The seed's answer, a line per runtime family, each expectation's reason ("Why") once for every
runtime and C library that share it, the cells that need a look (grouped, then collapsed), what
was not tested, the counts and where the report is. A reason is told once per mechanism, not once
per runtime and C library as the headlines tell it: the published matrix's headlines repeat them
into some 40 KB, which nobody reads at the end of a run. The headlines stay in summary.md and on
the page, and `run --headlines` prints them too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dlmatrix.model.cells import Cell
from dlmatrix.model.outcomes import VERDICTS
from dlmatrix.report.answer import Answer
from dlmatrix.report.headlines import Headline
from dlmatrix.report.untested import untested_lines
from dlmatrix.report.words import label, names, span, verdict_counts, versions

ROWS = 40  # one screen
LOOK_SHOWN = 10  # groups of cells that need a look, before the rest is only counted
UNTESTED_SHOWN = 3
NAMES_CHARS = 80  # the runtimes sharing a reason, before the rest is only counted
MIN_REASON_CHARS = 60
WRAP_SLACK = 20  # a terminal wraps at words, so a row holds a little less than its width


@dataclass(frozen=True)
class Mechanism:
    """One reason and everything it was given for."""

    reason: str
    runtimes: list[str] = field(default_factory=list)  # in the headlines' order
    libcs: dict[str, set[str]] = field(default_factory=dict)  # C library family -> versions


@dataclass(frozen=True)
class Ending:
    told: list[str]  # information, left out with --quiet: the answer, the families, the reasons
    kept: list[str]  # what --quiet keeps: the cells that need a look, not tested, counts, report


def mechanisms(headlines: Sequence[Headline]) -> list[Mechanism]:
    """Each distinct reason once, in the order the headlines first give it."""
    found: dict[str, Mechanism] = {}
    for headline in headlines:
        for finding in headline.findings:
            if not finding.why:
                continue
            mechanism = found.setdefault(finding.why, Mechanism(finding.why))
            if headline.runtime not in mechanism.runtimes:
                mechanism.runtimes.append(headline.runtime)
            mechanism.libcs.setdefault(finding.family, set()).update(finding.versions)
    return list(found.values())


def rows(line: str, width: int) -> int:
    """The rows a line takes on a terminal this wide (at least one)."""
    return max(1, math.ceil(len(line) / max(width - WRAP_SLACK, 20)))


def ending(answer: Answer, written: Sequence[Path], width: int) -> Ending:
    """The ending's lines, at most ROWS rows at this width: the reasons get the rows the rest leaves."""
    directory = str(written[0].parent) if written else "DIR"
    told = [f"The seed's answer: {answer.seed.sentence}"] if answer.seed.sentence else []
    told += [f"{family or 'other'}: {line}" for family, line in answer.family_lines]
    rest = [*_untested(answer), verdict_counts(answer.counts, len(answer.cells))]
    rest += [report_text(written)] if written else []
    for shown in range(LOOK_SHOWN, -1, -1):  # fewer groups named where the screen is full
        kept = _look(answer.needs_a_look, directory, shown) + rest
        left = ROWS - sum(rows(line, width) for line in told + kept)
        if left >= 1:  # a row for the reasons, at least their count
            break
    return Ending(told + _reasons(answer, left, width), kept)


def report_text(written: Sequence[Path]) -> str:
    page = written[0].parent / "index.html"
    others = ", ".join(p.name for p in written if p != page)
    return f"report: {page} (with {others})"


def _reasons(answer: Answer, budget: int, width: int) -> list[str]:
    """A heading and a line per reason, as many as the budget of rows allows, then how many more."""
    found = mechanisms(answer.headlines)
    everywhere = _libc_versions(answer.cells)
    lines = []
    for mechanism in found:
        who = f"  {_who(mechanism, answer.headlines, everywhere)}: "
        lines.append(who + _cut(mechanism.reason, width - WRAP_SLACK - len(who)))
    if not lines:
        return []
    where = "every runtime's in summary.md, or with --headlines"
    if budget < 2:  # no room for one of them: that they exist, and where
        return [f"Why: {len(lines)} reasons, {where}"]
    if 1 + sum(rows(line, width) for line in lines) <= budget:
        return ["Why, once per mechanism:", *lines]
    shown, used = 0, 2  # the heading and the line that counts the rest
    while used + rows(lines[shown], width) <= budget:
        used += rows(lines[shown], width)
        shown += 1
    return ["Why, once per mechanism:", *lines[:shown], f"  and {len(lines) - shown} more reasons, {where}"]


def _who(mechanism: Mechanism, headlines: Sequence[Headline], everywhere: dict[str, list[str]]) -> str:
    """The runtimes and C libraries that share a reason: "every model runtime on musl 1.2.2 to 1.2.6"."""
    libcs = [
        f"{family} {_versions(found, everywhere.get(family, []))}"
        for family, found in sorted(mechanism.libcs.items())
    ]
    return f"{_runtimes(mechanism.runtimes, headlines)} on {' and '.join(libcs)}"


def _versions(found: set[str], everywhere: list[str]) -> str:
    """Every version the run had of a C library as a span, some of them listed."""
    ordered = versions(found)
    return span(ordered) if len(ordered) > 2 and ordered == everywhere else ", ".join(ordered)


def _runtimes(runtimes: list[str], headlines: Sequence[Headline]) -> str:
    families = {h.family for h in headlines if h.runtime in runtimes}
    if len(runtimes) > 1 and len(families) == 1:
        family = families.pop()
        if sorted(runtimes) == sorted(h.runtime for h in headlines if h.family == family):
            return f"every {family or 'other'} runtime"
    shown = [runtimes[0]]
    for runtime in runtimes[1:]:
        if len(", ".join([*shown, runtime])) > NAMES_CHARS:
            break
        shown.append(runtime)
    more = len(runtimes) - len(shown)
    if more <= 1:  # "and 1 more" takes the room of the name it hides
        return names(runtimes)
    return f"{', '.join(shown)} and {more} more"


def _libc_versions(cells: Sequence[Cell]) -> dict[str, list[str]]:
    found: dict[str, set[str]] = {}
    for cell in cells:
        if cell.verdict not in ("skipped", "not-run"):
            found.setdefault(cell.libc.family, set()).add(cell.libc.version or "?")
    return {family: versions(values) for family, values in found.items()}


def _cut(reason: str, chars: int) -> str:
    """A reason within a row: whole if it fits, else its first sentence, else cut short."""
    chars = max(chars, MIN_REASON_CHARS)
    text = " ".join(reason.split())
    if len(text) <= chars:
        return text
    first = text.split(". ")[0].rstrip(".") + "."
    return first if len(first) <= chars else text[: chars - 1].rstrip() + "…"


def _look(cells: Sequence[Cell], directory: str, shown: int = LOOK_SHOWN) -> list[str]:
    """The cells that need a look, those alike in one line; past `shown` lines, where the rest are."""
    if not cells:
        return []
    groups = _alike(cells)
    lines = [f"{len(cells)} cells need a look:"]
    lines += [f"  {text}" for text, _ in groups[:shown]]
    hidden = [cell for _, group in groups[shown:] for cell in group]
    if hidden:
        listed = ",".join(v for v in VERDICTS if any(c.verdict == v for c in hidden))
        lines.append(
            f"  and {len(hidden)} more cells: `dlmatrix show {directory} --verdict {listed}` lists them, "
            f"as does {directory}/index.html"
        )
    return lines


def _alike(cells: Sequence[Cell]) -> list[tuple[str, list[Cell]]]:
    """Cells of one runtime that ended alike, in the same scenarios, named together with their images."""
    by_image: dict[tuple[str, str, str, str, str], list[Cell]] = {}
    for cell in cells:
        key = (cell.runtime, label(cell), cell.expected or "-", cell.verdict, cell.image)
        by_image.setdefault(key, []).append(cell)
    merged: dict[tuple[str, str, str, str, tuple[str, ...]], list[Cell]] = {}
    for (runtime, said, expected, verdict, _), group in by_image.items():
        scenarios = tuple(c.scenario for c in group)
        merged.setdefault((runtime, said, expected, verdict, scenarios), []).extend(group)
    return [
        (_look_line(runtime, said, expected, verdict, scenarios, group), group)
        for (runtime, said, expected, verdict, scenarios), group in merged.items()
    ]


def _look_line(
    runtime: str, said: str, expected: str, verdict: str, scenarios: tuple[str, ...], group: list[Cell]
) -> str:
    images = list(dict.fromkeys(c.image for c in group))
    where = names(images) if len(images) <= 3 else f"{len(images)} images"
    which = names(list(scenarios)) if len(scenarios) <= 2 else f"{len(scenarios)} scenarios"
    return f"{verdict}: {runtime} on {where}: {said} (expected {expected}) in {which}"


def _untested(answer: Answer) -> list[str]:
    lines = untested_lines(answer.untested)
    if len(lines) <= UNTESTED_SHOWN + 1:
        return lines
    more = len(lines) - UNTESTED_SHOWN
    return [*lines[:UNTESTED_SHOWN], f"not tested: {more} more, each named on the report's page"]
