"""One sentence per runtime variant: where it survives, where it fails, and why."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from dlmatrix.model.cells import Cell
from dlmatrix.model.expectations import version_key
from dlmatrix.model.kinds import family_order
from dlmatrix.report.legend import NOT_RUN
from dlmatrix.report.seed import SEED
from dlmatrix.report.words import libc_versions
from dlmatrix.suite.loader import soname_stem


@dataclass(frozen=True)
class Finding:
    family: str
    versions: tuple[str, ...]
    ran: int  # cells with a result here (not skipped, not "not run")
    passed: int
    failures: tuple[tuple[str, int], ...]  # ("crash SIGSEGV", 10), ...
    unexpected: int
    why: str
    environments: int = 1  # images of these versions (an architecture each): ran counts their cells


@dataclass(frozen=True)
class Headline:
    runtime: str
    findings: tuple[Finding, ...]
    family: str = ""
    protection: str = ""  # as found in the seed's cells: ELF flags, the loader's account, threads
    crashes_on: tuple[str, ...] = ()  # "glibc 2.31, 2.36", ...: where some scenario crashed
    measured: bool = True  # some cell ran its scenario (not every one a build error or an error)

    def headline(self) -> str:
        """One sentence: the protection found and the C library versions where it crashes."""
        if not self.measured:
            return "Not measured here: no cell ran its scenario (build errors or harness errors)."
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
    seeds = [c for c in cells if c.scenario == SEED and c.libc.family == "glibc" and c.outcome not in NOT_RUN]
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
    if threads is None:  # a library whose threads are not counted (no listener evidence)
        return "none found: it is unmapped, which did not crash here"
    return f"none found: unmapped with {threads} thread(s) left, which did not crash here"


def _words(finding: Finding) -> str:
    where = f"{finding.family} {', '.join(finding.versions)}"
    if finding.ran == 0:
        return f"{where}: not run"
    # cells, not scenarios, once several environments share the versions (one per architecture)
    unit = "scenarios" if finding.environments == 1 else f"cells in {finding.environments} environments"
    if not finding.failures:
        said = f"{where}: passes all {finding.ran} {unit}"
    else:
        failed = ", ".join(f"{label} in {n}" for label, n in finding.failures)
        said = f"{where}: {failed} of {finding.ran} {unit}"
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
        if cell.verdict not in ("skipped", "not-run"):
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
        measured = any(c.outcome not in NOT_RUN for c in every)
        result.append(
            Headline(runtime, tuple(findings), every[0].family, protection(every), crashes_on, measured)
        )
    return result


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
        environments=len({c.image for c in cells}),
    )
