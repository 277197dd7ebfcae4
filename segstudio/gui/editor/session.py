"""The window's side of the Qt-free editing model (:mod:`segstudio.core.editing`).

The editor owns a :class:`segstudio.core.editing.SessionStore` (per-image
mask + patch undo stack + save state); :class:`SessionSignals` turns the
store's callbacks into Qt signals: ``changed(session, bbox)`` for repaints
and ``history(...)`` for the Undo / Redo actions, the window's modified mark
and the status line.  Every edit, undo and redo happens in the core
objects, so they can be driven and tested without a window.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRect, Signal

from ...core import editing
from ...core.editing import EditSession

__all__ = ["EditSession", "SessionSignals", "make_store", "qrect"]


def qrect(bbox: tuple[int, int, int, int]) -> QRect:
    """Core rect (y0, x0, y1, x1) -> QRect."""
    y0, x0, y1, x1 = bbox
    return QRect(x0, y0, x1 - x0, y1 - y0)


class SessionSignals(QObject):
    changed = Signal(object, object)   # EditSession, bbox (y0, x0, y1, x1) or None: mask changed
    dropped = Signal(int)              # image id whose session (and history) was dropped
    history = Signal()                 # what Undo / Redo offer, or the clean state, changed


def make_store(signals: SessionSignals, **bounds) -> editing.SessionStore:
    """The editor's session store, reporting through ``signals``."""
    return editing.SessionStore(on_changed=signals.changed.emit, on_dropped=signals.dropped.emit,
                                on_history=signals.history.emit, **bounds)
