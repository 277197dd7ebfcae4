"""The argparse types of the command line's numbers, in one place.

Each takes the option's text and returns the value or raises
``argparse.ArgumentTypeError`` with the text and what it must be; argparse puts the
option's name in front ("argument --lr: 'x' is not a number").  Not-a-number and
infinite values are refused wherever a range is asked.

``fraction``: 0 <= F < 1 (a share that leaves something over, e.g. ``--val-split``);
``unit``: 0 <= F <= 1 (an opacity, a probability); ``positive(int)`` / ``positive(float)``:
above 0 (whole numbers: at least 1), optionally at most ``limit``; ``seed``: a seed
``torch.manual_seed`` takes; ``size``: ``HxW`` or ``N`` pixels.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import TypeVar

Num = TypeVar("Num", int, float)

MAX_SEED = 2 ** 63 - 1  # torch.manual_seed takes 64-bit seeds
MAX_SIDE = 16384  # a training crop side; beyond it nothing fits in any device's memory


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


def seed(text: str) -> int:
    """A random seed: 0 .. 2**63 - 1."""
    value = _number(int, text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"{text}: the seed must be 0..{MAX_SEED}")
    return value


def size(text: str) -> tuple[int, int]:
    """'HxW' or 'N' -> (H, W), each side 1 .. MAX_SIDE pixels."""
    try:
        if "x" in text.lower():
            h, w = text.lower().split("x", 1)
            out = (int(h), int(w))
        else:
            out = (int(text), int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 256x256") from None
    if min(out) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: sizes must be positive")
    if max(out) > MAX_SIDE:
        raise argparse.ArgumentTypeError(f"{text!r}: each side is at most {MAX_SIDE} pixels")
    return out
