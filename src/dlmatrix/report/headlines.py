"""One sentence per runtime variant: where it survives, where it fails, and why."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from dlmatrix.model.cells import Cell
from dlmatrix.model.expectations import version_key
from dlmatrix.model.kinds import family_order
from dlmatrix.suite.loader import soname_stem

SEED = "app-dlopen-dlclose"


@dataclass(frozen=True)
class Finding:
    family: str
    versions: tuple[str, ...]
    ran: int  # scenarios with a result here (not skipped)
    passed: int
    failures: tuple[tuple[str, int], ...]  # ("crash SIGSEGV", 10), ...
    unexpected: int
    why: str


@dataclass(frozen=True)
class Headline:
    runtime: str
    findings: tuple[Finding, ...]
    family: str = ""
    protection: str = ""  # as found in the seed's cells: ELF flags, the loader's account, threads
    crashes_on: tuple[str, ...] = ()  # "glibc 2.31, 2.36", ...: where some scenario crashed

    def headline(self) -> str:
        """One sentence: the protection found and the C library versions where it crashes."""
        where = (
            f"crashes on {'; '.join(self.crashes_on)}" if self.crashes_on else "crashes on no C library here"
        )
        return f"Protection: {self.protection}; {where}." if self.protection else f"It {where}."

    def details(self) -> str:
        """Per C library: how many scenarios ended how, and the expectation's reason."""
        return "; ".join(_words(f) for f in self.findings) + "."

    def sentence(self) -> str:
        return f"{self.headline()} {self.details()}"


def by_family(items: list[Headline]) -> list[tuple[str, list[Headline]]]:
    """The headlines grouped by runtime family: the model, LTTng-UST, the libraries, then others."""
    families = sorted(
        {h.family for h in items},
        key=family_order,
    )
    return [(family, [h for h in items if h.family == family]) for family in families]


def protection(cells: list[Cell]) -> str:
    """What keeps the runtime safe, read from the seed's glibc cells: its ELF flags, the loader's
    NODELETE markings, whether it stayed mapped, and whether its threads outlived the unmapping."""
    seeds = [c for c in cells if c.scenario == SEED and c.libc.family == "glibc" and c.outcome != "skipped"]
    if not seeds:
        return ""
    seed = seeds[-1]
    evidence = seed.evidence
    if evidence.get("elf_nodelete") is True:
        return f"{evidence.get('elf_soname', 'the library')} is linked with -z nodelete (DF_1_NODELETE)"
    stem = soname_stem(str(evidence.get("elf_soname", "")))
    marks = [m for m in (seed.loader or {}).get("nodelete", []) if m["object"].startswith(stem)]
    if marks:
        return f"the loader marks {marks[0]['object']} NODELETE ({marks[0]['cause']})"
    if evidence.get("mapped@after-close") is True:
        return "it stays mapped after dlclose(): a reference outlives the provider's (self-pin or other)"
    threads = evidence.get("listener_threads@after-close", evidence.get("listeners_live@after-close"))
    if all(c.outcome == "pass" for c in seeds) and threads == 0:
        return "unloaded, but its destructor stops its threads first"
    if any(c.outcome == "crash" for c in seeds):
        return "none found: it is unmapped while its threads run"
    return f"none found: unmapped with {threads} thread(s) left, which did not crash here"


def _words(finding: Finding) -> str:
    where = f"{finding.family} {', '.join(finding.versions)}"
    if finding.ran == 0:
        return f"{where}: not run"
    if not finding.failures:
        said = f"{where}: passes all {finding.ran} scenarios"
    else:
        failed = ", ".join(f"{label} in {n}" for label, n in finding.failures)
        said = f"{where}: {failed} of {finding.ran} scenarios"
        said += f", passes {finding.passed}" if finding.passed else ""
    if finding.unexpected:
        said += f" ({finding.unexpected} unexpected)"
    return f"{said}. Why: {finding.why.rstrip('.')}" if finding.why else said


Profile = tuple[tuple[str, str, str], ...]


def _profile(cells: list[Cell]) -> Profile:
    return tuple(sorted((c.scenario, c.result, c.verdict) for c in cells))


def headlines(cells: list[Cell]) -> list[Headline]:
    """Per runtime, per libc family: versions with the same results are named together."""
    by_runtime: dict[str, dict[tuple[str, str | None], list[Cell]]] = defaultdict(lambda: defaultdict(list))
    for cell in cells:
        if cell.outcome != "skipped":
            by_runtime[cell.runtime][(cell.libc.family, cell.libc.version)].append(cell)
    result = []
    for runtime, by_libc in by_runtime.items():
        # versions of one family whose scenarios all ended alike are named together
        grouped: dict[tuple[str, Profile], list[tuple[str, list[Cell]]]] = defaultdict(list)
        for (family, version), group in by_libc.items():
            grouped[(family, _profile(group))].append((version or "?", group))
        findings = [
            _finding(family, sorted((v for v, _ in members), key=version_key), members[0][1])
            for (family, _), members in sorted(grouped.items(), key=lambda item: item[0][0])
        ]
        every = [c for group in by_libc.values() for c in group]
        crashes_on = tuple(
            libc_versions((c.libc.family, c.libc.version or "?") for c in every if c.outcome == "crash")
        )
        result.append(Headline(runtime, tuple(findings), every[0].family, protection(every), crashes_on))
    return result


def libc_versions(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """Each C library family once, with its versions in order: ["glibc 2.31, 2.36", "musl 1.2.3"]."""
    by_family: dict[str, set[str]] = defaultdict(set)
    for family, version in pairs:
        by_family[family].add(version)
    return [
        f"{family} {', '.join(sorted(versions, key=version_key))}"
        for family, versions in sorted(by_family.items())
    ]


def _finding(family: str, versions: list[str], cells: list[Cell]) -> Finding:
    failures = Counter(c.words for c in cells if c.outcome != "pass")
    seed = next((c for c in cells if c.scenario == SEED), cells[0])
    return Finding(
        family=family,
        versions=tuple(versions),
        ran=len(cells),
        passed=sum(c.outcome == "pass" for c in cells),
        failures=tuple(failures.most_common()),
        unexpected=sum(c.verdict in ("unexpected", "flaky") for c in cells),
        why=seed.reason,
    )


def names(items: list[str]) -> str:
    """Names joined for a sentence: "a", "a and b", "a, b and c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def they(items: list[str], one: str, many: str) -> str:
    """The names, then the verb that agrees with them."""
    return f"{names(items)} {one if len(items) == 1 else many}"


def _first_sentence(reason: str) -> str:
    first = reason.split(". ")[0].rstrip(".")
    return first[:1].lower() + first[1:]


def source_built(cells: list[Cell]) -> list[Cell]:
    """The cells that ran a runtime built from an upstream snapshot (they carry its commit)."""
    return [c for c in cells if "upstream_commit" in c.evidence and c.outcome != "skipped"]


def seed_answer(cells: list[Cell]) -> str | None:
    """The report's first sentence: what the runtimes built from upstream source (cells that carry
    upstream_commit) did after dlclose() on each C library, read from the cells themselves."""
    built = source_built(cells)
    glibc = [c for c in built if c.libc.family == "glibc"]
    if not glibc:
        return None
    versions = sorted({str(c.libc.version) for c in glibc}, key=version_key)
    by_runtime: dict[str, list[Cell]] = defaultdict(list)
    for cell in glibc:
        by_runtime[cell.runtime].append(cell)
    crashing: dict[tuple[tuple[str, ...], tuple[str, ...], int], list[str]] = defaultdict(list)
    survivors, anyway = [], []
    for runtime, group in by_runtime.items():
        crashed = sorted({c.scenario for c in group if c.outcome.startswith("crash")})
        if not crashed:
            survivors.append(runtime)
            continue
        where = tuple(sorted({str(c.libc.version) for c in group if c.scenario in crashed}, key=version_key))
        total = len({c.scenario for c in group})
        crashing[(tuple(crashed), where, total)].append(runtime)
        seed = [c for c in group if c.scenario == SEED]
        if seed and all(c.outcome == "pass" for c in seed):
            anyway.append((runtime, seed[0].reason))
    said = []
    for (scenarios, where, total), runtimes in crashing.items():
        if len(scenarios) <= 2:
            shapes = names(list(scenarios))
        else:
            shapes = f"{len(scenarios)} of {total} scenarios" + (
                ", the seed's own included," if SEED in scenarios else ""
            )
        said.append(
            f"{they(runtimes, 'crashes', 'crash')} after dlclose() in {shapes} on glibc {', '.join(where)}"
        )
    if survivors:
        said.append(f"{they(survivors, 'survives', 'survive')} every scenario on glibc {', '.join(versions)}")
    text = "LTTng-UST built from upstream source: " + "; ".join(said) + "."
    if anyway:
        kept = [r for r, _ in anyway]
        text += f" In the seed's own shape {they(kept, 'survives', 'survive')} without the pin: "
        text += f"{_first_sentence(anyway[0][1])}."
    return text + _musl_answer([c for c in built if c.libc.family == "musl" and c.scenario == SEED])


def _musl_answer(seeds: list[Cell]) -> str:
    if not seeds:
        return ""
    versions = sorted({str(c.libc.version) for c in seeds}, key=version_key)
    return f" On musl {', '.join(versions)} " + (
        "every version survives, because musl's dlclose() never unmaps."
        if all(c.outcome == "pass" for c in seeds)
        else "not every version survives the seed (see the musl columns)."
    )


SEED_FAMILIES = ("model", "LTTng-UST")  # the runtimes the seed is about: the model and the real one


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
        if c.scenario == SEED and c.family in SEED_FAMILIES and c.arch and c.outcome != "skipped"
    ]
    arches = Counter(c.arch for c in seeds)
    if len(arches) < 2:
        return []
    reference = arches.most_common(1)[0][0]
    lines = []
    for arch in sorted(arches, key=lambda a: (a != reference, a)):
        mine = [c for c in seeds if c.arch == arch]
        parts = []
        for family in ("glibc", "musl"):
            ran = [c for c in mine if c.libc.family == family]
            if ran:
                versions = sorted({str(c.libc.version) for c in ran}, key=version_key)
                parts.append(f"{family} {', '.join(versions)}: {_seed_results(ran)}")
        line = f"{arch}: " + ". ".join(parts) + "."
        if arch != reference:
            differs = _differences(mine, [c for c in seeds if c.arch == reference])
            line += f" Differs from {reference}: {'; '.join(differs)}." if differs else f" As on {reference}."
        lines.append(line)
    return lines


def _mapped(cell: Cell) -> bool | None:
    """Whether the runtime was still mapped after the provider's dlclose(), as the cell measured it."""
    for key in ("mapped_noload@after-close", "mapped@after-close"):
        if isinstance(cell.evidence.get(key), bool):
            return bool(cell.evidence[key])
    return None


def _span(versions: list[str]) -> str:
    ordered = sorted(set(versions), key=version_key)
    return ordered[0] if len(ordered) == 1 else f"{ordered[0]} to {ordered[-1]}"


def seed_subject(cells: list[Cell]) -> tuple[str, list[Cell]]:
    """What the seed is about, and its cells that ran: LTTng-UST built from upstream source, or
    the model runtimes when the run has no such build."""
    built = source_built(cells)
    if any(c.libc.family == "glibc" for c in built):
        return "LTTng-UST", built
    return "The model runtimes", [c for c in cells if c.family == "model" and c.outcome != "skipped"]


def crashing_and_surviving(cells: list[Cell]) -> tuple[list[str], list[str]]:
    """The runtimes that crashed in some scenario, and those that never did."""
    runtimes = list(dict.fromkeys(c.runtime for c in cells))
    crashers = [r for r in runtimes if any(c.runtime == r and c.outcome == "crash" for c in cells)]
    return crashers, [r for r in runtimes if r not in crashers]


def seed_sentence(cells: list[Cell]) -> str | None:
    """The page's first sentence: which LTTng-UST builds crash after dlclose() on which C libraries,
    which survive, and why, as the cells measured it (mapped or not after the close). Without
    LTTng-UST built from source in the run, the same for the model runtimes."""
    subject, built = seed_subject(cells)
    glibc = [c for c in built if c.libc.family == "glibc"]
    if not glibc:
        return None
    crashed = [c for c in glibc if c.outcome == "crash"]
    crashers, survivors = crashing_and_surviving(glibc)
    said = []
    if crashers:
        where = _span([str(c.libc.version) for c in crashed])
        why = (
            ", the runtime unmapped while its threads run"
            if any(_mapped(c) is False for c in crashed)
            else ""
        )
        said.append(f"{they(crashers, 'crashes', 'crash')} on glibc {where}{why}")
    if survivors:
        kept = [c for c in glibc if c.runtime in survivors and c.scenario == SEED]
        why = ", the runtime kept mapped" if kept and all(_mapped(c) for c in kept) else ""
        said.append(f"{they(survivors, 'never crashes', 'never crash')} there{why}")
    musl = [c for c in built if c.libc.family == "musl"]
    if musl:
        versions = _span([str(c.libc.version) for c in musl])
        if all(c.outcome != "crash" for c in musl):
            said.append(f"on musl {versions} every version survives, because musl's dlclose() never unmaps")
        else:
            said.append(f"on musl {versions} some crash too (see the musl columns)")
    return f"{subject} after dlclose(): " + "; ".join(said) + "."
