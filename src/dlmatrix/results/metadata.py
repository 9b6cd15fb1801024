"""What results.json records of a run besides its cells: the tool, commit, host, backend, engines,
the selection and the runtimes (run.* in docs/results.md)."""

from __future__ import annotations

import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dlmatrix import __version__
from dlmatrix.config.root import installed
from dlmatrix.model.catalog import Matrix


def git_commit(root: Path) -> str | None:
    """The checkout's commit; an installed catalog has none (site-packages may sit in some other
    repository, whose commit says nothing of this catalog)."""
    if installed(root):
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return None
    return out.stdout.strip() or None


def run_metadata(
    matrix: Matrix,
    started: datetime,
    backend: str,
    repeat: int,
    docker_version: str | None = None,
    selection: dict[str, Any] | None = None,
    engines: list[dict[str, str]] | None = None,
    images: dict[str, str] | None = None,
    parts: dict[str, dict[str, float]] | None = None,
) -> dict[str, Any]:
    return {
        "docker_version": docker_version,
        "tool": "dlmatrix",
        "tool_version": __version__,
        "git_commit": git_commit(matrix.root),
        "host": platform.node(),
        "kernel": platform.release(),
        "backend": backend,
        "repeat": repeat,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "selection": selection or {"image": "*", "scenario": "*", "runtime": "*"},
        **({"engines": engines} if engines else {}),
        **({"images": images} if images else {}),  # image name -> the tag it ran as
        **({"parts": parts} if parts else {}),  # image name -> seconds of its base, build and suite
        "runtimes": {
            r.name: {"family": r.family, "description": r.description}
            | ({"starts": r.plugin.starts} if r.plugin else {})
            for r in matrix.runtimes
        },
    }
