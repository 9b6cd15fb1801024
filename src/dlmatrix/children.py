"""The child processes of a run (docker CLI calls, builds, suites), so that a stop can end them all.

Each child gets its own session: a Ctrl-C at the terminal reaches dlmatrix alone, which then
stops its children itself, in order, instead of each of them reacting on its own.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from typing import IO, Any

GRACE_S = 5  # how long a child may take to clean up after SIGTERM


class Cancelled(Exception):
    """The run is stopping: no new child is started, and the ones running were killed."""


class Children:
    def __init__(self) -> None:
        self._running: set[subprocess.Popen[Any]] = set()
        self._lock = threading.Lock()
        self.cancelled = threading.Event()

    def popen(self, argv: Sequence[str], **options: Any) -> subprocess.Popen[Any]:
        with self._lock:
            if self.cancelled.is_set():
                raise Cancelled()
            process = subprocess.Popen(argv, start_new_session=True, **options)
            self._running.add(process)
        return process

    def forget(self, process: subprocess.Popen[Any]) -> None:
        with self._lock:
            self._running.discard(process)

    def run(
        self,
        argv: Sequence[str],
        timeout: float,
        stdout: int | IO[str] = subprocess.PIPE,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """subprocess.run, killable by kill_all(); TimeoutExpired when the deadline passes. env: what
        to add to this process's environment."""
        process = self.popen(
            argv,
            env={**os.environ, **env} if env else None,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.PIPE if stdout == subprocess.PIPE else subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as expired:
            _signal_group(process, signal.SIGKILL)  # a build's make and compilers too, not sh alone
            expired.stdout, expired.stderr = process.communicate()  # what it wrote before the deadline
            raise
        finally:
            self.forget(process)
        if self.cancelled.is_set():
            raise Cancelled()
        return subprocess.CompletedProcess(argv, process.returncode, out or "", err or "")

    def stream(
        self, argv: Sequence[str], timeout: float, line: Callable[[str], None]
    ) -> subprocess.CompletedProcess[str]:
        """run(), with each line of stdout handed to line as it comes (a suite's cells, so that its
        progress shows); TimeoutExpired, with what it wrote, when the deadline passes."""
        process = self.popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            errors="replace",
        )  # fmt: skip
        stdout, stderr = process.stdout, process.stderr
        assert stdout is not None and stderr is not None
        errors: list[str] = []
        reader = threading.Thread(target=lambda: errors.append(stderr.read()), daemon=True)
        expired = threading.Event()

        def expire() -> None:  # the group: what the child started must not hold its stdout open
            expired.set()
            _signal_group(process, signal.SIGKILL)

        timer = threading.Timer(timeout, expire)
        reader.start()
        timer.start()
        lines: list[str] = []
        try:
            for text in stdout:
                lines.append(text)
                line(text)
            process.wait()
        except BaseException:  # a stop: nothing may go on writing into a pipe nobody reads
            _signal_group(process, signal.SIGKILL)
            raise
        finally:
            timer.cancel()
            reader.join()
            self.forget(process)
        out, err = "".join(lines), "".join(errors)
        if expired.is_set():
            raise subprocess.TimeoutExpired(argv, timeout, output=out, stderr=err)
        if self.cancelled.is_set():
            raise Cancelled()
        return subprocess.CompletedProcess(argv, process.returncode, out, err)

    def kill_all(self, grace: float = GRACE_S) -> None:
        """Ends every running child and what it started (its process group): SIGTERM first, so
        that mmdebstrap removes its temporary directory, then SIGKILL after grace seconds.
        From now on, starting a child raises Cancelled."""
        with self._lock:
            self.cancelled.set()
            running = list(self._running)
        for process in running:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            _signal_group(process, signal.SIGKILL)  # also what the child left running


def _signal_group(process: subprocess.Popen[Any], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)
