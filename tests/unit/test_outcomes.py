import pytest

from dlmatrix.model.outcomes import Outcome, representative, verdict


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
    assert verdict("pass", ["skipped"]) == "skipped"
    with pytest.raises(ValueError):
        verdict("pass", [])


def test_representative_attempt_is_the_first_miss():
    assert representative("pass", ["pass", "pass", "crash:SIGSEGV", "timeout"]) == 2
    assert representative("pass", ["pass", "pass"]) == 0


def test_racy_expectations_allow_passing_attempts():
    assert verdict("crash:SIGSEGV", ["pass", "crash:SIGSEGV", "pass"], racy=True) == "ok"
    assert verdict("crash:SIGSEGV", ["pass"] * 10, racy=True) == "ok"
    assert verdict("crash:SIGSEGV", ["pass", "timeout"], racy=True) == "flaky"
    assert verdict("crash:SIGSEGV", ["exit:4"] * 3, racy=True) == "unexpected"
    assert verdict("crash:SIGSEGV", ["pass", "crash:SIGSEGV"]) == "flaky"  # not racy: attempts must agree
    assert representative("crash:SIGSEGV", ["pass", "crash:SIGSEGV", "pass"], racy=True) == 1
    assert representative("crash:SIGSEGV", ["pass", "timeout"], racy=True) == 1


def test_a_race_between_two_ends_allows_exactly_those_two():
    mixed = ["exit:4", "crash:SIGSEGV", "exit:4"]
    assert verdict("crash:SIGSEGV", mixed, racy=True, otherwise="exit:4") == "ok"
    assert verdict("crash:SIGSEGV", mixed, racy=True) == "flaky"  # others must pass by default
    assert verdict("crash:SIGSEGV", ["pass", "crash:SIGSEGV"], racy=True, otherwise="exit:4") == "flaky"
    assert representative("crash:SIGSEGV", mixed, racy=True, otherwise="exit:4") == 1
