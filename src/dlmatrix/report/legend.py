"""The report's tables: what each symbol, state and status means and which colour shows it. One
place for them: the page's template, style and script receive them from here (the script as
data), summary.md and the terminal read the same ones."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dlmatrix.model.cells import Cell
from dlmatrix.model.outcomes import FAILING_VERDICTS, VERDICTS, Verdict

SYMBOLS = {  # a cell's outcome at a glance (the full matrix, the panel)
    "pass": "✓",
    "crash": "✗",
    "exit": "≠",
    "timeout": "◔",
    "build-error": "⚒",
    "error": "!",
    "skipped": "○",
}
STATES = {  # state: what the legend says
    "pass": "passed, as expected",
    "expected-failure": "failed as expected (crash, exit or timeout declared in matrix/expectations.yaml)",
    "unexpected": "differs from the expectation",
    "flaky": "attempts disagree with each other",
    "not-reproduced": "a racy outcome that did not appear in any of its attempts (at least 5)",
    "skipped": "not applicable here, as its rule declares (reason in the details)",
    "not-run": "expected to run, but could not run here (reason in the details): no result",
}
# what a full-matrix cell adds to its words, by state (the legend names the failing verdicts' marks)
MARKS = {
    "unexpected": "‼",
    "flaky": "~",
    "expected-failure": "(expected)",
    "not-reproduced": "(not reproduced)",
    "not-run": "(not run)",
}
STATUS_SYMBOLS = {"survives": "✓", "crashes": "✗", "racy": "≈", "fails": "≠", "n/a": "○", "not-run": "⊘"}
STATUS_MEANINGS = {  # what the legends (the page's and summary.md's) say of each status
    "survives": "every scenario that ran passed",
    "crashes": "k/n SIGNAL: crashed in k of n scenarios (in some attempt), one in every attempt",
    "racy": "no scenario crashed every time, some attempts did (the rate, drawn as a bar on the page)",
    "fails": "k/n OUTCOME: no crash, but an exit code, a timeout or a build error in k of n scenarios",
    "n/a": "not applicable: every scenario skipped here, as declared",
    "not-run": "expected to run, but nothing ran here (the reason in its title): no result",
}
DEVIATES = "some cell there differs from its expectation"  # what DEVIATES_MARK says
DEVIATES_MARK = "‼"
FAMILY_TITLES = {"model": "The model (src/c/runtime.c)", "LTTng-UST": "LTTng-UST", "library": "Libraries"}

PALETTE = {  # the page's background colours, as CSS custom properties
    "ok": "#dff3d8",
    "xfail": "#e6ecf7",
    "bad": "#f9c9c9",
    "flaky": "#fde9a6",
    "skip": "#eeeeee",
    "racy": "#fbe3b6",
    "unrun": "#d4d4d4",
}
STATE_COLOURS = {
    "pass": "ok",
    "expected-failure": "xfail",
    "unexpected": "bad",
    "flaky": "flaky",
    "not-reproduced": "racy",
    "skipped": "skip",
    "not-run": "unrun",
}
STATUS_COLOURS = {
    "survives": "ok",
    "crashes": "bad",
    "racy": "racy",
    "fails": "flaky",
    "n/a": "skip",
    "not-run": "unrun",
}
RATE_BAR = "#8a6d00"  # the share of attempts that crashed, in the grid's bars and the panel's charts
CHART = ("#f3f3f3", "#bbb")  # a rate chart's bar: its background and outline, behind the rate
STANDING_COLOURS = {  # the badge, by Answer.standing
    "as declared": "#4c1",
    "flaky": "#dfb317",
    "unexpected": "#e05d44",
    "incomplete": "#dfb317",
    "no result": "#9f9f9f",
}
VERDICT_STYLES = {  # the terminal's
    "ok": "green",
    "unexpected": "bold red",
    "flaky": "yellow",
    "not-reproduced": "yellow",
    "skipped": "dim",
    "not-run": "magenta",
}
HARNESS_PROBLEMS = ("error", "build-error")  # outcomes of cells that could not be judged: not failures
NOT_RUN = ("skipped", *HARNESS_PROBLEMS)  # results in which no attempt ran the scenario


def state(cell: Cell) -> str:
    """The verdict, with ok told apart into a pass and a failure that was declared."""
    if cell.verdict == "ok":
        return "pass" if cell.outcome == "pass" else "expected-failure"
    return cell.verdict


@dataclass(frozen=True)
class Legend:
    """Every table above, as the report's model carries them to the renderers."""

    verdicts: tuple[Verdict, ...]
    failing: tuple[Verdict, ...]
    symbols: Mapping[str, str]
    states: Mapping[str, str]
    marks: Mapping[str, str]
    status_symbols: Mapping[str, str]
    status_meanings: Mapping[str, str]
    deviates: str
    deviates_mark: str
    family_titles: Mapping[str, str]
    palette: Mapping[str, str]
    state_colours: Mapping[str, str]
    status_colours: Mapping[str, str]
    rate_bar: str
    chart: tuple[str, str]
    standing_colours: Mapping[str, str]
    verdict_styles: Mapping[str, str]
    not_run: tuple[str, ...]

    def backgrounds(self) -> list[tuple[str, str]]:
        """(CSS class, palette name): a grid cell by its status, a full-matrix cell by its state."""
        statuses = [("s-" + status.replace("/", "\\/"), c) for status, c in self.status_colours.items()]
        return statuses + list(self.state_colours.items())

    def script_tables(self) -> dict[str, Any]:
        """What the page's script needs of the legend: it writes none of these itself."""
        return {
            "marks": dict(self.marks),
            "rate": self.rate_bar,
            "chart": list(self.chart),
            "not_run": list(self.not_run),
        }


LEGEND = Legend(
    verdicts=VERDICTS,
    failing=FAILING_VERDICTS,
    symbols=SYMBOLS,
    states=STATES,
    marks=MARKS,
    status_symbols=STATUS_SYMBOLS,
    status_meanings=STATUS_MEANINGS,
    deviates=DEVIATES,
    deviates_mark=DEVIATES_MARK,
    family_titles=FAMILY_TITLES,
    palette=PALETTE,
    state_colours=STATE_COLOURS,
    status_colours=STATUS_COLOURS,
    rate_bar=RATE_BAR,
    chart=CHART,
    standing_colours=STANDING_COLOURS,
    verdict_styles=VERDICT_STYLES,
    not_run=NOT_RUN,
)
