"""junit.xml: one testcase per cell, its axes as properties; failure and error kept apart."""

from __future__ import annotations

import io
import re
from collections import defaultdict

import junitparser as junit

from dlmatrix.model.cells import Cell
from dlmatrix.report.answer import Answer, CellView

# What XML 1.0 cannot carry at all (control bytes such as ESC, lone surrogates, U+FFFE/U+FFFF).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """Output as the program wrote it, with what XML cannot carry shown as \\xNN or \\uNNNN."""
    return NOT_XML.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


def testcase(seen: CellView) -> junit.TestCase:
    cell = seen.cell
    case = junit.TestCase(f"{cell.scenario}[{cell.runtime}]", cell.image, cell.duration_s)
    properties = junit.Properties()
    for name, value in (
        ("image", cell.image),
        ("libc.family", cell.libc.family),
        ("libc.version", cell.libc.version),
        ("compiler", cell.compiler),
        ("runtime", cell.runtime),
        ("scenario", cell.scenario),
        ("result", cell.result),
        ("expected", cell.expected),
        ("verdict", cell.verdict),
    ):
        properties.add_property(junit.Property(name, xml_text(str(value)) if value is not None else ""))
    case.append(properties)
    message = xml_text(f"{cell.result}, expected {cell.expected or 'nothing declared'}: {cell.reason}")
    if seen.judgement == "skipped":
        case.result = [junit.Skipped(xml_text(skipped_message(cell)))]
    elif seen.judgement == "error":
        case.result = [junit.Error(message, cell.outcome)]
        case.system_err = xml_text(cell.stderr)
    elif seen.judgement == "failure":
        attempts = ", ".join(a.result for a in cell.attempts)
        case.result = [junit.Failure(f"{cell.verdict}: {message} (attempts: {attempts})", cell.verdict)]
        case.system_err = xml_text(cell.stderr)
    return case


def junit_xml(answer: Answer) -> bytes:
    suites: dict[str, junit.TestSuite] = defaultdict(lambda: junit.TestSuite())
    for seen in answer.views:
        suite = suites[seen.cell.image]
        suite.name = f"dlmatrix {seen.cell.image}"
        suite.add_testcase(testcase(seen))
    document = junit.JUnitXml("dlmatrix")
    for suite in suites.values():
        suite.update_statistics()
        document.add_testsuite(suite)
    document.update_statistics()
    out = io.BytesIO()
    document.write(out, pretty=True)
    return out.getvalue()


def skipped_message(cell: Cell) -> str:
    """Why a cell has no pass or failure: its race never happened, or why it did not run."""
    if cell.verdict == "not-reproduced":
        return f"not-reproduced: {cell.expected} in none of {len(cell.attempts)} attempts ({cell.reason})"
    said = cell.stderr[:500] or cell.reason  # why it did not run, else the rule's word
    return f"not-run: {said}" if cell.verdict == "not-run" else said
