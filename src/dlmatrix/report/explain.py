"""One cell told in full: its expectation, outcome, the runtime's ELF facts, evidence and the
loader's account (`dlmatrix explain`; the report's cell panel shows the same sections)."""

from __future__ import annotations

from typing import Any

from dlmatrix.errors import DlmatrixError
from dlmatrix.model.cells import Cell
from dlmatrix.model.outcomes import RACY_MIN_ATTEMPTS
from dlmatrix.model.selector import Selector
from dlmatrix.suite.loader import soname_stem

ELF_WORDS = {  # the ELF facts shown apart from the other evidence, in this order, as named here
    "elf_soname": "soname",
    "package": "package",
    "elf_nodelete": "DF_1_NODELETE",
    "elf_static_tls": "STATIC_TLS",
    "elf_bind_now": "BIND_NOW",
    "elf_gnu_unique": "GNU_UNIQUE symbols",
}
ELF_KEYS = tuple(ELF_WORDS)


def find_cells(cells: list[Cell], spec: str) -> list[Cell]:
    """IMAGE/SCENARIO/RUNTIME, each part a glob."""
    parts = spec.split("/")
    if len(parts) != 3 or not all(parts):
        raise DlmatrixError(
            f"{spec!r} does not name a cell",
            "write IMAGE/SCENARIO/RUNTIME (globs allowed), e.g. "
            "debian-bookworm-glibc/app-dlopen-dlclose/libgomp",
        )
    image, scenario, runtime = parts
    chosen = Selector.of(scenario, runtime, image)
    found = [c for c in cells if chosen.covers(c.image, c.scenario, c.runtime)]
    if not found:
        raise DlmatrixError(
            f"no cell of these results matches {spec!r}",
            "`dlmatrix show DIR` lists the cells; mind the order IMAGE/SCENARIO/RUNTIME",
        )
    return found


def elf_facts(evidence: dict[str, Any]) -> list[tuple[str, str]]:
    return [(ELF_WORDS[key], _text(evidence[key])) for key in ELF_KEYS if key in evidence]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "null" if value is None else str(value)


def conditions(cell: Cell) -> list[str]:
    """What the rule asks beyond the outcome: a race's other end and rate, the evidence to show."""
    said = []
    if cell.racy:
        rate = f", in {cell.rate[0]:.0%} to {cell.rate[1]:.0%} of them" if cell.rate else ""
        some = f"in some of at least {RACY_MIN_ATTEMPTS} attempts"
        said.append(f"racy: {cell.expected} {some}{rate}, the others {cell.otherwise}")
    said += [f"evidence wanted: {key} {_text(value)}" for key, value in cell.conditions.items()]
    return said


def sections(cell: Cell) -> list[tuple[str, list[str]]]:
    """The cell as (heading, lines), shared by the terminal and the report."""
    libc = f"{cell.libc.family} {cell.libc.version or '?'}"
    attempts = ", ".join(a.result for a in cell.attempts)
    evidence = [f"{k}: {_text(v)}" for k, v in cell.evidence.items() if k not in ELF_KEYS]
    said = [
        (
            "cell",
            [
                f"{cell.image} ({libc}), scenario {cell.scenario}, "
                f"runtime {cell.runtime} ({cell.family or '?'})"
            ],
        ),
        ("expected", [f"{cell.expected or 'nothing declared'}: {cell.reason}", *conditions(cell)]),
        ("outcome", [f"{cell.words} (verdict {cell.verdict}); attempts: {attempts}"]),
        (
            "runtime library",
            [f"{name}: {value}" for name, value in elf_facts(cell.evidence)] or ["no ELF facts"],
        ),
        ("loader", story(cell.loader, cell.evidence, cell.libc.family)),
        ("evidence", evidence or ["none"]),
    ]
    if cell.stderr.strip():
        said.append(("stderr", cell.stderr.strip().splitlines()[-12:]))
    return said


def explain_text(cell: Cell) -> str:
    out = []
    for heading, lines in sections(cell):
        out.append(f"{heading}:")
        out.extend(f"  {line}" for line in lines)
    return "\n".join(out)


def _fate(steps: list[dict[str, Any]], stem: str) -> str:
    """Whether the runtime was unmapped. glibc logs "destroying link map" only after the munmap,
    so a thread that faults in that window kills the process first; a finalizer a dlclose() ran
    still shows it was being unloaded (NODELETE objects are never finalized by dlclose())."""
    ours = [s for s in steps if s["step"] != "exit"]
    gone = [s["step"] for s in ours if any(d.startswith(stem) for d in s["destroyed"])]
    if gone:
        return f"unmapped at {', '.join(gone)}"
    finalized = [s["step"] for s in ours if any(f.startswith(stem) for f in s["fini"])]
    if finalized:
        return (
            f"finalized for unloading at {', '.join(finalized)}; the process died before the"
            " loader logged the unmapping (glibc logs it after munmap)"
        )
    return "never unmapped while the program ran"


def story(loader: dict[str, Any] | None, evidence: dict[str, Any], family: str) -> list[str]:
    """The account in sentences, for `dlmatrix explain` and the report's cell panel."""
    soname = str(evidence.get("elf_soname") or "")
    if loader is None:
        if family != "musl":
            return ["no loader account (LD_DEBUG output missing: the cell did not run, or ran elsewhere)"]
        after = {k: v for k, v in evidence.items() if k.startswith("mapped@")}
        shown = ", ".join(f"{k} {str(v).lower()}" for k, v in after.items()) or "no check ran"
        return [
            f"musl: dlclose() unloads nothing (it only drops the handle); the runtime's evidence: {shown}"
        ]
    lines = []
    for step in loader["steps"]:
        if step["destroyed"]:
            fini = ", ".join(step["fini"]) or "none"
            said = f"{step['step']}: fini {fini}; unmapped {', '.join(step['destroyed'])}"
        else:
            said = f"{step['step']}: nothing unmapped" + (
                f" (fini {', '.join(step['fini'])})" if step["fini"] else ""
            )
        lines.append(said)
    for mark in loader["nodelete"]:
        lines.append(f"NODELETE at {mark['step']}: {mark['object']} ({mark['cause']})")
    if soname:
        lines.append(f"{soname}: {_fate(loader['steps'], soname_stem(soname))}")
    if loader.get("truncated"):
        lines.append("(the loader's log was longer than dlm-suite keeps: later steps are missing)")
    if loader["other_processes"]:
        lines.append(f"({loader['other_processes']} lines of forked children left out)")
    return lines or ["the loader reported no dlclose()"]
