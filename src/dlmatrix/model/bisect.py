"""The search of `dlmatrix bisect`, without builds or engines: which side of a change a commit's
attempts put it on, and which commit to try next by halving the first-parent range, over commits
that did not build, down to the first new commit or the candidates that cannot be told apart.

Sides are read from the ends' attempts, so that racy cells count: an outcome seen at the new end
and never at the old one marks a commit new wherever it appears in any attempt (a race that
appears once has appeared); failing that, one seen only at the old end marks it old wherever it
appears. Attempts that never ran the scenario (a build error, a harness error) say nothing, and
nor does an outcome neither end showed: such a commit is skipped, with its attempts shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from dlmatrix.model.outcomes import UNRUN_RESULTS

Side = Literal["old", "new", "skipped"]
NOT_RUN = (*UNRUN_RESULTS, "skipped")


def ran(attempts: Sequence[str]) -> bool:
    """Whether any attempt ran the scenario (a build error or harness error ran nothing)."""
    return any(result not in NOT_RUN for result in attempts)


def differ(old: Sequence[str], new: Sequence[str]) -> bool:
    """Whether the ends tell two sides apart: some outcome of a scenario that ran appears at one end
    only (an attempt that ran nothing tells nothing)."""
    return set(old) - set(NOT_RUN) != set(new) - set(NOT_RUN)


def side_of(attempts: Sequence[str], old: Sequence[str], new: Sequence[str]) -> Side:
    """old or new by the outcomes that tell the ends apart (see the module's doc); skipped when the
    attempts ran nothing, or showed no outcome that tells the ends apart and one neither end showed."""
    if not ran(attempts):
        return "skipped"
    seen, at_old, at_new = set(attempts) - set(NOT_RUN), set(old), set(new)
    if seen & (at_new - at_old):
        return "new"
    if seen & (at_old - at_new):
        return "old"
    if seen - at_old - at_new:
        return "skipped"  # nothing that tells the ends apart, and an outcome neither showed
    # only outcomes both ends showed: the side whose own outcome did not appear
    return "old" if at_new - at_old else "new"


@dataclass(frozen=True)
class Answer:
    """The first new commit (candidates is then that one alone), or the candidates: the commits
    between the last old one and the first new one, none of which could be told apart."""

    first: str | None
    candidates: tuple[str, ...]


@dataclass
class Search:
    """Halving over commits (the range's first-parent commits, oldest first, the new end last; the
    old end lies before the first). sides: what each tried commit turned out to be."""

    commits: tuple[str, ...]
    sides: dict[str, Side] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.commits:
            raise ValueError("a search needs at least the new end")
        self.sides.setdefault(self.commits[-1], "new")

    def record(self, commit: str, side: Side) -> None:
        self.sides[commit] = side

    def bounds(self) -> tuple[int, int]:
        """The last old commit before the first new one (-1: the old end) and that first new one."""
        hi = min(i for i, c in enumerate(self.commits) if self.sides.get(c) == "new")
        lo = max((i for i in range(hi) if self.sides.get(self.commits[i]) == "old"), default=-1)
        return lo, hi

    def next(self) -> str | None:
        """The untried commit nearest the middle of what is still open, or None when done."""
        lo, hi = self.bounds()
        open_ = [i for i in range(lo + 1, hi) if self.commits[i] not in self.sides]
        if not open_:
            return None
        middle = (lo + hi) / 2
        return self.commits[min(open_, key=lambda i: (abs(i - middle), i))]

    def answer(self) -> Answer:
        lo, hi = self.bounds()
        between = self.commits[lo + 1 : hi + 1]  # every one but the last was skipped (or is untried)
        if len(between) == 1:
            return Answer(between[0], between)
        return Answer(None, tuple(between))

    @property
    def done(self) -> bool:
        return self.next() is None


@dataclass(frozen=True)
class Commit:
    sha: str
    subject: str

    @property
    def short(self) -> str:
        return self.sha[:8]


@dataclass(frozen=True)
class Step:
    """One commit built and run in one image."""

    commit: Commit
    image: str
    role: str  # "old end", "new end", "step N"
    outcome: str  # the attempt the cell shows (its first that missed its rule, else its first)
    attempts: tuple[str, ...]
    build: str  # built (this step built the image), cached (an identical image existed), failed
    side: Side
    fixups: tuple[str, ...] = ()  # the fix-up patches it was built with
    seconds: float = 0.0
    reason: str = ""  # what the catalog says of the cell (its rule's reason)
    log: str = ""  # a failed build's: where its log is kept, and its end


@dataclass(frozen=True)
class ImageResult:
    """One image's bisection: its ends and, where they differ, what the search found."""

    image: str
    libc: str
    old: Step
    new: Step
    answer: Answer | None  # None: the ends do not differ here

    @property
    def changed(self) -> bool:
        return self.answer is not None


@dataclass(frozen=True)
class Bisection:
    runtime: str
    scenario: str
    repository: str  # as given (or the runtime's own)
    old: tuple[str, Commit]  # the revision as given, and its commit
    new: tuple[str, Commit]
    commits: tuple[Commit, ...]  # the range's first-parent commits, oldest first
    merge_base: str | None  # where the range starts when old is no ancestor of new
    images: tuple[ImageResult, ...]
    steps: tuple[Step, ...]
    seconds: float = 0.0

    def subject(self, sha: str) -> str:
        known = {c.sha: c.subject for c in (*self.commits, self.old[1], self.new[1])}
        return known.get(sha, "")

    def overall(self) -> Answer:
        """What every image that changed agrees on: one first commit, or the candidates of all."""
        answers = [result.answer for result in self.images if result.answer is not None]
        firsts = {answer.first for answer in answers}
        if len(firsts) == 1 and None not in firsts:
            first = answers[0].first
            return Answer(first, (first,) if first else ())
        named = {sha for answer in answers for sha in answer.candidates}
        return Answer(None, tuple(c.sha for c in self.commits if c.sha in named))
