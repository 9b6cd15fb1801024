"""`dlmatrix prune --build-cache AGE`: the age as the engine's `until` filter takes it."""

from __future__ import annotations

import argparse

import pytest

from dlmatrix.cli.prune import unused_for


@pytest.mark.parametrize(("age", "until"), [("7d", "168h"), ("24h", "24h"), ("30m", "30m"), ("0s", "0s")])
def test_an_age_becomes_a_go_duration(age, until):
    assert unused_for(age) == until  # Go's durations have no days


@pytest.mark.parametrize("age", ["a week", "7", "-1d", "1.5h", "7d2h", ""])
def test_anything_else_is_refused_with_examples(age):
    with pytest.raises(argparse.ArgumentTypeError, match="is not an age like 7d, 24h, 30m or 0s"):
        unused_for(age)
