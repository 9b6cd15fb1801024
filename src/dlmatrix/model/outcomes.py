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

Verdict = Literal["ok", "unexpected", "flaky", "skipped"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
FAILING_VERDICTS: tuple[Verdict, ...] = ("unexpected", "flaky")


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
    expected: str | None, results: Sequence[str], racy: bool = False, otherwise: str = "pass"
) -> Verdict:
    """ok when every attempt matched the expectation, flaky when attempts disagree.

    A racy expectation (a crash that happens in some attempts only) is met when every
    attempt either matched it or ended the other way (otherwise: a pass, unless the rule says
    another outcome); the cell's attempts then give the rate.
    """
    if not results:
        raise ValueError("a verdict needs at least one attempt")
    if racy and expected is not None and set(results) <= {expected, otherwise}:
        return "ok"
    if len(set(results)) > 1:
        return "flaky"
    if results[0] == "skipped":
        return "skipped"
    return "ok" if results[0] == expected else "unexpected"


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
