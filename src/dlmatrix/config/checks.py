"""Checks across the files of matrix/ that a schema cannot make: unique names, globs that match,
steps that need one another, templates that exist, rules that say one line."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase
from pathlib import Path

from dlmatrix.config.schemas import TEMPLATES
from dlmatrix.errors import ConfigError
from dlmatrix.model.catalog import Image, Scenario
from dlmatrix.model.expectations import Rule


def unique(label: str, key: str, names: Iterable[str]) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise ConfigError(label, f"{key}[{index}].name", f"{name!r} is declared twice", "unique names")
        seen.add(name)


def check_globs(
    rules: Sequence[Rule],
    scenarios: Sequence[str],
    runtimes: Sequence[str],
    label: str = "matrix/expectations.yaml",
) -> None:
    """A rule that matches nothing is a typo that would silently never apply."""
    for index, rule in enumerate(rules):
        for key, pattern, names in (
            ("scenario", rule.scenario, scenarios),
            ("runtime", rule.runtime, runtimes),
        ):
            if not any(fnmatchcase(name, pattern) for name in names):
                raise ConfigError(
                    label,
                    f"expectations[{index}].{key}",
                    f"{pattern!r} matches no declared {key}",
                    ", ".join(names),
                )


def check_steps(scenarios: Sequence[Scenario], label: str = "matrix/scenarios.yaml") -> None:
    for index, scenario in enumerate(scenarios):
        if any(step == "bounded" for step in scenario.steps) and not any(
            step.startswith("cycles:") for step in scenario.steps
        ):
            raise ConfigError(
                label,
                f"scenarios[{index}].steps",
                "'bounded' needs a cycles:N:P step before it",
            )


def check_templates(root: Path, images: Sequence[Image], label: str = "matrix/images.yaml") -> None:
    available = sorted(
        p.name.removesuffix(".Dockerfile.j2") for p in (root / TEMPLATES).glob("*.Dockerfile.j2")
    )
    for index, image in enumerate(images):
        if image.template not in available:
            raise ConfigError(
                label,
                f"images[{index}].template",
                f"no template {TEMPLATES}/{image.template}.Dockerfile.j2",
                ", ".join(available),
            )


def check_rules(rules: Sequence[Rule], label: str = "matrix/expectations.yaml") -> None:
    for index, rule in enumerate(rules):
        if rule.otherwise != "pass" and not rule.racy:
            raise ConfigError(
                label,
                f"expectations[{index}].otherwise",
                "only a racy rule has attempts that end otherwise",
                "racy: true, or no otherwise",
            )
        if rule.rate is not None and not (rule.racy and rule.rate[0] <= rule.rate[1]):
            raise ConfigError(
                label,
                f"expectations[{index}].rate",
                "a rate bounds a racy outcome's share of the attempts, low to high",
                "racy: true and rate: [LOW, HIGH] with LOW <= HIGH, fractions from 0 to 1",
            )
        if re.search(r"[\t\n]", rule.reason):
            raise ConfigError(
                label,
                f"expectations[{index}].reason",
                "contains a tab or newline",
                "one line of text",
            )
