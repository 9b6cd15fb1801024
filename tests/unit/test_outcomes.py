import pytest

from dlmatrix.model.outcomes import RACY_MIN_ATTEMPTS, Outcome, representative, verdict


@pytest.mark.parametrize(
    "text", ["pass", "crash:SIGSEGV", "exit:3", "timeout", "build-error", "error", "skipped"]
)
def test_outcome_round_trips(text):
    assert str(Outcome.parse(text)) == text


def test_outcome_parts():
    assert Outcome.parse("crash:SIGBUS") == Outcome("crash", signal="SIGBUS")
    assert Outcome.parse("exit:5") == Outcome("exit", exit_code=5)


@pytest.mark.parametrize("text", ["crash", "crash:segv", "exit:x", "passed", ""])
def test_bad_outcome_names_the_allowed_values(text):
    with pytest.raises(ValueError, match="allowed: pass, crash:SIGNAME"):
        Outcome.parse(text)


def test_verdicts():
    assert verdict("crash:SIGSEGV", ["crash:SIGSEGV"] * 20) == "ok"
    assert verdict("pass", ["crash:SIGSEGV"] * 3) == "unexpected"
    assert verdict("pass", ["pass", "crash:SIGSEGV", "pass"]) == "flaky"
    assert verdict(None, ["pass"]) == "unexpected"
    with pytest.raises(ValueError):
        verdict("pass", [])


def test_a_cell_that_did_not_run_is_never_ok():
    assert verdict("skipped", ["skipped"]) == "skipped"  # declared not applicable
    assert verdict("pass", ["skipped"]) == "not-run"  # expected to run: no base, left out, no source
    assert verdict("crash:SIGSEGV", ["skipped"] * 3, racy=True) == "not-run"
    assert verdict(None, ["skipped"]) == "not-run"
    assert verdict("build-error", ["build-error"]) == "not-run"  # declared, but nothing was tested
    assert verdict("pass", ["build-error"]) == "unexpected"
    assert verdict("pass", ["error"]) == "unexpected"
    assert verdict("skipped", ["pass"]) == "unexpected"


def test_representative_attempt_is_the_first_miss():
    assert representative("pass", ["pass", "pass", "crash:SIGSEGV", "timeout"]) == 2
    assert representative("pass", ["pass", "pass"]) == 0


def test_racy_expectations_allow_passing_attempts_but_need_the_race():
    five = ["pass", "crash:SIGSEGV", "pass", "pass", "pass"]
    assert verdict("crash:SIGSEGV", five, racy=True) == "ok"
    assert verdict("crash:SIGSEGV", ["pass"] * 10, racy=True) == "not-reproduced"  # it never happened
    assert verdict("crash:SIGSEGV", ["crash:SIGSEGV", "pass"], racy=True) == "not-reproduced"  # too few
    assert verdict("crash:SIGSEGV", ["crash:SIGSEGV"] * RACY_MIN_ATTEMPTS, racy=True) == "ok"
    assert verdict("crash:SIGSEGV", ["pass", "timeout"], racy=True) == "flaky"
    assert verdict("crash:SIGSEGV", ["exit:4"] * 3, racy=True) == "unexpected"
    assert verdict("crash:SIGSEGV", ["pass", "crash:SIGSEGV"]) == "flaky"  # not racy: attempts must agree
    assert representative("crash:SIGSEGV", ["pass", "crash:SIGSEGV", "pass"], racy=True) == 1
    assert representative("crash:SIGSEGV", ["pass", "timeout"], racy=True) == 1


def test_a_racy_rule_with_a_rate_bounds_the_share_of_attempts():
    two_of_five = ["crash:SIGSEGV", "pass", "crash:SIGSEGV", "pass", "pass"]
    assert verdict("crash:SIGSEGV", two_of_five, racy=True, rate=(0.2, 0.6)) == "ok"
    assert verdict("crash:SIGSEGV", two_of_five, racy=True, rate=(0.4, 0.4)) == "ok"  # bounds included
    assert verdict("crash:SIGSEGV", two_of_five, racy=True, rate=(0.6, 1.0)) == "unexpected"
    assert verdict("crash:SIGSEGV", ["crash:SIGSEGV"] * 5, racy=True, rate=(0.1, 0.9)) == "unexpected"


def test_a_race_between_two_ends_allows_exactly_those_two():
    mixed = ["exit:4", "crash:SIGSEGV", "exit:4", "exit:4", "exit:4"]
    assert verdict("crash:SIGSEGV", mixed, racy=True, otherwise="exit:4") == "ok"
    assert verdict("crash:SIGSEGV", ["exit:4"] * 5, racy=True, otherwise="exit:4") == "not-reproduced"
    assert verdict("crash:SIGSEGV", mixed, racy=True) == "flaky"  # others must pass by default
    assert verdict("crash:SIGSEGV", ["pass", "crash:SIGSEGV"], racy=True, otherwise="exit:4") == "flaky"
    assert representative("crash:SIGSEGV", mixed, racy=True, otherwise="exit:4") == 1
