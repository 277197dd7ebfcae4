"""The command line's number types (segstudio/cli/argtypes.py): each refuses what is out of
range, not a number, NaN or infinite, in one line naming the text."""

import argparse
import re

import pytest

from segstudio.cli.argtypes import fraction, positive, unit


@pytest.mark.parametrize("parse, text, want", [
    (fraction, "0", 0.0), (fraction, "0.25", 0.25), (unit, "1", 1.0), (unit, "0.5", 0.5),
    (positive(int), "3", 3), (positive(float), "1e-4", 1e-4), (positive(int, 10), "10", 10),
])
def test_good_values(parse, text, want):
    assert parse(text) == want


@pytest.mark.parametrize("parse, text, said", [
    (fraction, "1", "1: must be in [0, 1)"), (fraction, "nan", "'nan' is not a finite number"),
    (fraction, "-0.1", "-0.1: must be in [0, 1)"), (unit, "1.5", "1.5: must be between 0 and 1"),
    (unit, "x", "'x' is not a number"), (positive(int), "0", "0: must be at least 1"),
    (positive(int), "2.5", "'2.5' is not a whole number"),
    (positive(float), "0", "0: must be positive"),
    (positive(float), "-inf", "'-inf' is not a finite number"),
    (positive(int, 10), "11", "11: must be at most 10"),
])
def test_bad_values_say_what_is_wrong(parse, text, said):
    with pytest.raises(argparse.ArgumentTypeError, match=re.escape(said)):
        parse(text)
