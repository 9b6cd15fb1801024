"""The report page at scale: renders a synthetic results.json (10,000 cells by default, made from
the published cells so that evidence, loader accounts and output are as large as real ones) and
measures, in Debian's chromium through playwright, the page's size, its load time and the time a
filter change takes to reach the screen. Prints figures; asserts nothing.

    python benchmarks/report_page.py [--cells 10000] [--loads 3] [--json FILE] [--results FILE]

--results measures the page of a real results.json instead (the published one, say).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from dlmatrix.model.cells import Attempt, Cell, ResultSet
from dlmatrix.model.libc import Libc
from dlmatrix.report.answer import build_answer
from dlmatrix.report.html import render_html
from dlmatrix.results.io import read_results

REPO = Path(__file__).resolve().parent.parent
PUBLISHED = REPO / "reports" / "results.json"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
LIBCS = [("glibc", v) for v in ("2.28", "2.31", "2.35", "2.36", "2.39", "2.41", "2.43")]
LIBCS += [("musl", v) for v in ("1.2.2", "1.2.3", "1.2.4", "1.2.5", "1.2.6")]
ARCHES = ("amd64", "arm64", "i386", "riscv64")
FAMILIES = ("model", "LTTng-UST", "library")
# filter changes a reader makes, each timed from the change to the next painted frame
CHANGES: list[tuple[str, str | bool]] = [
    ("f-libc", "musl"), ("f-libc", ""), ("f-arch", "arm64"), ("f-arch", ""), ("f-rfamily", "library"),
    ("f-rfamily", ""), ("f-verdict", "unexpected"), ("f-verdict", ""),
    ("f-skipped", True), ("f-skipped", False),
]  # fmt: skip


def synthetic(templates: list[Cell], cells: int, seed: int = 13) -> ResultSet:
    """cells = images x runtimes x scenarios (10 scenarios, 25 runtimes, as many images as it
    takes): each a published cell moved to its new place, its numbers jittered so that the page
    cannot share them; one in twelve racy (5 attempts), two images wholly skipped."""
    rng = random.Random(seed)
    scenarios = [f"scenario-{k:02d}" for k in range(10)]
    runtimes = [f"runtime-{k:02d}" for k in range(25)]
    images = [
        (f"distro{k:02d}-{family}-{arch}", family, version, arch)
        for k, ((family, version), arch) in enumerate((libc, arch) for arch in ARCHES for libc in LIBCS)
    ][: max(1, cells // (len(scenarios) * len(runtimes)))]
    ran = [t for t in templates if t.outcome != "skipped"]
    made = []
    for i, (image, family, version, arch) in enumerate(images):
        for r, runtime in enumerate(runtimes):
            for scenario in scenarios:
                made.append(_moved(rng, rng.choice(ran), image, family, version, arch, runtime, scenario))
                made[-1].family = FAMILIES[r % len(FAMILIES)]
                if i in (3, 17):  # registry-only images here: nothing runs
                    made[-1] = replace(made[-1], outcome="skipped", signal=None, verdict="skipped",
                                       attempts=[Attempt("skipped", 0.0)], evidence={}, loader=None,
                                       stderr=f"base image {image} is not present")  # fmt: skip
    return ResultSet(read_results(PUBLISHED).run | {"images": {}}, made)


def _moved(rng: random.Random, cell: Cell, image: str, family: str, version: str, arch: str,
           runtime: str, scenario: str) -> Cell:  # fmt: skip
    evidence = {k: rng.randint(0, 10_000) if type(v) is int else v for k, v in cell.evidence.items()}
    attempts = [Attempt(a.result, round(rng.uniform(0.01, 3), 4)) for a in cell.attempts]
    if rng.random() < 1 / 12:
        attempts = [
            Attempt(rng.choice(["pass", "crash:SIGSEGV"]), round(rng.uniform(0.01, 3), 4)) for _ in range(5)
        ]
    return replace(
        cell, image=image, libc=Libc(family, version), arch=arch, runtime=runtime,
        scenario=scenario, evidence=evidence, attempts=attempts, duration_s=attempts[0].duration_s,
    )  # fmt: skip


def measure(page_path: Path, loads: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            return measure_in(browser, page_path, loads)
        finally:
            browser.close()


def measure_in(browser: Any, page_path: Path, loads: int) -> dict[str, Any]:
    """The page's size, its load times (each in a fresh context) and its filter changes' times."""
    figures: dict[str, Any] = {"page_bytes": page_path.stat().st_size, "load_ms": []}
    for _ in range(loads):
        page = browser.new_context(offline=True).new_page()
        page.goto(page_path.as_uri(), wait_until="load")
        page.wait_for_selector("html[data-ready='1']", state="attached")
        figures["load_ms"].append(page.evaluate(
            "Math.max(performance.getEntriesByType('navigation')[0].loadEventEnd, window.readyAt || 0)"
        ))  # fmt: skip
        page.context.close()
    page = browser.new_context(offline=True).new_page()
    page.goto(page_path.as_uri(), wait_until="load")
    figures["filter_ms"] = [_timed_change(page, control, value) for control, value in CHANGES]
    page.click("#full-matrix summary")
    page.wait_for_selector("#matrix")
    figures["filter_full_matrix_ms"] = [_timed_change(page, c, v) for c, v in CHANGES]
    page.context.close()
    return figures


def _timed_change(page: Any, control: str, value: str | bool) -> float:
    """From the change event to the next frame after it (style, layout and paint included)."""
    return float(page.evaluate(
        """async ([id, value]) => {
          const el = document.getElementById(id);
          const start = performance.now();
          if (typeof value === "boolean") el.checked = value; else el.value = value;
          el.dispatchEvent(new Event("change"));
          await new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
          return performance.now() - start;
        }""",
        [control, value],
    ))  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--results", type=Path, help="a real results.json instead of the synthetic run")
    args = parser.parse_args()
    published = read_results(PUBLISHED)
    results = read_results(args.results) if args.results else synthetic(published.cells, args.cells)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "index.html"
        started = time.monotonic()
        path.write_text(render_html(build_answer(results)))
        render_s = time.monotonic() - started
        json_bytes = len(json.dumps([c.__dict__ for c in results.cells], default=lambda o: o.__dict__))
        figures: dict[str, Any] = {
            "cells": len(results.cells),
            "render_s": round(render_s, 2),
            "results_json_bytes": json_bytes,
        }
        figures |= measure(path, args.loads)
    print(f"{figures['cells']} cells; rendered in {figures['render_s']} s")
    print(f"page: {figures['page_bytes'] / 1e6:.2f} MB (the cells as JSON: {json_bytes / 1e6:.1f} MB)")
    loads = [round(x) for x in figures["load_ms"]]
    print(f"load: median {statistics.median(loads):.0f} ms of {loads}")
    for key, label in (("filter_ms", "grid"), ("filter_full_matrix_ms", "grid and full matrix open")):
        times = figures[key]
        print(f"filter change, {label}: median {statistics.median(times):.1f} ms, max {max(times):.1f} ms")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
