"""Declared expectations: the first rule matching scenario, runtime, C library and architecture wins.

src/c/suite/expectations.c implements the same matching for runs without Python; the
native tests check that both agree on every cell.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

Scalar = bool | int | float | str | None  # an evidence value, as results.json records it

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
    image: str = "*"  # globs of image names (matrix/images.yaml) or hosts', comma-separated
    evidence: tuple[tuple[str, Scalar], ...] = ()  # what an ok cell must show, key by key
    rate: tuple[float, float] | None = None  # a racy outcome's share of the attempts, bounds included

    def applies(self, emulated: bool, image: str | None = None) -> bool:
        """Whether the rule can match in an environment; image None: any (the rules of a catalog)."""
        here = image is None or any(fnmatchcase(image, glob) for glob in self.image.split(","))
        return here and (self.emulated is None or self.emulated == emulated)

    @property
    def expectation(self) -> Expectation:
        return Expectation(self.outcome, self.reason, self.racy, self.otherwise, self.evidence, self.rate)


@dataclass(frozen=True)
class Expectation:
    outcome: str | None
    reason: str
    racy: bool = False
    otherwise: str = "pass"
    evidence: tuple[tuple[str, Scalar], ...] = ()
    rate: tuple[float, float] | None = None

    def missing_evidence(self, evidence: Mapping[str, object]) -> list[str]:
        """The evidence conditions a cell's evidence does not show, as `key: wanted (shown)`."""
        return [
            f"{key}: {text_of(wanted)} ({'not recorded' if key not in evidence else text_of(evidence[key])})"
            for key, wanted in self.evidence
            if key not in evidence or text_of(evidence[key]) != text_of(wanted)
        ]


def text_of(value: object) -> str:
    """A value as the suite prints it (`@ key value`): true/false, numbers, bare strings."""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    return str(value)


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
    image: str | None = None,
) -> Expectation:
    """arch "" (unknown: a result from before the architecture axis) matches only rules for "*"."""
    for rule in rules:
        if rule.applies(emulated, image) and (
            fnmatchcase(scenario, rule.scenario)
            and fnmatchcase(runtime, rule.runtime)
            and rule.libc in ("*", family)
            and version_in(rule.versions, version)
            and (rule.arch == "*" or fnmatchcase(arch, rule.arch))
        ):
            return rule.expectation
    return NO_EXPECTATION
