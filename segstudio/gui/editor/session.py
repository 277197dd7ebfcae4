"""The window's side of the Qt-free editing model (:mod:`segstudio.core.editing`).

The editor owns a :class:`segstudio.core.editing.SessionStore` (per-image
mask + patch undo stack + save state) and connects to its psygnal signals
directly (``mask_changed`` for repaints, ``history_changed`` for the Undo / Redo
actions, the window's modified mark and the status line): no Qt relay is
needed, as they are emitted on the GUI thread where every edit, undo and redo
happens.  The core objects can be driven and tested without a window.
"""

from __future__ import annotations

from PySide6.QtCore import QRect

from ...core.editing import EditSession, SessionStore

__all__ = ["EditSession", "SessionStore", "qrect"]


def qrect(bbox: tuple[int, int, int, int]) -> QRect:
    """Core rect (y0, x0, y1, x1) -> QRect."""
    y0, x0, y1, x1 = bbox
    return QRect(x0, y0, x1 - x0, y1 - y0)
