"""Cells: one runtime in one scenario in one environment, judged against its expectation, and
the set of them that a run produces."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dlmatrix.model.catalog import Matrix, Runtime, Scenario
from dlmatrix.model.expectations import expect
from dlmatrix.model.libc import Libc
from dlmatrix.model.outcomes import FAILING_VERDICTS, Outcome, OutcomeKind, Verdict, representative, verdict

Lane = int | str | None  # how a serial group's attempt ran: its lane's uid, or "serial" (it took turns)


@dataclass
class Attempt:
    result: str
    duration_s: float
    lane: Lane = None  # None: its runtime declares no serial group (or older results)


@dataclass
class Cell:
    image: str
    libc: Libc
    compiler: str | None
    runtime: str
    scenario: str
    outcome: OutcomeKind
    signal: str | None
    exit_code: int | None
    duration_s: float
    expected: str | None
    reason: str
    verdict: Verdict
    evidence: dict[str, Any]
    attempts: list[Attempt]
    stdout: str = ""
    stderr: str = ""
    racy: bool = False  # the expectation allows passing attempts: the attempts give the rate
    family: str = ""  # the runtime's family, how the report groups it (model, LTTng-UST, library)
    loader: dict[str, Any] | None = None  # glibc's account of the dlclose()s (dlmatrix.suite.loader)
    engine: str = ""  # the engine that ran it, as --engine named it; "host" on the host backend
    arch: str = ""  # Debian's name of the architecture dlm-suite was compiled for (declared, if it never ran)
    emulated: bool = False  # it ran under emulation (qemu-user): timeouts scaled, rules for emulation
    otherwise: str = "pass"  # how a racy rule's other attempts end
    rate: list[float] | None = None  # a racy rule's bounds on its outcome's share of the attempts
    conditions: dict[str, Any] = field(default_factory=dict)  # the evidence the rule wants of an ok cell

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.image, self.scenario, self.runtime)

    @property
    def result(self) -> str:
        return str(Outcome(self.outcome, self.signal, self.exit_code))

    @property
    def crash_rate(self) -> tuple[int, int]:
        """Attempts that crashed, of all attempts: a race's rate."""
        return sum(a.result.startswith("crash") for a in self.attempts), len(self.attempts)

    @property
    def words(self) -> str:
        """The outcome for people: "crash SIGSEGV", "exit 3", "pass"."""
        if self.outcome == "crash":
            return f"crash {self.signal}"
        return f"exit {self.exit_code}" if self.outcome == "exit" else self.outcome


@dataclass
class Environment:
    """Where one suite ran: an image or a host C library, as read inside it."""

    image: str
    libc: Libc  # declared (images.yaml, hosts.yaml) until the suite reads the version
    compiler: str | None
    kernel: str | None = None
    arch: str = ""  # as dlm-suite reports it; declared (images.yaml or the host's) until it runs
    emulated: bool = False  # runs under qemu-user on this machine (dlmatrix.backends.platform)


@dataclass
class ResultSet:
    run: dict[str, Any]
    cells: list[Cell] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return dict(Counter(cell.verdict for cell in self.cells))

    def failing(self) -> list[Cell]:
        return [cell for cell in self.cells if cell.verdict in FAILING_VERDICTS]


def judged_cell(
    matrix: Matrix,
    env: Environment,
    scenario: str,
    runtime: str,
    results: Sequence[str],
    durations: Sequence[float],
    evidence: dict[str, Any] | None = None,
    stdout: str = "",
    stderr: str = "",
    loader: dict[str, Any] | None = None,
    lanes: Sequence[Lane] = (),
) -> Cell:
    """A cell classified against matrix/expectations.yaml from its attempts' results (and, for a
    serial group's attempts, the lanes they ran in, as dlm-suite reports them)."""
    expectation = expect(
        matrix.rules, scenario, runtime, env.libc.family, env.libc.version, env.arch, env.emulated, env.image
    )
    shown = representative(expectation.outcome, results, expectation.racy, expectation.otherwise)
    outcome = Outcome.parse(results[shown])
    judged = verdict(expectation.outcome, results, expectation.racy, expectation.otherwise, expectation.rate)
    if judged == "ok" and expectation.missing_evidence(evidence or {}):
        judged = "unexpected"  # the outcome declared, but not for the reason the rule gives
    return Cell(
        image=env.image,
        libc=env.libc,
        compiler=env.compiler,
        runtime=runtime,
        scenario=scenario,
        outcome=outcome.kind,
        signal=outcome.signal,
        exit_code=outcome.exit_code,
        duration_s=round(durations[shown], 4),
        expected=expectation.outcome,
        reason=expectation.reason,
        verdict=judged,
        evidence=evidence or {},
        attempts=[
            Attempt(r, round(d, 4), lanes[i] if i < len(lanes) else None)
            for i, (r, d) in enumerate(zip(results, durations, strict=True))
        ],
        stdout=stdout,
        stderr=stderr,
        racy=expectation.racy,
        family=next((r.family for r in matrix.runtimes if r.name == runtime), ""),
        loader=loader,
        arch=env.arch,
        emulated=env.emulated,
        otherwise=expectation.otherwise,
        rate=list(expectation.rate) if expectation.rate else None,
        conditions=dict(expectation.evidence),
    )


def uniform_cells(
    matrix: Matrix,
    env: Environment,
    result: str,
    message: str,
    pairs: Iterable[tuple[Scenario, Runtime]],
    done: Iterable[Cell] = (),
) -> list[Cell]:
    """Cells of pairs (the selected ones) not in done, all with one result (build-error, skipped,
    error) and message."""
    have = {(cell.scenario, cell.runtime) for cell in done}
    return [
        judged_cell(matrix, env, s.name, r.name, [result], [0.0], stderr=message)
        for s, r in pairs
        if (s.name, r.name) not in have
    ]
