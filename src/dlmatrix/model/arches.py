"""The architecture axis: this machine's architecture in Debian's names, each environment's
declared one, and which environments `--arch` / `--skip-arch` leave out."""

from __future__ import annotations

import platform
from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase

from dlmatrix.model.catalog import Image, Matrix

NATIVE = "native"  # --arch native: the architectures this machine runs without emulation


def host_arch(matrix: Matrix, machine: str | None = None) -> str:
    """Debian's name for this machine's architecture (uname -m x86_64 -> amd64)."""
    machine = machine or platform.machine()
    found = next((a.name for a in matrix.architectures if machine in a.machines), None)
    return found or machine


def image_arch(matrix: Matrix, image: Image) -> str:
    """The image's declared architecture: pinned, else the engine's own (this machine's)."""
    return image.arch or host_arch(matrix)


def native_arches(matrix: Matrix) -> set[str]:
    host = host_arch(matrix)
    return {host} | {a.name for a in matrix.architectures if host in a.native_on}


def environment_arches(matrix: Matrix) -> dict[str, str]:
    """Every environment's declared architecture: the images', and the hosts' (this machine's)."""
    arches = {image.name: image_arch(matrix, image) for image in matrix.images}
    return arches | {host.name: host_arch(matrix) for host in matrix.hosts}


def outside_arches(
    arches: Mapping[str, str], include: Sequence[str], exclude: Sequence[str], native: set[str]
) -> list[str]:
    """The environments --arch and --skip-arch leave out (globs; `native` names this machine's)."""

    def matches(arch: str, globs: Sequence[str]) -> bool:
        return any(arch in native if g == NATIVE else fnmatchcase(arch, g) for g in globs)

    return [
        name
        for name, arch in arches.items()
        if (include and not matches(arch, include)) or matches(arch, exclude)
    ]
