"""The seed's answer: which runtimes crash after dlclose() on which C libraries, which survive,
and why, read once from the cells. Its subject is LTTng-UST built from upstream source (the
cells that carry upstream_commit), else the model runtimes; the page's first sentence, the seed
in full, the badge's message and the line per architecture all say it from here."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from dlmatrix.model.cells import Cell
from dlmatrix.model.outcomes import NOT_RAN
from dlmatrix.report.grid import skip_reason
from dlmatrix.report.words import first_sentence, names, span, they, versions

SEED = "app-dlopen-dlclose"
SEED_FAMILIES = ("model", "LTTng-UST")  # the runtimes the seed is about: the model and the real one
LTTNG = "LTTng-UST"
MODEL = "The model runtimes"


@dataclass(frozen=True)
class Seed:
    subject: str  # LTTNG (built from upstream source) or MODEL (no such build ran on glibc)
    cells: list[Cell]  # the subject's cells that ran
    crashers: list[str]  # the subject's runtimes that crashed in some scenario on glibc
    survivors: list[str]  # and those that never did
    sentence: str | None  # the report's first sentence; None when nothing of the subject ran on glibc
    in_full: str | None  # scenario by scenario, for LTTng-UST built from source only
    by_arch: list[str]  # the seed scenario per architecture; none with one architecture

    @property
    def message(self) -> str:
        """The answer in a few words (the badge's): how many crash on glibc, how many never do."""
        if self.sentence is None:
            return "no result"
        name = "LTTng-UST" if self.subject == LTTNG else "model"
        return f"{name}: {len(self.crashers)} crash, {len(self.survivors)} survive on glibc"


def read_seed(cells: list[Cell]) -> Seed:
    subject, ran = _subject(cells)
    glibc = [c for c in ran if c.libc.family == "glibc"]
    crashers, survivors = _crashing_and_surviving(glibc)
    unrun = _not_run(cells, subject, {c.runtime for c in ran})
    sentence = _sentence(subject, ran, crashers, survivors) + _coverage(ran, unrun) if glibc else None
    in_full = _in_full(ran) if subject == LTTNG else None
    return Seed(subject, ran, crashers, survivors, sentence, in_full, seed_by_arch(cells))


def source_built(cells: list[Cell]) -> list[Cell]:
    """The cells that ran LTTng-UST built from an upstream commit (they carry it; a plug-in built
    from a git commit does too, but the seed is LTTng-UST's)."""
    return [
        c
        for c in cells
        if "upstream_commit" in c.evidence and c.family == "LTTng-UST" and c.verdict not in NOT_RAN
    ]


def _subject(cells: list[Cell]) -> tuple[str, list[Cell]]:
    """What the seed is about, and its cells that ran: LTTng-UST built from upstream source, or
    the model runtimes when the run has no such build on glibc."""
    built = source_built(cells)
    if any(c.libc.family == "glibc" for c in built):
        return LTTNG, built
    return MODEL, [c for c in cells if c.family == "model" and c.verdict not in NOT_RAN]


def _not_run(cells: list[Cell], subject: str, runtimes: set[str]) -> list[Cell]:
    """The subject's cells that were expected to run and did not."""
    family = "LTTng-UST" if subject == LTTNG else "model"
    return [c for c in cells if c.verdict == "not-run" and c.family == family and c.runtime in runtimes]


def _coverage(ran: list[Cell], unrun: list[Cell]) -> str:
    """Where the answer was measured, and what of it did not run, with the commonest reason: an
    answer read from some architectures must not pass for all of them."""
    measured = list(dict.fromkeys(c.arch for c in ran if c.arch))
    text = f" Measured on {names(measured)}" if measured else ""
    if not unrun:
        return text + "." if text else ""
    absent = sorted({c.arch for c in unrun if c.arch} - set(measured))
    # the commonest reason's head: the cells' own reasons are in the report
    reason = Counter(first_sentence(skip_reason(c)).split(":")[0] for c in unrun).most_common(1)[0][0]
    entirely = f"all of {names(absent)}; " if absent else ""
    return f"{text or ' Measured'}; {len(unrun)} of its cells not run ({entirely}most {reason})."


def _crashing_and_surviving(cells: list[Cell]) -> tuple[list[str], list[str]]:
    """The runtimes that crashed in some scenario, and those that never did."""
    runtimes = list(dict.fromkeys(c.runtime for c in cells))
    crashers = [r for r in runtimes if any(c.runtime == r and c.outcome == "crash" for c in cells)]
    return crashers, [r for r in runtimes if r not in crashers]


def _mapped(cell: Cell) -> bool | None:
    """Whether the runtime was still mapped after the provider's dlclose(), as the cell measured it."""
    for key in ("mapped_noload@after-close", "mapped@after-close"):
        if isinstance(cell.evidence.get(key), bool):
            return bool(cell.evidence[key])
    return None


def _sentence(subject: str, ran: list[Cell], crashers: list[str], survivors: list[str]) -> str:
    """The page's first sentence: which builds crash after dlclose() on which C libraries, which
    survive, and why, as the cells measured it (mapped or not after the close)."""
    glibc = [c for c in ran if c.libc.family == "glibc"]
    said = [
        *_crashed_clause(glibc, crashers),
        *_survived_clause(glibc, survivors),
        *_musl_clause([c for c in ran if c.libc.family == "musl"]),
    ]
    return f"{subject} after dlclose(): " + "; ".join(said) + "."


def _crashed_clause(glibc: list[Cell], crashers: list[str]) -> list[str]:
    if not crashers:
        return []
    crashed = [c for c in glibc if c.outcome == "crash"]
    where = span(str(c.libc.version) for c in crashed)
    unmapped = any(_mapped(c) is False for c in crashed)
    why = ", the runtime unmapped while its threads run" if unmapped else ""
    return [f"{they(crashers, 'crashes', 'crash')} on glibc {where}{why}"]


def _survived_clause(glibc: list[Cell], survivors: list[str]) -> list[str]:
    if not survivors:
        return []
    kept = [c for c in glibc if c.runtime in survivors and c.scenario == SEED]
    why = ", the runtime kept mapped" if kept and all(_mapped(c) for c in kept) else ""
    return [f"{they(survivors, 'never crashes', 'never crash')} there{why}"]


def _musl_clause(musl: list[Cell]) -> list[str]:
    if not musl:
        return []
    where = span(str(c.libc.version) for c in musl)
    if all(c.outcome != "crash" for c in musl):
        return [f"on musl {where} every version survives, because musl's dlclose() never unmaps"]
    return [f"on musl {where} some crash too (see the musl columns)"]


Shape = tuple[tuple[str, ...], tuple[str, ...], int]  # scenarios that crashed, where, of how many


def _in_full(built: list[Cell]) -> str:
    """The seed in full: what the runtimes built from upstream source did after dlclose(),
    scenario by scenario, on each C library, read from the cells themselves."""
    glibc = [c for c in built if c.libc.family == "glibc"]
    crashing, survivors, anyway = _glibc_shapes(glibc)
    said = [
        f"{they(runtimes, 'crashes', 'crash')} after dlclose() in {_shape(scenarios, total)} "
        f"on glibc {', '.join(where)}"
        for (scenarios, where, total), runtimes in crashing.items()
    ]
    if survivors:
        every = ", ".join(versions(str(c.libc.version) for c in glibc))
        said.append(f"{they(survivors, 'survives', 'survive')} every scenario on glibc {every}")
    text = "LTTng-UST built from upstream source: " + "; ".join(said) + "."
    if anyway:
        kept = [r for r, _ in anyway]
        text += f" In the seed's own shape {they(kept, 'survives', 'survive')} without the pin: "
        text += f"{first_sentence(anyway[0][1])}."
    return text + _musl_in_full([c for c in built if c.libc.family == "musl" and c.scenario == SEED])


def _glibc_shapes(glibc: list[Cell]) -> tuple[dict[Shape, list[str]], list[str], list[tuple[str, str]]]:
    """The runtimes by where they crashed; those that never did; and those that crashed elsewhere
    but survived the seed's own scenario, with the reason its expectation gives."""
    by_runtime: dict[str, list[Cell]] = defaultdict(list)
    for cell in glibc:
        by_runtime[cell.runtime].append(cell)
    crashing: dict[Shape, list[str]] = defaultdict(list)
    survivors, anyway = [], []
    for runtime, group in by_runtime.items():
        crashed = sorted({c.scenario for c in group if c.outcome.startswith("crash")})
        if not crashed:
            survivors.append(runtime)
            continue
        where = tuple(versions(str(c.libc.version) for c in group if c.scenario in crashed))
        crashing[(tuple(crashed), where, len({c.scenario for c in group}))].append(runtime)
        seed = [c for c in group if c.scenario == SEED]
        if seed and all(c.outcome == "pass" for c in seed):
            anyway.append((runtime, seed[0].reason))
    return crashing, survivors, anyway


def _shape(scenarios: tuple[str, ...], total: int) -> str:
    """The scenarios that crashed: by name when there are one or two, else how many."""
    if len(scenarios) <= 2:
        return names(list(scenarios))
    return f"{len(scenarios)} of {total} scenarios" + (
        ", the seed's own included," if SEED in scenarios else ""
    )


def _musl_in_full(seeds: list[Cell]) -> str:
    if not seeds:
        return ""
    return f" On musl {', '.join(versions(str(c.libc.version) for c in seeds))} " + (
        "every version survives, because musl's dlclose() never unmaps."
        if all(c.outcome == "pass" for c in seeds)
        else "not every version survives the seed (see the musl columns)."
    )


def _seed_results(ran: list[Cell]) -> str:
    """The seed's results in words, each with the runtimes that ended so."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for cell in sorted(ran, key=lambda c: c.runtime):
        grouped["survive" if cell.outcome == "pass" else cell.words].append(cell.runtime)
    return "; ".join(f"{words}: {', '.join(dict.fromkeys(names))}" for words, names in grouped.items())


def _differences(cells: list[Cell], reference: list[Cell]) -> list[str]:
    """Runtimes whose seed result differs from the reference architecture's at the same C library version."""
    there = {(c.runtime, c.libc.family, c.libc.version): c.words for c in reference}
    found = []
    for cell in cells:
        other = there.get((cell.runtime, cell.libc.family, cell.libc.version))
        if other is not None and other != cell.words:
            libc = f"{cell.libc.family} {cell.libc.version}"
            found.append(f"{cell.runtime} on {libc}: {cell.words} (there: {other})")
    return found


def seed_by_arch(cells: list[Cell]) -> list[str]:
    """The seed scenario's result per architecture, for the model and LTTng-UST, and where it
    differs from the architecture with the most cells (the host's); nothing with one architecture.
    Only cells that ran count: a skipped one has no result (nor, never having run, a libc version)."""
    seeds = [
        c
        for c in cells
        if c.scenario == SEED and c.family in SEED_FAMILIES and c.arch and c.verdict not in NOT_RAN
    ]
    arches = Counter(c.arch for c in seeds)
    if len(arches) < 2:
        return []
    reference = arches.most_common(1)[0][0]
    return [_arch_line(arch, seeds, reference) for arch in sorted(arches, key=lambda a: (a != reference, a))]


def _arch_line(arch: str, seeds: list[Cell], reference: str) -> str:
    mine = [c for c in seeds if c.arch == arch]
    parts = []
    for family in ("glibc", "musl"):
        ran = [c for c in mine if c.libc.family == family]
        if ran:
            parts.append(
                f"{family} {', '.join(versions(str(c.libc.version) for c in ran))}: {_seed_results(ran)}"
            )
    line = f"{arch}: " + ". ".join(parts) + "."
    if arch == reference:
        return line
    differs = _differences(mine, [c for c in seeds if c.arch == reference])
    return line + (f" Differs from {reference}: {'; '.join(differs)}." if differs else f" As on {reference}.")
