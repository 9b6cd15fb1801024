"""Which engine builds and runs each image, when a run has several: longest first, balanced."""

from __future__ import annotations

from collections.abc import Sequence

from dlmatrix.backends.oci.engine import Engine


def place(names: Sequence[str], seconds: dict[str, float], engines: Sequence[Engine]) -> dict[str, Engine]:
    """Longest first, each image to the engine with the least work so far (ties: the first named)."""
    load = [0.0] * len(engines)
    placed = {}
    for name in sorted(names, key=lambda n: (-seconds.get(n, 0.0), n)):
        least = min(range(len(engines)), key=lambda i: (load[i], i))
        placed[name] = engines[least]
        load[least] += seconds.get(name, 0.0) or 1.0
    return placed
