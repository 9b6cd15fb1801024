"""The report set, written beside results.json (all at once): each file rendered from one Answer."""

from __future__ import annotations

from dlmatrix.report.answer import Answer
from dlmatrix.report.badge import badge_svg
from dlmatrix.report.html import render_html
from dlmatrix.report.junit import junit_xml
from dlmatrix.report.markdown import summary_markdown


def report_files(answer: Answer) -> dict[str, str | bytes]:
    """index.html, junit.xml, summary.md and badge.svg."""
    return {
        "index.html": render_html(answer),
        "junit.xml": junit_xml(answer),
        "summary.md": summary_markdown(answer),
        "badge.svg": badge_svg(answer),
    }
