"""junit.xml: one testcase per cell, its axes as properties; failure and error kept apart."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import junitparser as junit

from dlmatrix.results import Cell, ResultSet

HARNESS_PROBLEMS = ("error", "build-error")  # the cell could not be judged: an error, not a failure


def testcase(cell: Cell) -> junit.TestCase:
    case = junit.TestCase(f"{cell.scenario}[{cell.runtime}]", cell.image, cell.duration_s)
    properties = junit.Properties()
    for name, value in (
        ("image", cell.image),
        ("libc.family", cell.libc["family"]),
        ("libc.version", cell.libc["version"]),
        ("compiler", cell.compiler),
        ("runtime", cell.runtime),
        ("scenario", cell.scenario),
        ("result", cell.result),
        ("expected", cell.expected),
        ("verdict", cell.verdict),
    ):
        properties.add_property(junit.Property(name, str(value) if value is not None else ""))
    case.append(properties)
    message = f"{cell.result}, expected {cell.expected or 'nothing declared'}: {cell.reason}"
    if cell.verdict == "skipped":
        case.result = [junit.Skipped(cell.stderr[:500] or "skipped")]
    elif cell.outcome in HARNESS_PROBLEMS:
        case.result = [junit.Error(message, cell.outcome)]
        case.system_err = cell.stderr
    elif cell.verdict in ("unexpected", "flaky"):
        attempts = ", ".join(a.result for a in cell.attempts)
        case.result = [junit.Failure(f"{cell.verdict}: {message} (attempts: {attempts})", cell.verdict)]
        case.system_err = cell.stderr
    return case


def write_junit(results: ResultSet, path: Path) -> None:
    suites: dict[str, junit.TestSuite] = defaultdict(lambda: junit.TestSuite())
    for cell in results.cells:
        suite = suites[cell.image]
        suite.name = f"dlmatrix {cell.image}"
        suite.add_testcase(testcase(cell))
    document = junit.JUnitXml("dlmatrix")
    for suite in suites.values():
        suite.update_statistics()
        document.add_testsuite(suite)
    document.update_statistics()
    document.write(str(path), pretty=True)
