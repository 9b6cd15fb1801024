"""Files as every wing sees them: a file's sha256, and where dlmatrix keeps what it generates or
fetches for the user ($XDG_CACHE_HOME/dlmatrix)."""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path


def sha256_of(path: Path) -> str:
    """Remembered per file version: a run checks each snapshot or archive once, not once per image."""
    stat = path.stat()
    return _sha256(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=1 << 16)  # every file of the staged trees, hashed once per run, not per image
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def user_cache() -> Path:
    """$XDG_CACHE_HOME/dlmatrix (~/.cache/dlmatrix): snapshots, rendered Dockerfiles outside a checkout."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dlmatrix"
