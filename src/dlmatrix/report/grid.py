"""The summary grid: a row per runtime (grouped by family), a column per environment (grouped by C
library family, version, then architecture), each cell one word for all of that runtime's
scenarios there. The report's model (report.answer) builds it once; every rendering reads it."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace

from dlmatrix.model.cells import Cell
from dlmatrix.model.expectations import version_key
from dlmatrix.model.kinds import family_order
from dlmatrix.model.outcomes import FAILING_VERDICTS, NOT_RAN
from dlmatrix.report.legend import STATUS_SYMBOLS
from dlmatrix.report.words import libc_versions, names, they

FOLDED = ("n/a", "not-run")  # statuses of a runtime in an environment where nothing ran
# the signal a reader should see first when a runtime crashes in several ways
SIGNAL_ORDER = ("SIGSEGV", "SIGBUS", "SIGILL", "SIGABRT", "SIGFPE", "SIGTRAP")


@dataclass(frozen=True)
class Column:
    """One environment: an image, with the C library and architecture read inside it."""

    image: str
    family: str
    version: str | None
    arch: str = ""

    @property
    def distro(self) -> str:
        """The image's name without what the headers above it already say."""
        parts = [p for p in self.image.split("-") if p not in (self.family, self.arch)]
        return "-".join(parts) or self.image

    @property
    def title(self) -> str:
        return f"{self.family} {self.version or '?'} {self.arch or ''} ({self.image})".replace("  ", " ")


@dataclass(frozen=True)
class Summary:
    """One runtime in one environment, over every scenario that ran there."""

    status: str  # survives | crashes | racy | fails | n/a (declared) | not-run (expected, not run)
    ran: int = 0
    failed: int = 0  # scenarios that crashed in some attempt (crashes, racy), or ended otherwise (fails)
    worst: str = ""  # "SIGSEGV", or the worst other outcome in words
    attempts: tuple[int, int] = (0, 0)  # racy: attempts that crashed, of all attempts of those cells
    scenarios: tuple[str, ...] = ()  # the scenarios that crashed, raced or failed
    deviations: int = 0  # cells whose verdict is unexpected or flaky
    skipped_reason: str = ""
    verdicts: tuple[str, ...] = ()

    @property
    def symbol(self) -> str:
        return STATUS_SYMBOLS[self.status]

    @property
    def text(self) -> str:
        """The cell's words: the symbol never stands alone."""
        if self.status == "survives":
            return f"survives all {self.ran} scenarios"
        if self.status == "crashes":
            return f"crashes in {self.failed} of {self.ran} scenarios, {self.worst}"
        if self.status == "racy":
            crashed, total = self.attempts
            return f"racy: {crashed} of {total} attempts crashed, in {self.failed} of {self.ran} scenarios"
        if self.status == "fails":
            return f"no crash; {self.worst} in {self.failed} of {self.ran} scenarios"
        if self.status == "not-run":
            return f"not run: {self.skipped_reason}" if self.skipped_reason else "not run"
        return "not applicable"

    @property
    def short(self) -> str:
        """The words that fit a grid cell; `text` says them in full (the cell's accessible name)."""
        if self.status in ("crashes", "fails"):
            return f"{self.failed}/{self.ran} {self.worst}"
        if self.status == "racy":
            return f"racy {self.attempts[0]}/{self.attempts[1]}"
        return {"survives": "survives", "not-run": "not run"}.get(self.status, "n/a")

    @property
    def rate(self) -> float:
        crashed, total = self.attempts
        return crashed / total if total else 0.0


@dataclass
class Grid:
    columns: list[Column]
    rows: list[tuple[str, list[str]]]  # (runtime family, its runtimes)
    summaries: dict[tuple[str, str], Summary]  # (runtime, image)
    folded_columns: list[tuple[Column, str]] = field(default_factory=list)  # every cell skipped: why
    folded_rows: list[tuple[str, str]] = field(default_factory=list)

    def summary(self, runtime: str, image: str) -> Summary:
        return self.summaries.get((runtime, image), Summary("n/a"))  # no such cell in this run

    @property
    def runtimes(self) -> list[str]:
        return [runtime for _, runtimes in self.rows for runtime in runtimes]

    def folded(self) -> set[str]:
        return {c.image for c, _ in self.folded_columns} | {r for r, _ in self.folded_rows}


def columns(cells: list[Cell]) -> list[Column]:
    """Grouped by C library family, then version, then architecture (the host's, the most
    common, first). A column's C library is what its cells that ran report."""
    seen: dict[str, Column] = {}
    for cell in cells:
        column = Column(cell.image, cell.libc.family, cell.libc.version, cell.arch)
        if cell.image not in seen or (cell.libc.version and not seen[cell.image].version):
            seen[cell.image] = column
    weight = Counter(c.arch for c in seen.values())
    return sorted(
        seen.values(),
        key=lambda c: (
            c.family,
            c.version is None,
            version_key(c.version or ""),
            -weight[c.arch],
            c.arch,
            c.image,
        ),
    )


def family_rows(cells: list[Cell]) -> list[tuple[str, list[str]]]:
    """Runtimes in the order they first appear, grouped by family: the model, LTTng-UST, libraries."""
    family_of = {cell.runtime: cell.family for cell in cells}
    order = sorted(
        dict.fromkeys(family_of.values()),
        key=family_order,
    )
    return [(family, [r for r in family_of if family_of[r] == family]) for family in order]


def _worst_signal(cells: list[Cell]) -> str:
    signals = Counter(
        a.result.partition(":")[2] for c in cells for a in c.attempts if a.result.startswith("crash")
    )
    return min(signals, key=lambda s: (SIGNAL_ORDER.index(s) if s in SIGNAL_ORDER else 99, -signals[s]))


def skip_reason(cell: Cell) -> str:
    """Why a cell was skipped: the first line of what the run said (its stderr), else the rule's reason."""
    said = cell.stderr.strip().splitlines()
    return said[0] if said else cell.reason


def _names_of(cells: list[Cell]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c.scenario for c in cells))


def summarise(indexed: list[tuple[int, Cell]]) -> Summary:
    """Crashes: some scenario crashed in every attempt. Racy: none did, but some attempts crashed.
    Either way k counts the scenarios that crashed in some attempt (the seed's text counts so too).
    Fails: none crashed, something else (exit, timeout, build error) happened. n/a: nothing ran, as
    declared; not-run: nothing ran, though some cell was expected to."""
    ran = [c for _, c in indexed if c.verdict not in NOT_RAN]
    base = Summary(
        "n/a",
        ran=len(ran),
        verdicts=tuple(sorted({c.verdict for _, c in indexed})),
        deviations=sum(c.verdict in FAILING_VERDICTS for _, c in indexed),
    )
    if not ran:
        reasons = Counter(skip_reason(c) for _, c in indexed)
        unrun = any(c.verdict == "not-run" for _, c in indexed)
        return replace(
            base,
            status="not-run" if unrun else "n/a",
            skipped_reason=reasons.most_common(1)[0][0] if reasons else "",
        )
    crashed = [c for c in ran if c.crash_rate[0] > 0]
    if any(c.crash_rate[0] == c.crash_rate[1] for c in crashed):
        return replace(
            base,
            status="crashes",
            failed=len(crashed),
            worst=_worst_signal(crashed),
            scenarios=_names_of(crashed),
        )
    if crashed:
        attempts = (sum(c.crash_rate[0] for c in crashed), sum(c.crash_rate[1] for c in crashed))
        return replace(
            base,
            status="racy",
            failed=len(crashed),
            worst="crash",
            attempts=attempts,
            scenarios=_names_of(crashed),
        )
    other = [c for c in ran if c.outcome != "pass"]
    if other:
        worst = Counter(c.words for c in other).most_common(1)[0][0]
        return replace(base, status="fails", failed=len(other), worst=worst, scenarios=_names_of(other))
    return replace(base, status="survives")


def build_grid(cells: list[Cell]) -> Grid:
    by_pair: dict[tuple[str, str], list[tuple[int, Cell]]] = defaultdict(list)
    for i, cell in enumerate(cells):
        by_pair[(cell.runtime, cell.image)].append((i, cell))
    summaries = {pair: summarise(indexed) for pair, indexed in by_pair.items()}
    cols, rows = columns(cells), family_rows(cells)
    grid = Grid(cols, rows, summaries)
    runtimes = grid.runtimes
    grid.folded_columns = [
        (c, _common_reason([grid.summary(r, c.image) for r in runtimes]))
        for c in cols
        if all(grid.summary(r, c.image).status in FOLDED for r in runtimes)
    ]
    grid.folded_rows = [
        (r, _common_reason([grid.summary(r, c.image) for c in cols]))
        for r in runtimes
        if all(grid.summary(r, c.image).status in FOLDED for c in cols)
    ]
    return grid


def _common_reason(summaries: list[Summary]) -> str:
    reasons = Counter(s.skipped_reason for s in summaries if s.skipped_reason)
    return reasons.most_common(1)[0][0] if reasons else ""


def family_lines(grid: Grid) -> list[tuple[str, str]]:
    """One short line per runtime family: which runtimes crash, and on which C libraries; which
    crash in some attempts only; which end otherwise (and how); which survive wherever they ran."""
    lines = []
    for family, runtimes in grid.rows:
        said: dict[tuple[str, str, str], list[str]] = defaultdict(list)  # (one, many, rest) -> runtimes
        for runtime in runtimes:
            said[_phrase([(c, grid.summary(runtime, c.image)) for c in grid.columns])].append(runtime)
        parts = [
            they(names, one, many) + rest.format(it="it" if len(names) == 1 else "they")
            for (one, many, rest), names in said.items()
            if one
        ]
        lines.append((family, "; ".join(parts) + "." if parts else "nothing ran."))
    return lines


def _phrase(summaries: list[tuple[Column, Summary]]) -> tuple[str, str, str]:
    """What one runtime did across the environments: (verb for one, verb for many, the rest)."""
    for status, one, many in (("crashes", "crashes", "crash"), ("racy", "crashes", "crash")):
        where = _libcs([c for c, s in summaries if s.status == status])
        if where:
            return one, many, (" in some attempts only" if status == "racy" else "") + f" on {where}"
    failing = [(c, s) for c, s in summaries if s.status == "fails"]
    if failing:
        words = ", ".join(sorted({s.worst for _, s in failing}))
        scenarios = list(dict.fromkeys(name for _, s in failing for name in s.scenarios))
        which = f"in {names(scenarios)}" if len(scenarios) <= 2 else f"in {len(scenarios)} scenarios"
        return "ends", "end", f" with {words} {which} on {_libcs([c for c, _ in failing])}"
    if any(s.status == "survives" for _, s in summaries):
        return "survives", "survive", " every scenario wherever {it} ran"
    return "", "", ""


def _libcs(cols: list[Column]) -> str:
    """The C library versions among some columns: "glibc 2.31, 2.36 and musl 1.2.3"."""
    return " and ".join(libc_versions((c.family, c.version or "?") for c in cols))


@dataclass(frozen=True)
class Header:
    label: str
    span: int
    family: str
    version: str = ""
    arch: str = ""
    title: str = ""


def header_rows(cols: list[Column]) -> list[list[Header]]:
    """The column groups above the grid: C library family, then version, then architecture (only
    when there are several), then the distribution. Columns are sorted, so groups are contiguous."""
    levels = ["family", "version"]
    if len({c.arch for c in cols}) > 1:
        levels.append("arch")
    rows = []
    for depth in range(1, len(levels) + 1):
        keys = [tuple(getattr(c, level) or "" for level in levels[:depth]) for c in cols]
        spans = Counter(keys)
        row = []
        for key in dict.fromkeys(keys):
            label = key[-1] or "?"
            fields = dict(zip(levels[:depth], key, strict=True))
            row.append(
                Header(
                    label,
                    spans[key],
                    key[0],
                    fields.get("version", ""),
                    fields.get("arch", ""),
                    " ".join(key),
                )
            )
        rows.append(row)
    rows.append([Header(c.distro, 1, c.family, c.version or "", c.arch, c.image) for c in cols])
    return rows
