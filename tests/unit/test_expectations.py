import pytest

from dlmatrix.model.expectations import Rule, expect, version_in


@pytest.mark.parametrize(
    ("versions", "version", "inside"),
    [
        ("*", None, True),
        ("*", "2.36", True),
        (">=2.31", "2.36", True),
        (">=2.31", "2.9", False),  # numeric, not lexical
        (">=2.31,<2.40", "2.41", False),
        (">=1.2.2,<1.2.5", "1.2.3", True),
        ("==1.2.3", "1.2.3", True),
        ("1.2.3", "1.2.4", False),
        ("<=2.36", "2.36", True),
        (">2.36", "2.36", False),
        (">=2.31", None, False),  # an unknown version fits only "*"
    ],
)
def test_version_ranges(versions, version, inside):
    assert version_in(versions, version) is inside


RULES = (
    Rule("app-linked", "*", "*", "*", "pass", "start-up"),
    Rule("*", "unpinned", "glibc", ">=2.40", "pass", "hypothetical fix"),
    Rule("*", "unpinned", "glibc", "*", "crash:SIGSEGV", "unmapped"),
    Rule("*", "*", "musl", "*", "pass", "never unloads"),
)


def test_first_matching_rule_wins():
    assert expect(RULES, "app-linked", "unpinned", "glibc", "2.36").outcome == "pass"
    assert expect(RULES, "reopen", "unpinned", "glibc", "2.36").outcome == "crash:SIGSEGV"
    assert expect(RULES, "reopen", "unpinned", "glibc", "2.41").reason == "hypothetical fix"
    assert expect(RULES, "reopen", "pinned", "musl", "1.2.3").outcome == "pass"


def test_no_rule_means_no_expectation():
    assert expect(RULES, "reopen", "pinned", "glibc", "2.36").outcome is None


def test_an_image_glob_narrows_a_rule_to_its_images():
    rules = (
        Rule("*", "libuv", "musl", "*", "skipped", "Debian builds it for glibc", image="debian-*"),
        Rule("*", "libuv", "musl", "*", "pass", "alpine builds it with musl"),
    )
    assert (
        expect(rules, "reopen", "libuv", "musl", "1.2.3", image="debian-bookworm-musl").outcome == "skipped"
    )
    assert expect(rules, "reopen", "libuv", "musl", "1.2.5", image="alpine-3.22-musl").outcome == "pass"
    hosts = Rule("*", "libuv", "musl", "*", "skipped", "Debian's", image="debian-*,host-*")
    assert expect((hosts,), "reopen", "libuv", "musl", "1.2.3", image="host-musl").outcome == "skipped"
    assert expect((hosts,), "reopen", "libuv", "musl", "1.2.5", image="alpine-3.22-musl").outcome is None


def test_evidence_conditions_say_what_an_ok_cell_lacks():
    rule = Rule("*", "*", "*", "*", "exit:4", "refused", evidence=(("registered", False), ("events", 0)))
    wanted = rule.expectation
    assert wanted.missing_evidence({"registered": False, "events": 0}) == []
    assert wanted.missing_evidence({"registered": True, "events": 0}) == ["registered: false (true)"]
    assert wanted.missing_evidence({"events": 0}) == ["registered: false (not recorded)"]
    assert wanted.missing_evidence({"registered": False, "events": "0"}) == []  # as the suite prints it
    assert wanted.missing_evidence({"registered": 0, "events": 0}) == [
        "registered: false (0)"
    ]  # 0 is no false


def test_a_cell_without_the_evidence_its_rule_wants_is_unexpected():
    from dataclasses import replace

    from dlmatrix.config.load import load_matrix
    from dlmatrix.model.cells import judged_cell
    from tests.unit.test_report import GLIBC

    unmapped = (("mapped@after-close", False),)
    rule = Rule("reopen", "unpinned", "glibc", "*", "crash:SIGSEGV", "unmapped", evidence=unmapped)
    matrix = replace(load_matrix(), rules=(rule,))
    shown = judged_cell(
        matrix, GLIBC, "reopen", "unpinned", ["crash:SIGSEGV"], [0.1], {"mapped@after-close": False}
    )
    assert shown.verdict == "ok" and shown.conditions == {"mapped@after-close": False}
    mapped = judged_cell(
        matrix, GLIBC, "reopen", "unpinned", ["crash:SIGSEGV"], [0.1], {"mapped@after-close": True}
    )
    assert mapped.verdict == "unexpected"  # the declared crash, but not for the declared reason
    assert judged_cell(matrix, GLIBC, "reopen", "unpinned", ["crash:SIGSEGV"], [0.1]).verdict == "unexpected"


def test_the_suite_catalog_carries_evidence_rate_and_only_the_images_rules():
    from dataclasses import replace

    from dlmatrix.config.load import load_matrix
    from dlmatrix.suite.bundle import suite_tsv

    rules = (
        Rule("reopen", "unpinned", "glibc", "*", "crash:SIGSEGV", "r", racy=True, rate=(0.2, 0.8),
             evidence=(("mapped@after-close", False), ("threads", 2)), image="debian-*"),
        Rule("*", "*", "*", "*", "pass", "else"),
    )  # fmt: skip
    matrix = replace(load_matrix(), rules=rules)

    def expects(image: str) -> list[list[str]]:
        lines = suite_tsv(matrix, image=image).splitlines()
        return [line.split("\t") for line in lines if line.startswith("expect")]

    first, last = expects("debian-bookworm-glibc")
    assert first[7:] == ["racy", "*", "mapped@after-close=false threads=2", "0.2,0.8"]
    assert last[7:] == ["-", "*", "-", "-"]
    assert [fields[5] for fields in expects("alpine-3.22-musl")] == ["pass"]


def test_explain_says_what_a_rule_asks_beyond_the_outcome():
    from dataclasses import replace

    from dlmatrix.config.load import load_matrix
    from dlmatrix.model.cells import judged_cell
    from dlmatrix.report.explain import sections
    from tests.unit.test_report import GLIBC

    rule = Rule(
        "reopen", "unpinned", "glibc", "*", "crash:SIGSEGV", "a race", racy=True, otherwise="exit:4",
        rate=(0.2, 0.8), evidence=(("mapped@after-close", False),),
    )  # fmt: skip
    results = ["crash:SIGSEGV", "exit:4", "exit:4", "crash:SIGSEGV", "exit:4"]
    cell = judged_cell(
        replace(load_matrix(), rules=(rule,)), GLIBC, "reopen", "unpinned", results, [0.1] * 5,
        {"mapped@after-close": False},
    )  # fmt: skip
    assert cell.verdict == "ok" and (cell.otherwise, cell.rate) == ("exit:4", [0.2, 0.8])
    expected = dict(sections(cell))["expected"]
    assert expected == [
        "crash:SIGSEGV: a race",
        "racy: crash:SIGSEGV in some of at least 5 attempts, in 20% to 80% of them, the others exit:4",
        "evidence wanted: mapped@after-close no",
    ]


def test_list_tells_each_image_the_rules_of_its_own_images():
    """`dlmatrix list` judges with the image's name, as a run does: Debian lacks what alpine has."""
    from dlmatrix.cli.list_cells import rows
    from dlmatrix.config.load import load_matrix
    from dlmatrix.model.selector import Selector

    matrix = load_matrix()
    found = {
        row["image"]: row["expected"]
        for row in rows(matrix, Selector.of("reopen", "lttng-ust", "alpine-3.22-musl,debian-bookworm-musl"))
    }
    assert found == {"alpine-3.22-musl": "pass", "debian-bookworm-musl": "skipped"}
