"""What a run and a merge leave in their output directory, and what they compare with: the
report set written all at once, the partial results of a run that stopped, the previous results."""

from __future__ import annotations

from pathlib import Path

from dlmatrix.errors import DlmatrixError
from dlmatrix.interrupts import Interrupted, add_notes, shielded
from dlmatrix.log import Logger
from dlmatrix.model.cells import ResultSet
from dlmatrix.report.answer import Answer, build_answer
from dlmatrix.report.files import report_files
from dlmatrix.results.io import read_results, results_json
from dlmatrix.results.outdir import PARTIAL, OutputDir

PREVIOUS = "previous-results.json"


def previous_results(out: Path, given: Path | None, log: Logger) -> tuple[Path | None, ResultSet | None]:
    """The results to compare with: --previous (given), else the results.json already in --out. Never
    the checkout's published reports/: a fresh --out is a fresh start, not a change from them. One
    that cannot be read is named and left alone: the run compares with nothing rather than not run."""
    path = given or (out / "results.json" if (out / "results.json").is_file() else None)
    if path is None:
        return None, None
    try:
        return path, read_results(path)
    except DlmatrixError as unreadable:
        if given:
            raise
        log.warning(f"not comparing with {path}: {unreadable.cause}")
        return None, None


def default_previous(directory: Path) -> Path | None:
    """What `dlmatrix report DIR` compares with: what the run there compared with, if anything (never
    DIR's own results.json, nor the checkout's published reports/: the run did not compare with them)."""
    path = directory / PREVIOUS
    return path if path.is_file() else None


def write_report_set(
    out: OutputDir, results: ResultSet, previous: ResultSet | None
) -> tuple[list[Path], Answer]:
    """results.json, the previous results and the report, all at once; results.json alone when the
    report has a bug (a bug in the report must not cost the results). The answer, read once, is
    what the terminal shows too."""
    files: dict[str, str | bytes] = {"results.json": results_json(results)}
    # an older run's previous results must not stay beside results they were not compared with
    stale = (PARTIAL,) if previous is not None else (PARTIAL, PREVIOUS)
    if previous is not None:  # kept so that `dlmatrix report` can show the same changes again
        files[PREVIOUS] = results_json(previous)
    try:
        answer = build_answer(results, previous)
        files.update(report_files(answer))
    except Exception as bug:
        out.write(files, remove=stale)
        bug.add_note(
            f"dlmatrix: results.json is written in {out.path}; once this is fixed, "
            f"`dlmatrix report {out.path}` renders the rest from it"
        )
        raise
    return out.write(files, remove=stale), answer


def keep_partial(out: OutputDir, partial: ResultSet, stopped: Interrupted | DlmatrixError) -> None:
    """The cells that finished before a stop, in a file that says it is partial; results.json and
    the report stay as they were."""
    reason = f"interrupted by {stopped.name}" if isinstance(stopped, Interrupted) else stopped.cause
    partial.run["partial"] = reason
    notes = [f"results in {out.path} are untouched"]
    with shielded():  # a second signal must not cut the write short
        if partial.cells:
            out.write({PARTIAL: results_json(partial)})
            notes.append(f"the {len(partial.cells)} cells that finished are in {out.path / PARTIAL}")
    add_notes(stopped, notes)
