"""A C library as a cell records it: its family and, once the suite ran, its version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Libc:
    family: str  # glibc | musl (matrix/images.yaml), as dlm-suite reads it at run time
    version: str | None = None  # None until something ran there (a skipped image never reads it)

    def __str__(self) -> str:
        """ "glibc 2.36", or "glibc ?" where no version was read."""
        return f"{self.family} {self.version or '?'}"

    @classmethod
    def of(cls, recorded: dict[str, Any]) -> Libc:
        """From results.json's {"family": ..., "version": ...}."""
        return cls(str(recorded["family"]), recorded.get("version"))
