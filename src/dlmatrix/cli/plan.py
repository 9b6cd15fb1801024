"""`dlmatrix plan`: the selected cells in N balanced shards, rendered for whoever runs them: a
GitHub Actions job matrix, a GitLab child pipeline, or indented JSON. The planning itself is
dlmatrix.model.shards' (pure); this is its command and its renderings."""

from __future__ import annotations

import argparse
import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from dlmatrix.backends.registry import BACKENDS, environments
from dlmatrix.cli.arguments import Selection, add_durations, add_runtimes, add_selection, positive
from dlmatrix.cli.command import Command, checkout
from dlmatrix.config.project import Project, find_project
from dlmatrix.log import Logger
from dlmatrix.model.cells import ResultSet
from dlmatrix.model.shards import Shard, plan
from dlmatrix.results.io import read_results
from dlmatrix.results.merge import results_path

Form = Literal["json", "github", "gitlab"]
# As root in a Debian job image with Python, on a privileged runner: .ci/setup starts a dockerd.
GITLAB_IMAGE = "python:3.12-bookworm"
GITLAB_SETUP = ["bash .ci/setup", "pip install --quiet ."]


@dataclass(frozen=True)
class PlanOptions:
    selection: Selection
    runtimes: tuple[Path, ...]
    shards: int
    form: Form
    backend: str  # whose environments are dealt out
    repeat: int
    durations: Path | None  # a results.json (or its directory) whose durations weigh the cells
    project: Project | None  # the project file, read once: its selection and its catalog

    @classmethod
    def of(cls, args: argparse.Namespace) -> PlanOptions:
        project = find_project()
        return cls(
            Selection.of(args).under(project), tuple(args.runtimes), args.shards, args.format,
            args.backend, args.repeat,
            args.durations, project,
        )  # fmt: skip

    def run_options(self) -> list[str]:
        """The options that made the plan: every `run --shard` must be given them to run its part."""
        options = self.selection.options()
        options += [item for directory in self.runtimes for item in ("--runtimes", str(directory))]
        options += ["--repeat", str(self.repeat)] if self.repeat != 1 else []
        return options + (["--durations", str(self.durations)] if self.durations else [])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_selection(parser)
    add_runtimes(parser)
    parser.add_argument("--shards", type=positive, required=True, metavar="N")
    parser.add_argument("--format", choices=["json", "github", "gitlab"], default="json")
    parser.add_argument("--backend", choices=sorted(BACKENDS), default="docker", help="whose environments")
    parser.add_argument("--repeat", type=positive, default=1, metavar="N", help="as `run --repeat`")
    add_durations(parser)


def durations(path: Path | None) -> ResultSet | None:
    """The results whose measured durations weigh the shards (`--durations`), if given."""
    return read_results(results_path(path)) if path else None


def run(options: PlanOptions, log: Logger) -> int:
    """Prints the shards (stdout only: a CI captures it); what they weigh goes to stderr."""
    matrix = checkout(log, options.project, options.runtimes)
    measured = durations(options.durations)
    order = environments(options.backend, matrix)
    selector = options.selection.selector(matrix, repeat=options.repeat)
    shards = plan(matrix, selector, order, options.shards, measured)
    for shard in shards:
        cells = sum(unit.cell_count for unit in shard.units)
        weight = f"~{shard.weight:.0f} attempt-seconds, {cells} cells" if measured else f"{cells} cells"
        log.comment(f"shard {shard.name}: {weight}: {', '.join(shard.images(order))}")
    run_args = shlex.join(options.run_options())
    log.output(render_plan(shards, order, measured is not None, options.form, run_args))
    return 0


def github_matrix(shards: list[Shard], order: list[str], measured: bool, run_args: str) -> dict[str, Any]:
    """A job matrix: `strategy.matrix: ${{ fromJSON(needs.plan.outputs.matrix) }}` reads it. Each
    entry's args are the plan's own options, which `run --shard` needs to compute the same plan."""
    return {
        "include": [
            {
                "shard": shard.name,
                "images": ",".join(shard.images(order)),
                "args": run_args,
                "cells": sum(u.cell_count for u in shard.units),
                ("attempt_s" if measured else "weight"): round(shard.weight, 1),  # summed, not wall time
            }
            for shard in shards
        ]
    }


def render_plan(shards: list[Shard], order: list[str], measured: bool, form: Form, run_args: str = "") -> str:
    """The plan as `json` (indented), `github` (one line, for $GITHUB_OUTPUT) or `gitlab` (a child
    pipeline: one job per shard, then the merge)."""
    table = github_matrix(shards, order, measured, run_args)
    if form == "github":
        return json.dumps(table, separators=(",", ":"))
    if form == "json":
        return json.dumps(
            table | {"shards": len(shards), "weights": "seconds" if measured else "cells"}, indent=1
        )
    return gitlab_pipeline(table, run_args)


def gitlab_pipeline(table: dict[str, Any], run_args: str) -> str:
    """A child pipeline of one job per shard and a merge job that publishes the report. Exit 1
    (some verdict needs a look) keeps a shard job green: the merge reports it."""
    jobs: dict[str, Any] = {"default": {"image": GITLAB_IMAGE}, "stages": ["run", "merge"]}
    for entry in table["include"]:
        number = entry["shard"].split("/")[0]
        jobs[f"shard-{number}"] = {
            "stage": "run",
            "script": [
                *GITLAB_SETUP,
                f"dlmatrix bases --image '{entry['images']}'",
                "dlmatrix sources || true",
                f"dlmatrix run --backend docker --shard {entry['shard']} {run_args} --out out/shard-{number}"
                " || [ $? -eq 1 ]",
            ],
            "artifacts": {"when": "always", "paths": [f"out/shard-{number}/"]},
        }
    jobs["merge"] = {
        "stage": "merge",
        "when": "always",
        "script": [*GITLAB_SETUP, "dlmatrix merge --out public out/shard-*/results.json || [ $? -eq 1 ]"],
        "artifacts": {"when": "always", "paths": ["public/"]},
    }
    return yaml.safe_dump(jobs, sort_keys=False, width=200)


COMMAND = Command(
    "plan",
    "split the selected cells into N balanced shards, as a matrix a CI job reads",
    add_arguments,
    PlanOptions.of,
    run,
)
