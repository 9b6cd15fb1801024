"""Declared expectations: the first rule matching scenario, runtime, C library and architecture wins.

src/c/suite/expectations.c implements the same matching for runs without Python; the
native tests check that both agree on every cell.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

VERSION_RANGE_PATTERN = r"^(\*|(==|>=|<=|>|<)?[0-9]+(\.[0-9]+)*(\s*,\s*(==|>=|<=|>|<)?[0-9]+(\.[0-9]+)*)*)$"


@dataclass(frozen=True)
class Rule:
    scenario: str
    runtime: str
    libc: str
    versions: str
    outcome: str
    reason: str
    racy: bool = False  # the outcome happens in some attempts only; the others end otherwise
    otherwise: str = "pass"
    arch: str = "*"  # a glob of Debian architecture names (the one dlm-suite was compiled for)
    emulated: bool | None = None  # only under emulation (True), only natively (False), either (None)

    def applies(self, emulated: bool) -> bool:
        return self.emulated is None or self.emulated == emulated


@dataclass(frozen=True)
class Expectation:
    outcome: str | None
    reason: str
    racy: bool = False
    otherwise: str = "pass"


NO_EXPECTATION = Expectation(
    None, "no expectation rule matches this cell (matrix/expectations.yaml, or the runtime plug-in's own)"
)


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def version_in(versions: str, version: str | None) -> bool:
    """Whether version lies in a range like ">=2.31,<2.40"; an unknown version only fits "*"."""
    if versions.strip() == "*":
        return True
    if version is None:
        return False
    actual = version_key(version)
    for clause in versions.split(","):
        match = re.match(r"\s*(==|>=|<=|>|<)?\s*([0-9.]+)\s*$", clause)
        if not match:
            raise ValueError(f"bad version clause {clause!r}")
        op, bound = match.group(1) or "==", version_key(match.group(2))
        holds = {
            "==": actual == bound,
            ">=": actual >= bound,
            "<=": actual <= bound,
            ">": actual > bound,
            "<": actual < bound,
        }[op]
        if not holds:
            return False
    return True


def expect(
    rules: Sequence[Rule],
    scenario: str,
    runtime: str,
    family: str,
    version: str | None,
    arch: str = "",
    emulated: bool = False,
) -> Expectation:
    """arch "" (unknown: a result from before the architecture axis) matches only rules for "*"."""
    for rule in rules:
        if rule.applies(emulated) and (
            fnmatchcase(scenario, rule.scenario)
            and fnmatchcase(runtime, rule.runtime)
            and rule.libc in ("*", family)
            and version_in(rule.versions, version)
            and (rule.arch == "*" or fnmatchcase(arch, rule.arch))
        ):
            return Expectation(rule.outcome, rule.reason, rule.racy, rule.otherwise)
    return NO_EXPECTATION
