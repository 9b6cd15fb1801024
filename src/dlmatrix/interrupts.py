"""SIGINT and SIGTERM: the first one stops the run (an exception in the main thread, so that every
`finally` on the way out runs); while dlmatrix cleans up and exits, another one is dropped instead
of cutting the clean-up short or killing the process on its way out."""

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
_stopping = False  # the first signal is final: later ones are remembered, never raised


def _stop(signum: int) -> Interrupted:
    global _stopping
    _stopping = True
    for later in STOPPING:
        signal.signal(later, _remember)
    return Interrupted(signum)


def _raise(signum: int, _frame: FrameType | None) -> None:
    raise _stop(signum)


def _remember(signum: int, _frame: FrameType | None) -> None:
    _pending.append(signum)


def install() -> None:
    global _stopping
    _stopping = False
    for signum in STOPPING:
        signal.signal(signum, _raise)


def settle() -> None:
    """The stop is reported and its exit code decided. Python puts the default handlers back as it
    exits, and a signal arriving then would kill the process (exit -15, not 143): ignore them."""
    for signum in STOPPING:
        signal.signal(signum, signal.SIG_IGN)


@contextmanager
def shielded(deliver: bool = False) -> Iterator[None]:
    """Signals arriving inside wait until the block ends (it must end by itself, promptly). Then,
    with deliver, the first of them stops the run; without, they are dropped: the block is the
    clean-up of a run that is already stopping (as it always is once a signal has stopped it)."""
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
    if deliver and not _stopping and len(_pending) > seen:
        raise _stop(_pending[seen])


def add_notes(stop: BaseException, notes: list[str]) -> None:
    """What the clean-up did, for the stop's message: lines below an interruption, or after an
    error's fix (an engine failure, a set-up error); a bug's traceback speaks for itself."""
    if isinstance(stop, Interrupted):
        stop.details += notes
    elif isinstance(stop, DlmatrixError) and notes:
        stop.fix = "; ".join([stop.fix, *notes] if stop.fix else notes)
