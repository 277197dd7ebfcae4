"""Superpixels: click (or drag over) SLIC superpixels to give them to the active class.

* While the tool is active, SLIC superpixels of the image on screen are
  computed on a worker (:func:`~segstudio.core.smart.superpixels.compute_superpixels`;
  kept per image and size for the next time) and their boundaries drawn over
  the image.  Images larger than 2048 pixels a side are shrunk for SLIC and the
  labels scaled back (nearest); the status bar says so.
* Their size follows the brush: a superpixel is about the brush's diameter
  across ([ and ] change it; it is recomputed a moment after the last change).
* Left click or drag: each superpixel touched is painted with the active class
  (preserve other classes applies), the whole drag one undo step.  Right or
  Shift click/drag: the active class's pixels in them go back to unlabelled.
"""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor

from ...core.smart.superpixels import SuperpixelStroke, compute_size, compute_superpixels
from .smart_base import SmartTool
from .smart_overlay import IndexedOverlay

EDGE_COLOR = QColor(255, 235, 80, 170)
CACHE = 3            # superpixel maps kept (image, size)
RECOMPUTE_MS = 350   # after the last size change


def superpixel_size(radius: int) -> int:
    """The superpixel side for a brush radius: the brush's diameter, at least 4 px."""
    return max(4, 2 * int(radius) + 1)


class SuperpixelTool(SmartTool):
    name = "superpixels"
    label = "Superpixels"
    shortcut = "K"
    tip = ("Superpixels: click or drag adds SLIC superpixels to the active class, right or "
           "Shift click takes it out of them; their size is the brush size ([ and ])")

    what = "superpixels"

    def __init__(self, host) -> None:
        super().__init__(host)
        self.cache: OrderedDict[tuple, object] = OrderedDict()
        self.map = None              # SuperpixelMap of the image on screen, at the current size
        self.map_key: tuple | None = None
        self.edges = self.add_item(IndexedOverlay([EDGE_COLOR]))
        self.edges.setVisible(False)
        self._stroke: SuperpixelStroke | None = None
        self._session = None
        self._timer = QTimer()       # the tool's own (it lives as long as the editor)
        self._timer.setSingleShot(True)
        self._timer.setInterval(RECOMPUTE_MS)
        self._timer.timeout.connect(self.ensure_map)

    @property
    def computing(self):
        """The task under way, or None."""
        return self.running

    @property
    def busy(self) -> bool:
        return self._stroke is not None

    @property
    def holds_mask(self) -> bool:
        return self._stroke is not None

    def size(self) -> int:
        return superpixel_size(self.host.radius)

    def _key(self, doc) -> tuple:
        return (doc.rec.id, self.size(), doc.height, doc.width)

    def _scaled_note(self, doc) -> str:
        h, w = compute_size((doc.height, doc.width))
        return "" if (h, w) == (doc.height, doc.width) else f" on a {w} x {h} copy"

    def hint(self) -> str:
        doc = self.host.document()
        note = self._scaled_note(doc) if doc is not None and doc.ok else ""
        if self.computing is not None:
            return f"Superpixels: computing about {self.size()} px superpixels{note} …"
        name = self.host.class_name(self.host.active_class)
        return (f"Superpixels (about {self.size()} px{note}): click or drag adds them to "
                f"{name}; right or Shift click takes {name} out of them; "
                "size = brush size ([ and ])")

    # -- the map ---------------------------------------------------------------------------
    def activate(self, canvas) -> None:
        super().activate(canvas)
        self.ensure_map()

    def deactivate(self) -> None:
        self._timer.stop()
        super().deactivate()

    def ensure_map(self) -> None:
        """Show the superpixels of the image on screen at the current size (computing them
        on a worker unless cached)."""
        doc = self.host.document()
        if self.canvas is None or doc is None or not doc.ok:
            self._show(None)
            return
        key = self._key(doc)
        if self.map is not None and self.map_key == key:
            return
        cached = self.cache.get(key)
        if cached is not None:
            self.cache.move_to_end(key)
            self._show(key, cached)
            return
        self._show(None)
        self.run()

    def request(self):
        doc = self.host.document()
        if doc is None or not doc.ok:
            return None
        return doc.display, self.size(), self._key(doc)

    @staticmethod
    def compute(inputs):
        image, size, key = inputs
        spmap = compute_superpixels(image, size)
        return key, spmap, spmap.boundaries()

    def busy_text(self, inputs) -> str:
        doc = self.host.document()
        return f"Superpixels: computing{self._scaled_note(doc)} …"

    def apply(self, result) -> None:
        key, spmap, edges = result
        self.cache[key] = (spmap, edges)
        while len(self.cache) > CACHE:
            self.cache.popitem(last=False)
        doc = self.host.document()
        if self._key(doc) == key:  # not if the size changed meanwhile
            self._show(key, (spmap, edges))

    def _show(self, key, entry=None) -> None:
        if entry is None:
            self.map, self.map_key = None, None
            self.edges.show_array(None)
            return
        spmap, edges = entry
        self.map, self.map_key = spmap, key
        h, w = spmap.shape
        eh, ew = edges.shape
        self.edges.show_array(edges, 0, 0, w / ew, h / eh)

    def options_changed(self) -> None:
        doc = self.host.document()
        if self.canvas is None or doc is None or not doc.ok:
            return
        if self.map_key != self._key(doc):
            self._show(None)
            self._timer.start()
            self.hint_changed()

    def document_changed(self) -> None:
        if self._stroke is not None:  # a held drag stays a step of the image it was on
            self._commit()
        self.job.cancel()
        self._show(None)
        self._timer.stop()
        if self.canvas is not None:
            self.ensure_map()

    # -- painting ----------------------------------------------------------------------------------
    def mouse_press(self, ev) -> bool:
        if ev.button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return False
        if self._stroke is not None:
            return True
        if self.map is None:
            self.host.message("the superpixels are still being computed; click again "
                                "in a moment")
            return True
        value = self.host.require_class()
        if value is None:
            return True
        remove = ev.button == Qt.MouseButton.RightButton or bool(
            ev.modifiers & Qt.KeyboardModifier.ShiftModifier)
        if remove:
            ignore = self.host.class_table().ignore_index
            if ignore is None:
                self.host.message("this class table has no unlabelled class to take "
                                    "superpixels back to")
                return True
            paint, allowed = ignore, [value]
        else:
            paint, allowed = value, self.host.allowed()
        session = self.host.begin_edit()
        if session is None:
            return True
        self._stroke = SuperpixelStroke(session.mask, self.map, paint, allowed=allowed,
                                        name="Superpixels")
        self._session = session
        self.host.repaint(session, self._stroke.add_point(ev.pos.x(), ev.pos.y()))
        return True

    def mouse_move(self, ev) -> bool:
        if self._stroke is None:
            return False
        self.host.repaint(self._session, self._stroke.add_point(ev.pos.x(), ev.pos.y()))
        return True

    def mouse_release(self, ev) -> bool:
        if self._stroke is None or ev.button not in (Qt.MouseButton.LeftButton,
                                                     Qt.MouseButton.RightButton):
            return False
        self.host.repaint(self._session, self._stroke.add_point(ev.pos.x(), ev.pos.y()))
        self._commit()
        return True

    def _commit(self) -> None:
        stroke, session = self._stroke, self._session
        self._stroke = self._session = None
        self.host.commit(session, stroke.finish())

    def key_press(self, event) -> bool:
        if event.key() == Qt.Key.Key_Escape and self._stroke is not None:
            self.abort()
            return True
        return False

    def abort(self) -> None:
        if self._stroke is not None:
            stroke, session = self._stroke, self._session
            self._stroke = self._session = None
            self.host.repaint(session, stroke.cancel())
