"""The driver's exit codes, one per cause: the C definitions (src/c/exits.h), the LTTng helpers'
names for theirs (src/c/lttng/lttng-common) and the table of docs/results.md must agree, and the
catalog may expect only codes of that table, each with its cause in the reason."""

from __future__ import annotations

import re

from dlmatrix.config.load import load_matrix
from tests.conftest import REPO

EXITS_H = REPO / "src" / "c" / "exits.h"
LTTNG_COMMON = REPO / "src" / "c" / "lttng" / "lttng-common"
RESULTS_MD = REPO / "docs" / "results.md"
RETIRED = 4  # every failed step before the causes were told apart


def c_codes() -> dict[str, tuple[int, bool]]:
    """exits.h's table: name (as the docs spell it: no-sessiond) -> (code, a helper may end with it)."""
    rows = re.findall(r"^\s*X\((\w+), (\d+), ([01])\)", EXITS_H.read_text(), re.M)
    return {name.lower().replace("_", "-"): (int(code), helper == "1") for name, code, helper in rows}


def shell_codes() -> dict[str, int]:
    """lttng-common's exit_NAME=CODE variables, named as the docs spell them."""
    rows = re.findall(r"^exit_(\w+)=(\d+)\b", LTTNG_COMMON.read_text(), re.M)
    return {name.replace("_", "-"): int(code) for name, code in rows}


def documented_codes() -> dict[str, tuple[int, bool]]:
    """The rows of docs/results.md's "Exit codes" table that name a code."""
    text = RESULTS_MD.read_text().split("\n## Exit codes\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| `([a-z-]+)` \| .+ \| (driver|helper) \|$", text, re.M)
    return {name: (int(code), by == "helper") for code, name, by in rows}


def test_the_documented_table_is_the_c_definitions():
    documented = documented_codes()
    assert len(documented) >= 12  # the parse found the table, not nothing
    assert documented == c_codes()


def test_the_helpers_name_exactly_the_helper_codes():
    helpers = {name: code for name, (code, helper) in c_codes().items() if helper}
    assert {"no-sessiond", "refused", "no-events"} <= set(helpers)
    assert shell_codes() == helpers


def test_every_code_is_one_cause_and_the_retired_one_is_gone():
    codes = [code for code, _ in c_codes().values()]
    assert len(codes) == len(set(codes))
    assert RETIRED not in codes
    assert f"| {RETIRED} | — | not used" in RESULTS_MD.read_text()


def test_the_driver_dies_only_with_a_named_code():
    """A die() with a bare number would be a cause the table does not name."""
    sources = {path.name: path.read_text() for path in (REPO / "src" / "c" / "driver").glob("*.c")}
    calls = [(name, call) for name, text in sources.items() for call in re.findall(r"\bdie\(([^,]+),", text)]
    assert len(calls) > 20
    assert [
        (name, code)
        for name, code in calls
        if not re.fullmatch(r"DLM_EXIT_[A-Z_]+|\(enum dlm_exit\).+", code)
    ] == [("main.c", "enum dlm_exit code")]
    named = {
        code.removeprefix("DLM_EXIT_").lower().replace("_", "-")
        for _, code in calls
        if code.startswith("DLM_")
    }
    assert named <= set(c_codes())


def test_the_helpers_end_with_their_named_codes_only():
    """Each helper that fails on purpose ends with exit "$exit_NAME", never a bare number but 0."""
    helpers = [path for path in (REPO / "src" / "c" / "lttng").glob("lttng-*") if path.name != "lttng-common"]
    texts = {path.name: path.read_text() for path in helpers}
    bare = [
        (name, code)
        for name, text in texts.items()
        for code in re.findall(r"\bexit (\d+)", text)
        if code != "0"
    ]
    assert bare == []
    assert 'exit "$exit_refused"' in texts["lttng-trace-check"]
    assert 'exit "$exit_no_events"' in texts["lttng-trace-check"]
    assert 'exit "$exit_no_sessiond"' in texts["lttng-trace-start"]


def test_the_catalog_expects_only_documented_codes_and_says_the_cause():
    matrix = load_matrix()
    known = {code for code, _ in c_codes().values()}
    expecting = [
        (rule, int(outcome.split(":")[1]))
        for rule in matrix.rules
        for outcome in (rule.outcome, rule.otherwise)
        if outcome.startswith("exit:")
    ]
    assert expecting  # the catalog has such rules: the loop below checks something
    for rule, code in expecting:
        assert code in known and code != 2, (
            rule.scenario,
            rule.runtime,
            code,
        )  # 2 is an error, not an outcome
        assert re.search(rf"\bexits? {code}\b", rule.reason), (rule.scenario, rule.runtime, rule.reason)
