"""reports/badge.svg: the seed's result in a README badge. The message counts the runtimes the
seed's answer is about (LTTng-UST built from source, else the model) that crash after dlclose()
on glibc, and those that never do; the colour says whether every cell is as declared."""

from __future__ import annotations

from html import escape

from dlmatrix.model.cells import Cell
from dlmatrix.model.outcomes import FAILING_VERDICTS
from dlmatrix.report.headlines import crashing_and_surviving, seed_subject

COLOURS = {"as declared": "#4c1", "flaky": "#dfb317", "unexpected": "#e05d44", "no result": "#9f9f9f"}
CHAR_WIDTH = 6.6  # Verdana 11px, near enough for a badge: shields.io measures, we estimate


def seed_message(cells: list[Cell]) -> str:
    """The seed's answer in a few words: of the runtimes it is about (as the page's first sentence
    chooses them), how many crash after dlclose() in some scenario on glibc, how many never do."""
    subject, ran = seed_subject(cells)
    glibc = [c for c in ran if c.libc.family == "glibc"]
    if not glibc:
        return "no result"
    crashers, survivors = crashing_and_surviving(glibc)
    name = "LTTng-UST" if subject == "LTTng-UST" else "model"
    return f"{name}: {len(crashers)} crash, {len(survivors)} survive on glibc"


def status(cells: list[Cell]) -> str:
    verdicts = {c.verdict for c in cells}
    if not cells or verdicts <= {"skipped"}:
        return "no result"
    if "unexpected" in verdicts:
        return "unexpected"
    return "flaky" if verdicts & set(FAILING_VERDICTS) else "as declared"


def badge_svg(cells: list[Cell]) -> str:
    label, message = "dlclose() seed", seed_message(cells)
    state = status(cells)
    colour = COLOURS[state]
    left, right = (round(len(text) * CHAR_WIDTH) + 12 for text in (label, message))
    width = left + right
    title = escape(f"{label}: {message} ({state})")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f'aria-label="{title}"><title>{title}</title>'
        f'<rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{left / 2}" y="14">{escape(label)}</text>'
        f'<text x="{left + right / 2}" y="14">{escape(message)}</text></g></svg>\n'
    )
