"""The argparse types of the command line's numbers, in one place.

Each takes the option's text and returns the value or raises
``argparse.ArgumentTypeError`` with the text and what it must be; argparse puts the
option's name in front ("argument --lr: 'x' is not a number").  Not-a-number and
infinite values are refused wherever a range is asked.

``fraction``: 0 <= F < 1 (a share that leaves something over, e.g. ``--val-split``);
``unit``: 0 <= F <= 1 (an opacity, a probability); ``positive(int)`` / ``positive(float)``:
above 0 (whole numbers: at least 1), optionally at most ``limit``.  The training
settings' flags are typed by their own declarations instead (:mod:`segstudio.nn.settings`,
read by ``segstudio train``).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import TypeVar

Num = TypeVar("Num", int, float)



def _number(kind: Callable[[str], Num], text: str) -> Num:
    try:
        value = kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def fraction(text: str) -> float:
    """A share that leaves something over: 0 <= F < 1."""
    value = _number(float, text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"{text}: must be in [0, 1)")
    return value


def unit(text: str) -> float:
    """A number from 0 to 1, both included."""
    value = _number(float, text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text}: must be between 0 and 1")
    return value


def positive(kind: Callable[[str], Num], limit: Num | None = None) -> Callable[[str], Num]:
    """The type of a number of ``kind`` (int or float) above 0, at most ``limit``."""
    def parse(text: str) -> Num:
        value = _number(kind, text)
        if not value > 0:
            raise argparse.ArgumentTypeError(
                f"{text}: must be at least 1" if kind is int else f"{text}: must be positive")
        if limit is not None and value > limit:
            raise argparse.ArgumentTypeError(f"{text}: must be at most {limit:,}")
        return value
    parse.__name__ = f"positive {getattr(kind, '__name__', 'number')}"
    return parse
