"""Entries of matrix/ as typed values, once their file has passed its schema."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dlmatrix.errors import ConfigError
from dlmatrix.model.catalog import Architecture, Image, Patch, Runtime, Upstream
from dlmatrix.model.expectations import Rule
from dlmatrix.model.kinds import FAMILIES


def image_of(
    index: int, item: dict[str, Any], architectures: Sequence[Architecture], label: str = "matrix/images.yaml"
) -> Image:
    arch = next((a for a in architectures if a.name == item.get("arch")), None)
    if "arch" in item and arch is None:
        raise ConfigError(
            label,
            f"images[{index}].arch",
            f"{item['arch']!r} is not in matrix/architectures.yaml",
            ", ".join(a.name for a in architectures),
        )
    offline = item.get("offline", {})
    return Image(
        name=item["name"],
        template=item["template"],
        base=item["base"],
        libc=item["libc"],
        offline_suite=offline.get("suite"),
        libc_version=item.get("libc_version"),
        architecture=arch,
        offline_security=offline.get("security", True),
    )


def upstream_of(item: dict[str, Any]) -> Upstream:
    return Upstream(**{**item, "configure": tuple(item["configure"])})


def runtime_of(index: int, item: dict[str, Any]) -> Runtime:
    """A runtime entry; built from source exactly when it is of kind lttng-ust-source."""
    from_source = item["kind"] == "lttng-ust-source"
    if from_source != ("upstream" in item):
        raise ConfigError(
            "matrix/runtimes.yaml",
            f"runtimes[{index}].upstream",
            "required for kind lttng-ust-source"
            if from_source
            else "only kind lttng-ust-source is built from source",
            "repository, commit, version, snapshot, sha256, configure",
        )
    return Runtime(
        **{
            **item,
            "scenarios": tuple(item.get("scenarios", ["*"])),
            "upstream": upstream_of(item["upstream"]) if from_source else None,
            "patches": tuple(Patch(**patch) for patch in item.get("patches", [])),
            "family": FAMILIES[item["kind"]],
        }
    )


def rule_of(item: dict[str, Any]) -> Rule:
    """An expectation rule, from matrix/expectations.yaml or a plug-in's runtime.yaml."""
    return Rule(
        scenario=item["scenario"],
        runtime=item["runtime"],
        libc=item["libc"],
        versions=item.get("versions", "*"),
        outcome=item["outcome"],
        reason=item["reason"],
        racy=item.get("racy", False),
        otherwise=item.get("otherwise", "pass"),
        arch=item.get("arch", "*"),
        emulated=item.get("emulated"),
    )
