"""Training budgets: a run is counted in optimizer steps, not in passes over however
many images the project happens to have (nnU-Net counts iterations the same way).

A budget is either a number of steps ("1500 steps", or just "1500") or a time on this
device ("10m", "90s", "1h").  A time becomes a step count from a timing of the run's
first steps (:func:`steps_for_time`); validation runs every ``eval_every`` steps
(:func:`eval_interval`), and each such interval is one "epoch" of the plots, the
journal and the checkpoints.  No torch here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_UNITS = {"s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
          "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
          "h": 3600.0, "hr": 3600.0, "hour": 3600.0, "hours": 3600.0}
_STEPS = ("step", "steps")
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$")
MAX_STEPS = 10_000_000
MAX_SECONDS = 30 * 24 * 3600.0


@dataclass(frozen=True)
class Budget:
    """``seconds`` of training on this device, or ``steps`` optimizer steps."""

    steps: int | None = None
    seconds: float | None = None

    @property
    def timed(self) -> bool:
        return self.seconds is not None

    def text(self) -> str:
        if self.steps is not None:
            return f"{self.steps:,} steps"
        assert self.seconds is not None
        return describe_seconds(self.seconds)


def describe_seconds(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:g} s"


def parse_budget(text: str) -> Budget:
    """"10m", "90s", "1.5h", "1500 steps" or "1500" -> :class:`Budget`; ValueError with a
    message in words otherwise."""
    m = _PATTERN.match(str(text).lower().replace(",", "").replace("_", ""))
    if not m:
        raise ValueError(f"Training budget {text!r}: give a time such as 10m, 90s or 1h, or "
                         "a number of steps such as 1500 steps")
    value, unit = float(m.group(1)), m.group(2)
    if unit in ("",) + _STEPS:
        if value != int(value) or not 1 <= value <= MAX_STEPS:
            raise ValueError(f"Training budget {text!r}: a whole number of steps from 1 to "
                             f"{MAX_STEPS:,}")
        return Budget(steps=int(value))
    if unit not in _UNITS:
        raise ValueError(f"Training budget {text!r}: unknown unit {unit!r}; use s, m or h, "
                         "or steps")
    seconds = value * _UNITS[unit]
    if not 1 <= seconds <= MAX_SECONDS:
        raise ValueError(f"Training budget {text!r}: from 1 s to 30 days")
    return Budget(seconds=seconds)


def scaled(text: str, factor: float) -> str:
    """The budget ``text`` times ``factor`` (a round's share of a full run's budget)."""
    b = parse_budget(text)
    if b.steps is not None:
        return f"{max(1, round(b.steps * factor))} steps"
    assert b.seconds is not None
    return f"{max(1.0, round(b.seconds * factor)):g}s"


def eval_interval(total_steps: int, val_cost_steps: float, setting: int = 0) -> int:
    """Steps between validations: ``setting`` when given; else about 25 validations in a
    run, but no more often than every ten times a validation's cost in training steps
    (so validation stays under about a tenth of the time), at least 20 steps, at most
    the whole run."""
    if setting > 0:
        return min(setting, total_steps)
    k = max(math.ceil(total_steps / 25), math.ceil(10 * val_cost_steps), 20)
    return max(1, min(k, total_steps))


def steps_for_time(seconds_left: float, step_seconds: float, val_cost_steps: float,
                   eval_every: int | None = None) -> int:
    """How many more steps fit in ``seconds_left`` at ``step_seconds`` a step, with a
    validation (costing ``val_cost_steps`` steps' time) every ``eval_every`` steps
    (None: the interval :func:`eval_interval` gives for the result)."""
    if step_seconds <= 0:
        return 1
    per = step_seconds
    n = max(1, int(seconds_left / per))
    for _ in range(4):  # the interval depends on the count: settle them together
        k = eval_every or eval_interval(n, val_cost_steps)
        per = step_seconds * (1.0 + val_cost_steps / max(k, 1))
        n = max(1, int(seconds_left / per))
    return n
