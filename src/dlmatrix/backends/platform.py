"""Whether an image's architecture runs on this machine: natively (i386 on an x86-64 kernel),
under qemu-user through binfmt_misc, or not at all (and what to do about it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dlmatrix.model.arches import host_arch, image_arch
from dlmatrix.model.catalog import Architecture, Image, Matrix

BINFMT = Path("/proc/sys/fs/binfmt_misc")
SETUP_HINT = (
    "install Debian's qemu-user-static and register its binfmt_misc handlers (as root: "
    "`bash .ci/binfmt`, which mounts binfmt_misc when it is not mounted), or leave this "
    "architecture out: --skip-arch"
)


@dataclass(frozen=True)
class Runs:
    """How an image's architecture runs on this machine: natively, emulated, or not (why)."""

    arch: str
    how: str  # native | emulated | unavailable
    why: str = ""

    @property
    def emulated(self) -> bool:
        return self.how == "emulated"


def handler_enabled(qemu: str, binfmt: Path = BINFMT) -> bool:
    entry = binfmt / f"qemu-{qemu}"
    try:
        return entry.read_text().splitlines()[0].strip() == "enabled"
    except (OSError, IndexError):
        return False


def runs_here(matrix: Matrix, image: Image, binfmt: Path = BINFMT) -> Runs:
    """Only this machine's kernel is asked: a remote engine's host may differ (its build then
    fails with "exec format error", which the build log shows)."""
    host = host_arch(matrix)
    arch = image_arch(matrix, image)
    if arch == host:
        return Runs(arch, "native")
    declared: Architecture = matrix.architecture(arch)
    if host in declared.native_on:
        return Runs(arch, "native")
    if handler_enabled(declared.qemu, binfmt):
        return Runs(arch, "emulated")
    mounted = (binfmt / "register").exists()
    missing = f"no binfmt_misc handler qemu-{declared.qemu} is registered" + (
        "" if mounted else f" ({binfmt} is not mounted)"
    )
    return Runs(
        arch, "unavailable", f"{image.name} is {arch} and this {host} machine cannot run it: {missing}"
    )


def timeout_factor(matrix: Matrix, runs: Runs) -> float:
    return matrix.architecture(runs.arch).timeout_factor if runs.emulated else 1.0


def skipped_under_emulation(matrix: Matrix, image: Image, runs: Runs) -> set[str]:
    """The runtimes an image does not build and run here, because it runs emulated: those of
    emulated.skip_runtimes that its architecture's cross toolchain does not build (cross_runtimes)."""
    if not runs.emulated:
        return set()
    return {n for n in matrix.emulated.names(matrix.runtimes) if not matrix.cross_builds(image, n)}
