"""SIGINT and SIGTERM: the first one stops the run (an exception in the main thread, so that every
`finally` on the way out runs); while dlmatrix cleans up, another one waits instead of cutting
the clean-up short."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from dlmatrix.errors import DlmatrixError

STOPPING = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """A BaseException, like KeyboardInterrupt: no `except Exception` may swallow a stop."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.details: list[str] = []  # what the clean-up did, for the message

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # 130 for SIGINT, 143 for SIGTERM, as shells report them

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


_pending: list[int] = []


def _raise(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signum)


def _remember(signum: int, _frame: FrameType | None) -> None:
    _pending.append(signum)


def install() -> None:
    for signum in STOPPING:
        signal.signal(signum, _raise)


@contextmanager
def shielded(deliver: bool = False) -> Iterator[None]:
    """Signals arriving inside wait until the block ends (it must end by itself, promptly). Then,
    with deliver, the first of them stops the run; without, they are dropped: the block is the
    clean-up of a run that is already stopping."""
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers belong to the main thread; signals are delivered there anyway
        return
    seen = len(_pending)
    previous = {signum: signal.signal(signum, _remember) for signum in STOPPING}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if deliver and len(_pending) > seen:
        raise Interrupted(_pending[seen])


def add_notes(stop: BaseException, notes: list[str]) -> None:
    """What the clean-up did, for the stop's message: lines below an interruption, or after an
    error's fix (an engine failure, a set-up error); a bug's traceback speaks for itself."""
    if isinstance(stop, Interrupted):
        stop.details += notes
    elif isinstance(stop, DlmatrixError) and notes:
        stop.fix = "; ".join([stop.fix, *notes] if stop.fix else notes)
