"""What `dlmatrix bisect` found, in words once (per image: fixed, broken or changed by a commit, or
its candidates; or no change, with the catalog's reason for the cell), rendered for the terminal,
as the --json document and as bisect.json and bisect.html in --out."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

import jinja2
from rich.markup import escape
from rich.table import Table

from dlmatrix.log import Logger
from dlmatrix.model.bisect import Bisection, Commit, ImageResult, Step

SUBJECT_WIDTH = 60  # of a commit's subject in the terminal's table


def attempts_words(attempts: tuple[str, ...]) -> str:
    """pass x5, or crash:SIGSEGV x2 and pass x3."""
    counts = {result: attempts.count(result) for result in dict.fromkeys(attempts)}
    return " and ".join(f"{result} x{n}" for result, n in counts.items())


def verb(result: ImageResult) -> str:
    """fixed (every new attempt passes, not every old one), broken (the reverse) or changed."""
    old_pass, new_pass = (all(a == "pass" for a in end.attempts) for end in (result.old, result.new))
    if new_pass and not old_pass:
        return "fixed"
    return "broken" if old_pass and not new_pass else "changed"


def commit_words(bisection: Bisection, sha: str) -> str:
    return f"{sha[:8]} ({bisection.subject(sha)})"


def image_sentence(bisection: Bisection, result: ImageResult) -> str:
    """One image's finding, with the reason where nothing changed (the catalog's, for that cell)."""
    if result.answer is None:
        reason = f": {result.old.reason}" if result.old.reason else ""
        return f"no change on {result.image} ({attempts_words(result.old.attempts)} at both ends){reason}"
    ends = f"{attempts_words(result.old.attempts)} -> {attempts_words(result.new.attempts)}"
    if result.answer.first is not None:
        return f"{verb(result)} by {commit_words(bisection, result.answer.first)} on {result.image} ({ends})"
    named = ", ".join(commit_words(bisection, sha) for sha in result.answer.candidates)
    count = len(result.answer.candidates)
    return (
        f"{verb(result)} on {result.image} ({ends}) by one of {count} commits that could not be told "
        f"apart (the others did not build or ran nothing): {named}"
    )


def summary(bisection: Bisection) -> str:
    return "; ".join(image_sentence(bisection, result) for result in bisection.images)


def commit_record(commit: Commit) -> dict[str, str]:
    return {"commit": commit.sha, "subject": commit.subject}


def step_record(step: Step) -> dict[str, Any]:
    return {
        "commit": step.commit.sha,
        "subject": step.commit.subject,
        "image": step.image,
        "role": step.role,
        "outcome": step.outcome,
        "attempts": list(step.attempts),
        "build": step.build,
        "fixups": list(step.fixups),
        "side": step.side,
        "seconds": step.seconds,
        "log": step.log,  # a failed build's: the end of its log ("" otherwise)
    }


def image_record(bisection: Bisection, result: ImageResult) -> dict[str, Any]:
    answer = result.answer
    return {
        "image": result.image,
        "libc": result.libc,
        "changed": result.changed,
        "old": {"outcome": result.old.outcome, "attempts": list(result.old.attempts)},
        "new": {"outcome": result.new.outcome, "attempts": list(result.new.attempts)},
        "first": commit_record(_commit(bisection, answer.first)) if answer and answer.first else None,
        "candidates": [commit_record(_commit(bisection, s)) for s in answer.candidates] if answer else [],
        "reason": result.old.reason if answer is None else "",
        "summary": image_sentence(bisection, result),
    }


def _commit(bisection: Bisection, sha: str) -> Commit:
    return Commit(sha, bisection.subject(sha))


def bisect_document(bisection: Bisection, builds: int) -> dict[str, Any]:
    """--json and bisect.json: first and candidates over every image that changed (the first
    commit when they agree on one), each image's finding, and every step in the order tried."""
    overall = bisection.overall()
    return {
        "runtime": bisection.runtime,
        "scenario": bisection.scenario,
        "repository": bisection.repository,
        "old": {"revision": bisection.old[0], **commit_record(bisection.old[1])},
        "new": {"revision": bisection.new[0], **commit_record(bisection.new[1])},
        "range": {
            "commits": len(bisection.commits),
            "first_parent": True,
            "merge_base": bisection.merge_base,
        },
        "first": commit_record(_commit(bisection, overall.first)) if overall.first else None,
        "candidates": [commit_record(_commit(bisection, sha)) for sha in overall.candidates],
        "summary": summary(bisection),
        "images": [image_record(bisection, result) for result in bisection.images],
        "steps": [step_record(step) for step in bisection.steps],
        "builds": builds,
        "seconds": bisection.seconds,
    }


def steps_table(bisection: Bisection) -> Table:
    table = Table("image", "step", "commit", "subject", "attempts", "build", "side", title="dlmatrix bisect")
    for step in bisection.steps:
        build = step.build + (f" with {', '.join(step.fixups)}" if step.fixups else "")
        subject = step.commit.subject[:SUBJECT_WIDTH]
        table.add_row(
            escape(step.image), step.role, step.commit.short, escape(subject),
            escape(attempts_words(step.attempts)), escape(build), step.side,
        )  # fmt: skip
    return table


def print_bisection(bisection: Bisection, log: Logger, builds: int) -> None:
    """The steps' table, a sentence per image, and what it cost (builds: images the engine built,
    a commit's first attempt before its fix-ups included)."""
    log.print(steps_table(bisection))
    for result in bisection.images:
        log.text(image_sentence(bisection, result))
    log.text(f"{len(bisection.steps)} steps, {builds} image builds, {bisection.seconds:.0f} s")


@cache
def _template() -> jinja2.Template:
    text = files("dlmatrix.report").joinpath("templates", "bisect.html.j2").read_text()
    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(text)


def bisect_files(bisection: Bisection, document: dict[str, Any]) -> dict[str, str]:
    """bisect.json and bisect.html for the output directory (beside a run's index.html, if any)."""
    page = _template().render(doc=document, words=attempts_words)
    return {"bisect.json": json.dumps(document, indent=2) + "\n", "bisect.html": page}
