"""What a run shows while it runs: per image, building / running n of m cells / done.

On a terminal it is a live rich display; in a log (CI, a pipe) it is one line per change of
stage and per quarter of an image's cells, so that logs stay short and whole.
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


class RunProgress:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.started = time.monotonic()
        self.live = console.is_terminal
        self._bar = Progress(
            TextColumn("{task.fields[image]:<24}"),
            TextColumn("{task.fields[stage]:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            disable=not self.live,
        )
        self._tasks: dict[str, TaskID] = {}
        self._logged_quarter: dict[str, int] = {}

    def __enter__(self) -> RunProgress:
        self._bar.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._bar.stop()

    def log(self, message: str) -> None:
        self.console.print(f"[dim]{time.monotonic() - self.started:6.0f}s[/] {message}")

    def _task(self, image: str) -> TaskID:
        if image not in self._tasks:
            self._tasks[image] = self._bar.add_task("", image=image, stage="waiting", total=None)
        return self._tasks[image]

    def stage(self, image: str, stage: str, detail: str = "") -> None:
        """building, running, done, failed, skipped; detail goes to the log only."""
        self._bar.update(self._task(image), stage=stage)
        if stage in ("done", "failed", "skipped"):
            task = self._bar.tasks[self._tasks[image]]
            self._bar.update(self._task(image), total=task.total or 1, completed=task.total or 1)
        if not self.live or detail:
            self.log(f"{image}: {stage}{': ' + detail if detail else ''}")

    def cells(self, image: str, done: int, total: int) -> None:
        self._bar.update(self._task(image), total=total, completed=done)
        quarter = 4 * done // max(total, 1)
        if not self.live and quarter > self._logged_quarter.get(image, 0) and done < total:
            self._logged_quarter[image] = quarter
            self.log(f"{image}: {done}/{total} cells")
