"""The one console: everything dlmatrix tells a person leaves through one Logger (in the manner
of cibuildwheel's logger.py), so that it has one look and one set of rules.

- stdout: a command's steps, a run's progress and its results. While a run runs, its progress
  is a live display on a terminal and, in a log (CI, a pipe), one line per change of stage and
  per quarter of an image's cells, so that logs stay short and whole.
- stderr: warnings and errors, each a line that starts `dlmatrix: warning:` or `dlmatrix:
  error:` (people and tests grep for them).
- CI fold groups around the long phases: `::group::` on GitHub Actions, collapsed sections on
  GitLab CI.
- --quiet: no steps, no progress, no informational lines (info(), comment()), no fold groups;
  what a command outputs, warnings, errors and status() lines stay. It is decided here, once.
- --json: the one JSON document (data()) is all that goes to stdout; the console (steps,
  progress, tables) writes to stderr instead, so that stdout stays parseable.
- NO_COLOR (non-empty) means no ANSI escape at all: no colour, no bold or dim, no live display
  (it moves the cursor), and no GitLab section markers (they are escapes).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal, TextIO

from rich.console import Console, RenderableType
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

CI = Literal["github", "gitlab"]
LOG_WIDTH = 200  # in logs and CI a line is never cut: nobody can widen the terminal afterwards
BUG = (
    "dlmatrix: internal error: this is a bug in dlmatrix, not in your matrix; please report it "
    "with the traceback above"
)


def no_color(environ: Mapping[str, str]) -> bool:
    """https://no-color.org: set and not empty."""
    return environ.get("NO_COLOR", "") != ""


def ci_of(environ: Mapping[str, str]) -> CI | None:
    """The CI whose log folds, if any. GitLab's markers are escapes, so NO_COLOR goes without."""
    if environ.get("GITHUB_ACTIONS") == "true":
        return "github"
    if environ.get("GITLAB_CI") == "true" and not no_color(environ):
        return "gitlab"
    return None


def section_name(title: str, number: int) -> str:
    """A GitLab section name: letters, digits, `_`, `.` and `-`, unique within the job log."""
    return f"dlmatrix-{number}-" + (re.sub(r"[^A-Za-z0-9_.-]+", "-", title).strip("-").lower() or "phase")


def fold_start(ci: CI, name: str, title: str, epoch: int) -> str:
    if ci == "github":
        return f"::group::{title}"
    return f"\x1b[0Ksection_start:{epoch}:{name}[collapsed=true]\r\x1b[0K{title}"


def fold_end(ci: CI, name: str, epoch: int) -> str:
    if ci == "github":
        return "::endgroup::"
    return f"\x1b[0Ksection_end:{epoch}:{name}\r\x1b[0K"


def make_console(
    plain: bool, file: TextIO | None = None, force_terminal: bool | None = None, stderr: bool = False
) -> Console:
    """stdout's console (stderr's with --json). color_system=None, not no_color: no_color keeps bold
    and dim."""
    system: Literal["auto"] | None = None if plain else "auto"
    options: dict[str, Any] = {"file": file, "stderr": stderr, "force_terminal": force_terminal}
    console = Console(highlight=False, color_system=system, **options)
    if console.is_terminal:
        return console
    return Console(highlight=False, color_system=system, width=LOG_WIDTH, soft_wrap=True, **options)


class Display:
    """The live display of one run: per image, its stage and its cells done."""

    def __init__(self, console: Console) -> None:
        self.bar = Progress(
            TextColumn("{task.fields[image]:<24}"),
            TextColumn("{task.fields[stage]:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}
        self.started = False

    def task(self, image: str) -> TaskID:
        if image not in self.tasks:
            self.tasks[image] = self.bar.add_task("", image=image, stage="waiting", total=None)
        return self.tasks[image]

    def stage(self, image: str, stage: str) -> None:
        task = self.task(image)
        self.bar.update(task, stage=stage)
        if stage in ("done", "failed", "skipped"):  # a finished image shows a full bar
            total = self.bar.tasks[task].total or 1
            self.bar.update(task, total=total, completed=total)

    def cells(self, image: str, done: int, total: int) -> None:
        self.bar.update(self.task(image), total=total, completed=done)


class Logger:
    """Steps, progress, fold groups, warnings and errors. Thread-safe: a run's workers share it."""

    def __init__(
        self,
        console: Console,
        stderr: TextIO | None = None,
        ci: CI | None = None,
        live: bool | None = None,
        quiet: bool = False,
        stdout: TextIO | None = None,
    ) -> None:
        self.console = console  # also what tables and results are printed on
        self._stderr = stderr  # None: sys.stderr as it is at each write (a live display redirects it)
        self._stdout = stdout  # where data() goes; None: sys.stdout as it is at each write
        self.ci = None if quiet else ci
        self.quiet = quiet
        live = console.is_terminal if live is None else live
        self.animate = live and not quiet  # a live display, not lines
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._display: Display | None = None  # within live() on a terminal
        self._quarters: dict[str, int] = {}  # image -> the last quarter of its cells logged
        self._folded = False  # GitHub's groups do not nest: an inner group is no group
        self._sections = itertools.count(1)

    @classmethod
    def from_environment(
        cls,
        environ: Mapping[str, str] | None = None,
        file: TextIO | None = None,
        stderr: TextIO | None = None,
        force_terminal: bool | None = None,
        quiet: bool = False,
        json: bool = False,
    ) -> Logger:
        """The logger of a command: NO_COLOR and the CI taken from environ (default: os.environ).
        With json, the console is stderr's (file, if given, is then where data() goes)."""
        environ = os.environ if environ is None else environ
        plain = no_color(environ)
        if json:
            console = make_console(plain, stderr, force_terminal, stderr=stderr is None)
            return cls(console, stderr, ci_of(environ), console.is_terminal and not plain, quiet, file)
        console = make_console(plain, file, force_terminal)
        return cls(console, stderr, ci_of(environ), live=console.is_terminal and not plain, quiet=quiet)

    # what a command prints on stdout

    def print(self, *objects: RenderableType) -> None:
        """Tables and lines with rich markup ([bold]...[/])."""
        self.console.print(*objects)

    def text(self, message: str) -> None:
        """A line as it is: no markup, no emoji codes (paths and engine output may hold either)."""
        self.console.print(message, markup=False, emoji=False)

    def info(self, message: str, markup: bool = False) -> None:
        """An informational line (what was read, a run's headlines): --quiet leaves it out. As it is,
        or with rich markup."""
        if not self.quiet:
            self.console.print(message, markup=markup, emoji=False)

    def data(self, document: Any) -> None:
        """The one JSON document of --json, on stdout whatever the console writes to."""
        stream = self._stdout or sys.stdout
        stream.write(json.dumps(document, indent=2) + "\n")
        stream.flush()

    def output(self, text: str) -> None:
        """What another program reads (a CI's job matrix): exactly text, unwrapped, unstyled."""
        self.console.file.write(text + "\n")
        self.console.file.flush()

    def step(self, message: str) -> None:
        """A step of a long command, with the seconds since it started (not with --quiet)."""
        if self.quiet:
            return
        self.console.print(f"[dim]{time.monotonic() - self.started:6.0f}s[/] {escape(message)}", emoji=False)

    # what goes to stderr, one whole line per write so that threads do not interleave

    def _line(self, text: str) -> None:
        stream = self._stderr or sys.stderr
        stream.write(text + "\n")
        stream.flush()

    def comment(self, text: str) -> None:
        """A line beside a command's real output (stdout stays what a CI captures); not with --quiet."""
        if not self.quiet:
            self._line(text)

    def status(self, text: str) -> None:
        """A line on stderr that --quiet keeps: how a command ended when it did not end well."""
        self._line(text)

    def warning(self, message: str) -> None:
        self._line(f"dlmatrix: warning: {message}")

    def error(self, message: str) -> None:
        self._line(f"dlmatrix: error: {message}")

    def bug(self) -> None:
        """The exception being handled is a bug: its traceback and a request to report it."""
        self._line(traceback.format_exc().rstrip("\n"))
        self._line(BUG)

    # CI fold groups

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """Folds what is printed inside on GitHub Actions and GitLab CI; elsewhere nothing."""
        if self.ci is None or self._folded:
            yield
            return
        self._folded = True
        name = section_name(title, next(self._sections))
        self.output(fold_start(self.ci, name, title, int(time.time())))
        try:
            yield
        finally:
            self.output(fold_end(self.ci, name, int(time.time())))
            self._folded = False

    # a run's progress

    @contextmanager
    def live(self) -> Iterator[None]:
        """While a run runs. On a terminal, its display shows from the first stage reported;
        elsewhere stage() and cells() log lines (with --quiet, neither)."""
        with self._lock:
            self._quarters = {}
            self._display = Display(self.console) if self.animate else None
        try:
            yield
        finally:
            with self._lock:
                display, self._display = self._display, None
            if display is not None and display.started:
                display.bar.stop()

    def _showing(self) -> Display | None:
        with self._lock:
            display = self._display
            if display is not None and not display.started:
                display.bar.start()
                display.started = True
            return display

    def stage(self, image: str, stage: str, detail: str = "") -> None:
        """building, built, running, done, failed, skipped; detail goes to the log only."""
        if self.quiet:
            return
        display = self._showing()
        if display is not None:
            display.stage(image, stage)
        if display is None or detail:
            self.step(f"{image}: {stage}{': ' + detail if detail else ''}")

    def cells(self, image: str, done: int, total: int) -> None:
        if self.quiet:
            return
        display = self._showing()
        if display is not None:
            display.cells(image, done, total)
            return
        quarter = 4 * done // max(total, 1)
        with self._lock:
            logged = quarter > self._quarters.get(image, 0) and done < total
            if logged:
                self._quarters[image] = quarter
        if logged:
            self.step(f"{image}: {done}/{total} cells")
