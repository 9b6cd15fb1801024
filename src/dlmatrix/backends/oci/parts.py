"""Where a run's time went, per image: providing its base, building it, running its suite
(results.json run.parts; `dlmatrix bench --cold` sums them, cli/bench_cold.py). A warm run's parts
are its suites; a cold one's, mostly bases and builds."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

PARTS = ("base", "build", "suite")


class Parts:
    def __init__(self) -> None:
        self._seconds: dict[str, dict[str, float]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def timed(self, image: str, part: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                self._seconds.setdefault(image, {})[part] = round(time.monotonic() - started, 1)

    def record(self) -> dict[str, dict[str, float]]:
        """image -> {part: seconds}, the parts it went through."""
        with self._lock:
            return {image: dict(parts) for image, parts in sorted(self._seconds.items())}


def totals(parts: dict[str, dict[str, float]]) -> dict[str, float]:
    """Seconds per part over the images (summed: images overlap, so more than the wall time)."""
    return {part: round(sum(p.get(part, 0.0) for p in parts.values()), 1) for part in PARTS}
