"""summary.md: the seed's answer, the summary grid, the headlines, what changed and the cells that
need a look (CI step summaries), the same as the page's first screen, in Markdown."""

from __future__ import annotations

from dlmatrix.model.cells import ResultSet
from dlmatrix.report.grid import DEVIATES, STATUS_MEANINGS, STATUS_SYMBOLS, Grid, build_grid, family_lines
from dlmatrix.report.headlines import by_family, headlines, seed_answer, seed_by_arch, seed_sentence
from dlmatrix.results.changes import Changes


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def summary_markdown(results: ResultSet, changes: Changes) -> str:
    counts = results.counts()
    lines = ["# dlmatrix compatibility report", ""]
    sentence = seed_sentence(results.cells)
    if sentence:
        lines += [f"**The seed's answer.** {_escape(sentence)}", ""]
    grid = build_grid(results.cells)
    lines += [f"- **{family or 'other'}**: {_escape(line)}" for family, line in family_lines(grid)] + [""]
    lines.append(
        ", ".join(f"**{counts.get(v, 0)}** {v}" for v in ("ok", "unexpected", "flaky", "skipped"))
        + f" of {len(results.cells)} cells; run {results.run['started']}, "
        f"commit {results.run.get('git_commit') or 'unknown'}."
    )
    lines += ["", "## Each runtime in each environment", "", *grid_markdown(grid)]
    lines += ["", "## Per runtime variant", ""]
    answer = seed_answer(results.cells)
    if answer:
        lines += [f"**The seed in full.** {_escape(answer)}", ""]
    per_arch = seed_by_arch(results.cells)
    if per_arch:
        lines += ["**The seed's scenario per architecture** (the model and LTTng-UST):", ""]
        lines += [f"- {_escape(line)}" for line in per_arch] + [""]
    for family, runtimes in by_family(headlines(results.cells)):
        lines += [f"### {family or 'other'}", ""]
        lines += [f"- **{h.runtime}**: {_escape(h.sentence())}" for h in runtimes]
        lines.append("")
    lines += ["", "## Since the previous run", ""]
    if changes.previous_run is None:
        lines.append("No previous results to compare with.")
    elif changes.empty:
        lines.append(f"No cell changed since the run of {changes.previous_run.get('started')}.")
    for title, group in changes.groups():
        if group:
            lines += [
                f"### {title.capitalize()} ({len(group)})",
                "",
                "| image | scenario | runtime | before | now |",
                "|---|---|---|---|---|",
            ]
            lines += [f"| {' | '.join(c.key)} | {c.before or '-'} | {c.after or '-'} |" for c in group]
            lines.append("")
    failing = results.failing()
    lines += ["", "## Cells that need a look", ""]
    if not failing:
        lines.append("None: every cell is as declared.")
    else:
        lines += [
            "| image | libc | scenario | runtime | result | expected | verdict |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {c.image} | {c.libc.family} {c.libc.version or '?'} | {c.scenario} | {c.runtime} | "
            f"{c.result} | {c.expected or '-'} | {c.verdict} |"
            for c in failing
        ]
    return "\n".join(lines) + "\n"


def grid_markdown(grid: Grid) -> list[str]:
    """The summary grid as a Markdown table, folded columns and rows left out and listed below it."""
    folded = grid.folded()
    cols = [c for c in grid.columns if c.image not in folded]
    head = [" ".join(filter(None, (c.family, c.version or "?", c.arch))) + f"<br>{c.distro}" for c in cols]
    lines = ["| runtime | " + " | ".join(head) + " |", "|---" * (len(cols) + 1) + "|"]
    for family, runtimes in grid.rows:
        lines.append(f"| **{family or 'other'}** |" + " |" * len(cols))
        for runtime in runtimes:
            if runtime in folded:
                continue
            said = []
            for column in cols:
                summary = grid.summary(runtime, column.image)
                said.append(f"{summary.symbol} {summary.short}" + (" ‼" if summary.deviations else ""))
            lines.append(f"| {runtime} | " + " | ".join(said) + " |")
    legend = [f"{STATUS_SYMBOLS[status]} {status}: {meaning}" for status, meaning in STATUS_MEANINGS.items()]
    lines += ["", "; ".join([*legend, f"‼ {DEVIATES}"]) + "."]
    skipped = [f"{c.image} ({_escape(why)})" for c, why in grid.folded_columns]
    skipped += [f"{r} ({_escape(why)})" for r, why in grid.folded_rows]
    if skipped:
        lines += ["", "Every cell skipped, so left out: " + "; ".join(skipped) + "."]
    return lines
