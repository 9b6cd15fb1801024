"""What a cell did (its outcome) and whether that matches what was declared (its verdict)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, cast, get_args

OUTCOME_PATTERN = r"^(pass|timeout|build-error|error|skipped|crash:SIG[A-Z0-9]+|exit:[0-9]{1,3})$"
OUTCOME_HELP = "pass, crash:SIGNAME (e.g. crash:SIGSEGV), exit:N, timeout, build-error, error, skipped"
OutcomeKind = Literal["pass", "crash", "exit", "timeout", "build-error", "error", "skipped"]
OUTCOME_KINDS: tuple[OutcomeKind, ...] = get_args(OutcomeKind)

Verdict = Literal["ok", "unexpected", "flaky", "not-reproduced", "skipped", "not-run"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
FAILING_VERDICTS: tuple[Verdict, ...] = ("unexpected", "flaky")
# Not ok and not failing: a race that did not happen, a cell expected to run that could not run here.
UNMET_VERDICTS: tuple[Verdict, ...] = ("not-reproduced", "not-run")
NOT_RAN: tuple[Verdict, ...] = ("skipped", "not-run")  # verdicts of cells whose scenario did not run
UNRUN_RESULTS = ("build-error", "error")  # results of a cell whose scenario never started
RACY_MIN_ATTEMPTS = 5  # a racy rule is met only by a cell given at least this many attempts


@dataclass(frozen=True)
class Outcome:
    """pass | crash with a signal | exit with a code | timeout | build-error | error | skipped."""

    kind: OutcomeKind
    signal: str | None = None
    exit_code: int | None = None

    @classmethod
    def parse(cls, text: str) -> Outcome:
        if not re.match(OUTCOME_PATTERN, text):
            raise ValueError(f"{text!r} is not an outcome; allowed: {OUTCOME_HELP}")
        word, _, detail = text.partition(":")
        kind = cast(OutcomeKind, word)  # the pattern allows only the kinds
        if kind == "crash":
            return cls(kind, signal=detail)
        if kind == "exit":
            return cls(kind, exit_code=int(detail))
        return cls(kind)

    def __str__(self) -> str:
        if self.kind == "crash":
            return f"crash:{self.signal}"
        if self.kind == "exit":
            return f"exit:{self.exit_code}"
        return self.kind


def verdict(
    expected: str | None,
    results: Sequence[str],
    racy: bool = False,
    otherwise: str = "pass",
    rate: tuple[float, float] | None = None,
) -> Verdict:
    """What the attempts say of the expectation.

    A cell none of whose attempts ran is `skipped` when its rule says so (not applicable) and
    `not-run` otherwise; a declared build-error or harness error is `not-run` too, an undeclared
    one `unexpected`: no cell is ok without running its scenario. A racy expectation (an outcome that happens
    in some attempts only, the others ending `otherwise`) is met when it appeared in at least one of
    at least RACY_MIN_ATTEMPTS attempts, at a rate within `rate` where the rule bounds it; when every
    attempt ended `otherwise`, the race was `not-reproduced`.
    """
    if not results:
        raise ValueError("a verdict needs at least one attempt")
    if all(result == "skipped" for result in results):
        return "skipped" if expected == "skipped" else "not-run"
    if len(set(results)) == 1 and results[0] in UNRUN_RESULTS:
        return "not-run" if results[0] == expected else "unexpected"
    if racy and expected is not None and set(results) <= {expected, otherwise}:
        return racy_verdict(results.count(expected), len(results), rate)
    if len(set(results)) > 1:
        return "flaky"
    return "ok" if results[0] == expected else "unexpected"


def racy_verdict(hits: int, attempts: int, rate: tuple[float, float] | None) -> Verdict:
    """A race's verdict from its hits: seen often enough, at the declared rate, or not reproduced."""
    if hits == 0 or attempts < RACY_MIN_ATTEMPTS:
        return "not-reproduced"
    if rate is not None and not rate[0] <= hits / attempts <= rate[1]:
        return "unexpected"
    return "ok"


def representative(
    expected: str | None, results: Sequence[str], racy: bool = False, otherwise: str = "pass"
) -> int:
    """Index of the attempt a cell shows: the first that missed, else the first.

    For a racy expectation, passes do not miss: the first attempt that hit it is shown.
    """
    allowed = {expected, otherwise} if racy else {expected}
    missed = next((i for i, result in enumerate(results) if result not in allowed), None)
    if missed is not None:
        return missed
    return next((i for i, result in enumerate(results) if result == expected), 0)
