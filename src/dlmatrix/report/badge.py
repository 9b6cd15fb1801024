"""reports/badge.svg: the seed's result in a README badge. The message counts the runtimes the
seed's answer is about (LTTng-UST built from source, else the model: Seed.message) that crash
after dlclose() on glibc, and those that never do; the colour says whether every cell is as
declared (Answer.standing)."""

from __future__ import annotations

from html import escape

from dlmatrix.report.answer import Answer

CHAR_WIDTH = 6.6  # Verdana 11px, near enough for a badge: shields.io measures, we estimate


def badge_svg(answer: Answer) -> str:
    label, message = "dlclose() seed", answer.seed.message
    state = answer.standing
    colour = answer.legend.standing_colours[state]
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
