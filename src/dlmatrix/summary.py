"""summary.md: the headlines, the counts, what changed and the cells that need a look (CI step summaries)."""

from __future__ import annotations

from dlmatrix.changes import Changes
from dlmatrix.headlines import by_family, headlines, seed_answer, seed_by_arch
from dlmatrix.results import ResultSet


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def summary_markdown(results: ResultSet, changes: Changes) -> str:
    counts = results.counts()
    lines = ["# dlmatrix compatibility report", ""]
    answer = seed_answer(results.cells)
    if answer:
        lines += [f"**The seed's answer.** {_escape(answer)}", ""]
    per_arch = seed_by_arch(results.cells)
    if per_arch:
        lines += ["**The seed's scenario per architecture** (the model and LTTng-UST):", ""]
        lines += [f"- {_escape(line)}" for line in per_arch] + [""]
    lines.append(
        ", ".join(f"**{counts.get(v, 0)}** {v}" for v in ("ok", "unexpected", "flaky", "skipped"))
        + f" of {len(results.cells)} cells; run {results.run['started']}, "
        f"commit {results.run.get('git_commit') or 'unknown'}."
    )
    lines += ["", "## Per runtime variant", ""]
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
            f"| {c.image} | {c.libc['family']} {c.libc['version'] or '?'} | {c.scenario} | {c.runtime} | "
            f"{c.result} | {c.expected or '-'} | {c.verdict} |"
            for c in failing
        ]
    return "\n".join(lines) + "\n"
