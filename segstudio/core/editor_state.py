"""The editor's tool options, free of Qt: the class to paint, the brush radius, the
fill / wand tolerance, "preserve other classes" and the Replace tool's source class.

:class:`EditorOptions` holds them (an evented dataclass, as ndv's models are: psygnal
gives every field a typed signal, ``options.events.radius`` and so on, emitted once
per real change with the new and the old value; ``options.events.connect(cb)`` hears
them all), clamps what its setters are given and answers what the tools ask: the
class to paint and which pixels "preserve" lets them overwrite.  ``events.table``
says a new class table arrived (colours and names may have moved).  The window
repaints hints and cursors on these signals and stores radius, tolerance and
preserve in its settings.

Preserve other classes: only unlabelled pixels and the pixels of the classes the
user marked background change; no class is background because of its id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from psygnal import Signal, SignalGroup, SignalGroupDescriptor

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


class OptionsEvents(SignalGroup):
    """The signals of :class:`EditorOptions`: one per field (added by psygnal, emitted
    with the new and the old value) and ``table``, a new class table."""

    table = Signal(ClassTable)


@dataclass(eq=False)
class EditorOptions:
    """The options every tool reads; see the module doc.  Change them through the
    setters (they clamp, and return whether the value really changed)."""

    radius: int = DEFAULT_RADIUS
    tolerance: int = 0
    preserve: bool = False
    active_class: int | None = None
    replace_from: int | None = None
    _lut: tuple[ClassTable, npt.NDArray[np.bool_]] | None = field(
        default=None, init=False, repr=False)

    events: ClassVar[SignalGroupDescriptor] = SignalGroupDescriptor(
        signal_group_class=OptionsEvents, signal_aliases={"_lut": None})

    def __post_init__(self) -> None:
        self.radius = _int(self.radius, DEFAULT_RADIUS, 0, MAX_RADIUS)
        self.tolerance = _int(self.tolerance, 0, 0, MAX_TOLERANCE)
        self.preserve = bool(self.preserve)

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

    # -- changes (each field's signal is emitted by psygnal when its value changes) ------
    def set_radius(self, radius: int) -> bool:
        before, self.radius = self.radius, max(0, min(MAX_RADIUS, int(radius)))
        return self.radius != before

    def grow_radius(self, step: int) -> bool:
        """One step of [ or ]: about 15 % of the radius, at least one pixel."""
        delta = max(1, round(self.radius * 0.15))
        return self.set_radius(self.radius + delta if step > 0 else self.radius - delta)

    def set_tolerance(self, tolerance: int) -> bool:
        before, self.tolerance = self.tolerance, max(0, min(MAX_TOLERANCE, int(tolerance)))
        return self.tolerance != before

    def set_preserve(self, on: bool) -> bool:
        before, self.preserve = self.preserve, bool(on)
        return self.preserve != before

    def set_replace_from(self, class_id: int | None) -> bool:
        before, self.replace_from = self.replace_from, class_id
        return self.replace_from != before

    def set_active_class(self, class_id: int | None) -> bool:
        before, self.active_class = self.active_class, class_id
        return self.active_class != before

    def classes_changed(self, table: ClassTable) -> None:
        """A new class table: a deleted source class is forgotten, the preserve table is
        built again; ``events.table`` tells the tools either way (colours and names may
        have moved)."""
        self._lut = None
        if self.replace_from is not None and table.by_id(self.replace_from) is None:
            self.replace_from = None
        self.events.table.emit(table)

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
