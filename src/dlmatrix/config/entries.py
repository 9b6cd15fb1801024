"""Entries of matrix/ as typed values, once their file has passed its schema."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dlmatrix.config.source import source_of
from dlmatrix.errors import ConfigError
from dlmatrix.model.catalog import Architecture, Dependency, Image, Runtime
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


RUNTIMES = "matrix/runtimes.yaml"


def runtime_of(index: int, item: dict[str, Any], root: Path) -> Runtime:
    """A runtime entry; built from source when it has a source (read as a plug-in's is, relative
    to matrix/)."""
    source = source_of(RUNTIMES, root / "matrix", item, f"runtimes[{index}].")
    if source is not None and item["kind"] == "model":
        raise ConfigError(
            RUNTIMES,
            f"runtimes[{index}].source",
            "kind model is built from src/c/runtime.c with its cflags and ldflags, not from a source",
            "a source for kind lttng-ust, or a runtime plug-in (docs/runtimes.md)",
        )
    return Runtime(
        **{
            **{k: v for k, v in item.items() if k != "build"},
            "scenarios": tuple(item.get("scenarios", ["*"])),
            "source": source,
            "family": FAMILIES[item["kind"]],
        }
    )


def dependency_of(index: int, item: dict[str, Any], root: Path) -> Dependency:
    """A library built from source before the runtimes that name it (build.depends)."""
    source = source_of(RUNTIMES, root / "matrix", item, f"dependencies[{index}].")
    assert source is not None  # the schema requires one
    if source.depends:
        raise ConfigError(
            RUNTIMES, f"dependencies[{index}].build.depends", "a dependency depends on nothing further"
        )
    return Dependency(item["name"], item["description"], source, tuple(item.get("libc", ["glibc", "musl"])))


def check_depends(runtimes: Sequence[Runtime], dependencies: Sequence[Dependency]) -> None:
    """Every build.depends names a dependency of matrix/runtimes.yaml; no dependency takes a
    runtime's name (each is built into a prefix, and a stage, of that name)."""
    known = [d.name for d in dependencies]
    for index, name in enumerate(known):
        if any(r.name == name for r in runtimes):
            raise ConfigError(
                RUNTIMES, f"dependencies[{index}].name", f"{name!r} is a runtime's name", "a name of its own"
            )
    for runtime in runtimes:
        for name in runtime.source.depends if runtime.source else ():
            if name not in known:
                raise ConfigError(
                    runtime.source.label if runtime.source and runtime.source.label else RUNTIMES,
                    f"{runtime.name}: build.depends",
                    f"{name!r} is not a dependency of {RUNTIMES}",
                    ", ".join(known) or "none is declared (dependencies: in matrix/runtimes.yaml)",
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
        image=item.get("image", "*"),
        evidence=tuple(item.get("evidence", {}).items()),
        rate=(item["rate"][0], item["rate"][1]) if "rate" in item else None,
    )
