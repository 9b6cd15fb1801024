"""One budget of attempts in flight for a whole run, shared by every suite it runs.

The suites wait (sleeps of the runtimes, session daemons, timeouts); they hardly compute.
So the run is scheduled by work in flight, not by cores: a suite takes a token for each
attempt it starts and gives it back when the attempt ends. Among suites waiting for a
token, the one with the most work left goes first, so that long suites never start last.
"""

from __future__ import annotations

import threading
from typing import IO


class CellBudget:
    def __init__(self, size: int) -> None:
        self.size = size
        self._free = size
        self._waiting: dict[str, float] = {}  # suite -> its work left, in seconds
        self._changed = threading.Condition()

    def acquire(self, suite: str, work_left: float, *stops: threading.Event) -> bool:
        """Blocks until suite may start one attempt; False once any of stops is set."""
        with self._changed:
            self._waiting[suite] = work_left
            try:
                while not (self._free > 0 and self._first() == suite):
                    if any(stop.is_set() for stop in stops):
                        return False
                    self._changed.wait(0.2)
                self._free -= 1
                return True
            finally:
                del self._waiting[suite]
                self._changed.notify_all()

    def _first(self) -> str:
        return max(self._waiting, key=lambda name: (self._waiting[name], name))

    def release(self, count: int = 1) -> None:
        with self._changed:
            self._free += count
            self._changed.notify_all()

    @property
    def in_flight(self) -> int:
        with self._changed:
            return self.size - self._free


class TokenFeeder:
    """Hands one suite container a token (a byte on its standard input) per attempt it may
    start, taken from the run's budget; the suite's attempt lines give them back."""

    def __init__(
        self, budget: CellBudget, stdin: IO[str], suite: str, work_s: float, stop: threading.Event
    ) -> None:
        self.budget, self.stdin, self.suite, self.work_s = budget, stdin, suite, work_s
        self.stop = threading.Event()
        self.run_stop = stop
        self.planned = self.granted = self.returned = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._feed, name=f"tokens-{suite}", daemon=True)

    def start(self, attempts: int) -> None:
        self.planned = attempts
        self.thread.start()

    def work_left(self) -> float:
        return self.work_s * (1 - self.returned / max(self.planned, 1))

    def _feed(self) -> None:
        while self.granted < self.planned and not self.stop.is_set():
            # its own stop too: a suite that ended early (it failed) must not wait for a token
            if not self.budget.acquire(self.suite, self.work_left(), self.run_stop, self.stop):
                return
            try:
                self.stdin.write("+")
                self.stdin.flush()
            except (OSError, ValueError):  # the container is gone
                self.budget.release()
                return
            with self.lock:
                self.granted += 1

    def returned_one(self) -> None:
        with self.lock:
            self.returned += 1
        self.budget.release()

    def finish(self) -> None:
        """Stops feeding and gives back the tokens the suite still held."""
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()
        with self.lock:
            held, self.returned = self.granted - self.returned, self.granted
        if held > 0:
            self.budget.release(held)
