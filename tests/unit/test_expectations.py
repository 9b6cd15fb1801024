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
