"""The output directory of a run: checked writable and locked before any work, and written at
once at the end (each file under a temporary name, then renamed), so that a fault leaves either
the previous results or the new ones, never a mix."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from dlmatrix.errors import DlmatrixError
from dlmatrix.interrupts import shielded
from dlmatrix.model.catalog import OUTPUT_LOCK

LOCK = OUTPUT_LOCK
PARTIAL = "results.partial.json"


class OutputDir:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock: int | None = None

    def __enter__(self) -> OutputDir:
        self.open()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def open(self) -> None:
        """Creates the directory if need be and takes its lock; a second run into it is refused."""
        lock = self.path / LOCK
        try:
            if self.path.exists() and not self.path.is_dir():
                raise DlmatrixError(f"--out {self.path} is a file, not a directory", "choose a directory")
            self.path.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise DlmatrixError(
                f"cannot write to --out {self.path}: {error.strerror}",
                "choose a writable directory, or fix its permissions",
            ) from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(descriptor, 32).decode(errors="replace").strip() or "?"
            os.close(descriptor)
            raise DlmatrixError(
                f"another dlmatrix run (pid {holder}) is writing to {self.path}",
                "wait for it to finish, or give this run another --out",
            ) from None
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        self._lock = descriptor

    def close(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                (self.path / LOCK).unlink()
            os.close(self._lock)
            self._lock = None

    def write(self, files: Mapping[str, str | bytes], remove: tuple[str, ...] = ()) -> list[Path]:
        """Writes every file or none: all go to temporary names first, then each is renamed over
        its old version. remove: files made stale by these (removed after the renames)."""
        staged: list[tuple[Path, Path]] = []
        complete = False
        try:
            for name, content in files.items():
                final = self.path / name
                temporary = final.with_name(f".{final.name}.{os.getpid()}.tmp")
                final.parent.mkdir(parents=True, exist_ok=True)
                staged.append((temporary, final))
                data = content.encode() if isinstance(content, str) else content
                with temporary.open("wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
            complete = True
        except OSError as error:
            raise DlmatrixError(
                f"cannot write the results to {self.path}: {error.strerror}; nothing there was changed",
                "free space or fix the permissions, then run again",
            ) from None
        finally:
            if not complete:  # a failure or a signal: no temporary file stays behind
                for temporary, _ in staged:
                    temporary.unlink(missing_ok=True)
        with shielded(deliver=True):  # the renames take microseconds: a signal waits for the last
            for temporary, final in staged:
                os.replace(temporary, final)
            for name in remove:
                (self.path / name).unlink(missing_ok=True)
        return [final for _, final in staged]
