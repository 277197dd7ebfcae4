"""The editor's tool options, free of Qt: the class to paint, the brush radius, the
fill / wand tolerance, "preserve other classes" and the Replace tool's source class.

:class:`EditorOptions` holds them, clamps what it is given, reports each real change
once through its ``changed`` callbacks (the window repaints hints and cursors, and
stores radius, tolerance and preserve in its settings) and answers what the tools
ask: the class to paint and which pixels "preserve" lets them overwrite.

Preserve other classes: only unlabelled pixels and the pixels of the classes the
user marked background change; no class is background because of its id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from . import edits
from .classes import ClassTable

MAX_RADIUS = 400
MAX_TOLERANCE = 255
DEFAULT_RADIUS = 8

# what the window stores, and under which keys (the values are strings or ints)
SETTING_KEYS = ("radius", "tolerance", "preserve")


def preserved_lut(table: ClassTable) -> npt.NDArray[np.bool_] | None:
    """The ids "preserve other classes" may paint over, or None when there are none
    (then nothing may change)."""
    ids = [table.ignore_index, *table.background_ids]
    if all(i is None for i in ids):
        return None
    return edits.overwritable(ids)


def _int(value: object, default: int, lo: int, hi: int) -> int:
    if not isinstance(value, (int, float, str)):
        return default
    try:
        number = int(value)
    except ValueError:
        return default
    return max(lo, min(hi, number))


@dataclass(frozen=True)
class OptionsChange:
    """Which options one change touched (``stored``: those the settings keep)."""
    names: frozenset[str]

    @property
    def stored(self) -> frozenset[str]:
        return self.names & frozenset(SETTING_KEYS)


class EditorOptions:
    """The options every tool reads; see the module doc."""

    def __init__(self, radius: int = DEFAULT_RADIUS, tolerance: int = 0,
                 preserve: bool = False, active_class: int | None = None):
        self.radius = _int(radius, DEFAULT_RADIUS, 0, MAX_RADIUS)
        self.tolerance = _int(tolerance, 0, 0, MAX_TOLERANCE)
        self.preserve = bool(preserve)
        self.active_class = active_class
        self.replace_from: int | None = None
        self.changed: list[Callable[[OptionsChange], None]] = []
        self._lut: tuple[ClassTable, npt.NDArray[np.bool_]] | None = None

    # -- the settings the window keeps ---------------------------------------------------
    @classmethod
    def from_settings(cls, values: Mapping[str, object],
                      active_class: int | None = None) -> EditorOptions:
        """Options from stored values (strings as QSettings gives them; a bad or missing
        value takes its default)."""
        return cls(_int(values.get("radius", DEFAULT_RADIUS), DEFAULT_RADIUS, 0, MAX_RADIUS),
                   _int(values.get("tolerance", 0), 0, 0, MAX_TOLERANCE),
                   str(values.get("preserve", "false")).lower() == "true", active_class)

    def settings(self) -> dict[str, object]:
        """The values to store under :data:`SETTING_KEYS`."""
        return {"radius": self.radius, "tolerance": self.tolerance,
                "preserve": "true" if self.preserve else "false"}

    # -- changes -------------------------------------------------------------------------
    def _emit(self, *names: str) -> None:
        change = OptionsChange(frozenset(names))
        for callback in list(self.changed):
            callback(change)

    def _set(self, name: str, value: object) -> bool:
        """Set one option; a real change is reported once, the same value not at all."""
        if getattr(self, name) == value:
            return False
        setattr(self, name, value)
        self._emit(name)
        return True

    def set_radius(self, radius: int) -> bool:
        return self._set("radius", max(0, min(MAX_RADIUS, int(radius))))

    def grow_radius(self, step: int) -> bool:
        """One step of [ or ]: about 15 % of the radius, at least one pixel."""
        delta = max(1, round(self.radius * 0.15))
        return self.set_radius(self.radius + delta if step > 0 else self.radius - delta)

    def set_tolerance(self, tolerance: int) -> bool:
        return self._set("tolerance", max(0, min(MAX_TOLERANCE, int(tolerance))))

    def set_preserve(self, on: bool) -> bool:
        return self._set("preserve", bool(on))

    def set_replace_from(self, class_id: int | None) -> bool:
        return self._set("replace_from", class_id)

    def set_active_class(self, class_id: int | None) -> bool:
        return self._set("active_class", class_id)

    def classes_changed(self, table: ClassTable) -> None:
        """A new class table: a deleted source class is forgotten, the preserve table is
        built again; the tools are told either way (colours and names may have moved)."""
        self._lut = None
        if self.replace_from is not None and table.by_id(self.replace_from) is None:
            self.replace_from = None
        self._emit("classes")

    # -- what the tools ask --------------------------------------------------------------
    def paint_class(self, table: ClassTable) -> int | None:
        """The class to paint, or None when none is chosen or it is not in ``table``."""
        cid = self.active_class
        if cid is None or table.by_id(cid) is None:
            return None
        return cid

    def allowed(self, table: ClassTable) -> npt.NDArray[np.bool_] | None:
        """The "preserve other classes" table (ids that may be overwritten), or None when
        the switch is off.  With nothing to paint over, no id may change."""
        if not self.preserve:
            return None
        if self._lut is None or self._lut[0] is not table:
            lut = preserved_lut(table)
            self._lut = (table, np.zeros(256, dtype=bool) if lut is None else lut)
        return self._lut[1]
