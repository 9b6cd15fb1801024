"""summary.md: the seed's answer, the summary grid, the headlines, what changed and the cells that
need a look (CI step summaries), the same as the page's first screen, in Markdown."""

from __future__ import annotations

from dlmatrix.report.answer import Answer
from dlmatrix.results.changes import Changes


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def summary_markdown(answer: Answer) -> str:
    lines = ["# dlmatrix compatibility report", ""]
    lines += _opening(answer)
    lines += ["", "## Each runtime in each environment", "", *grid_markdown(answer)]
    lines += ["", "## Per runtime variant", ""]
    lines += _per_runtime(answer)
    lines += ["", "## Since the previous run", ""]
    lines += _changes(answer.changes)
    lines += ["", "## Cells that need a look", ""]
    lines += _failing(answer)
    return "\n".join(lines) + "\n"


def _opening(answer: Answer) -> list[str]:
    """The seed's answer, a line per family and the counts."""
    lines = []
    if answer.seed.sentence:
        lines += [f"**The seed's answer.** {_escape(answer.seed.sentence)}", ""]
    lines += [f"- **{family or 'other'}**: {_escape(line)}" for family, line in answer.family_lines] + [""]
    counts = ", ".join(f"**{answer.counts.get(v, 0)}** {v}" for v in answer.legend.verdicts)
    run, commit = answer.run, answer.run.get("git_commit") or "unknown"
    lines.append(f"{counts} of {len(answer.cells)} cells; run {run['started']}, commit {commit}.")
    return lines


def _per_runtime(answer: Answer) -> list[str]:
    """The seed in full, per architecture, then each runtime's headline by family."""
    lines = []
    if answer.seed.in_full:
        lines += [f"**The seed in full.** {_escape(answer.seed.in_full)}", ""]
    if answer.seed.by_arch:
        lines += ["**The seed's scenario per architecture** (the model and LTTng-UST):", ""]
        lines += [f"- {_escape(line)}" for line in answer.seed.by_arch] + [""]
    for family, runtimes in answer.headline_groups:
        lines += [f"### {family or 'other'}", ""]
        lines += [f"- **{h.runtime}**: {_escape(h.sentence())}" for h in runtimes]
        lines.append("")
    return lines


def _changes(changes: Changes) -> list[str]:
    lines = []
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
    return lines


def _failing(answer: Answer) -> list[str]:
    if not answer.failing:
        return ["None: every cell is as declared."]
    return [
        "| image | libc | scenario | runtime | result | expected | verdict |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {c.image} | {c.libc.family} {c.libc.version or '?'} | {c.scenario} | {c.runtime} | "
            f"{c.result} | {c.expected or '-'} | {c.verdict} |"
            for c in answer.failing
        ),
    ]


def grid_markdown(answer: Answer) -> list[str]:
    """The summary grid as a Markdown table, folded columns and rows left out and listed below it."""
    grid, legend, folded = answer.grid, answer.legend, answer.folded
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
                mark = f" {legend.deviates_mark}" if summary.deviations else ""
                said.append(f"{summary.symbol} {summary.short}{mark}")
            lines.append(f"| {runtime} | " + " | ".join(said) + " |")
    lines += ["", _legend(answer)]
    skipped = [f"{c.image} ({_escape(why)})" for c, why in grid.folded_columns]
    skipped += [f"{r} ({_escape(why)})" for r, why in grid.folded_rows]
    if skipped:
        lines += ["", "Every cell skipped or not run, so left out: " + "; ".join(skipped) + "."]
    return lines


def _legend(answer: Answer) -> str:
    legend = answer.legend
    said = [f"{legend.status_symbols[s]} {s}: {meaning}" for s, meaning in legend.status_meanings.items()]
    return "; ".join([*said, f"{legend.deviates_mark} {legend.deviates}"]) + "."
