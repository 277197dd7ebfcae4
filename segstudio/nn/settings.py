"""How each training setting is described, once: its words, its help, its choices or
range, its command-line flag.  :class:`~config.TrainConfig` declares every field with
:func:`setting`; its checks (:meth:`TrainConfig.validate`), the CLI's flags
(``segstudio train``) and the Training panel's fields read these records, so a
setting's choices, range, default and help are written in one place.

No torch here: the window reads these before torch is imported.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..core.errors import SegStudioError


class ConfigError(SegStudioError):
    """A training setting is out of range; the message names it in words."""


@dataclass(frozen=True)
class Spec:
    """One setting: ``label`` is how the CLI and the window both name it in messages
    ("batch size"); ``choices`` a fixed set of values (a callable for a registry's
    names); ``low``/``high`` its range (``open_high``: the high end is excluded);
    ``flag`` the command-line option (None: not on the command line; default
    ``--field-name``)."""

    label: str
    help: str = ""
    choices: tuple[Any, ...] | Callable[[], tuple[Any, ...]] | None = None
    low: float | None = None
    high: float | None = None
    open_high: bool = False
    flag: str | None = ""
    metavar: str | None = None
    parse: Callable[[str], Any] | None = None  # the flag's text -> the field's value
    optional: bool = False  # None is a valid value

    def allowed(self) -> tuple[Any, ...] | None:
        c = self.choices
        return c() if callable(c) else c

    def cli_flag(self, name: str) -> str | None:
        if self.flag is None:
            return None
        return self.flag or "--" + name.replace("_", "-")

    def check(self, value: Any) -> None:
        """Raise :class:`ConfigError` when ``value`` is not allowed, in words."""
        if value is None and self.optional:
            return
        label = self.label[:1].upper() + self.label[1:]
        allowed = self.allowed()
        if allowed is not None and value not in allowed:
            names = [str(a) for a in allowed]
            listed = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
            raise ConfigError(f"{label} {value!r}: choose {listed}")
        if self.low is None and self.high is None:
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not math.isfinite(float(value)):
            raise ConfigError(f"{label} {value!r}: must be a number")
        if self.low is not None and value < self.low:
            raise ConfigError(f"{label} {_num(value)}: must be at least {_num(self.low)}")
        if self.high is not None and (value >= self.high if self.open_high
                                      else value > self.high):
            word = "below" if self.open_high else "at most"
            raise ConfigError(f"{label} {_num(value)}: must be {word} {_num(self.high)}")


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def setting(default: Any, spec: Spec) -> Any:
    """A dataclass field with its :class:`Spec` (``dataclasses.field`` metadata)."""
    return dataclasses.field(default=default, metadata={"spec": spec})


def specs(cls: type) -> Mapping[str, Spec]:
    """Every field of a settings dataclass that has a :class:`Spec`, in declaration order."""
    return {f.name: f.metadata["spec"] for f in dataclasses.fields(cls)
            if "spec" in f.metadata}


def spec_of(cls: type, name: str) -> Spec:
    return specs(cls)[name]


# -- parsers for the flags (argparse calls them; a ValueError becomes its message) --------

MAX_SIDE = 16384  # a training crop side; beyond it nothing fits in any device's memory


def parse_hw(text: str) -> tuple[int, int]:
    """"192x256" -> (192, 256), "256" -> (256, 256); each side 1..:data:`MAX_SIDE`."""
    try:
        if "x" in text.lower():
            h, w = text.lower().replace(" ", "").split("x", 1)
            out = (int(h), int(w))
        else:
            out = (int(text), int(text))
    except ValueError:
        raise ValueError(f"{text!r} is not a size like 256x256") from None
    if min(out) <= 0:
        raise ValueError(f"{text!r}: sizes must be positive")
    if max(out) > MAX_SIDE:
        raise ValueError(f"{text!r}: each side is at most {MAX_SIDE} pixels")
    return out


def parse_optional_path(text: str) -> str | None:
    """A path, or None for "none"."""
    return None if text.strip().lower() == "none" else text
