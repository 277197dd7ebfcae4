"""Watershed from scribbles: mark objects and background with strokes, see the regions
grow, refine, Enter fills.

* Left drag: a stroke marking the active class (each stroke keeps the class that
  was active when it was drawn, so objects of several classes can be marked
  at once); right drag or Shift + left drag: a background stroke.
* After each stroke (once an object is marked) OpenCV's watershed
  (:func:`~segstudio.core.smart.watershed.watershed_labels`) runs on a worker, on a
  crop round the strokes, and the regions are previewed (each tinted with its
  class's colour, outlined); the tool stays open, so more strokes refine them.
* Enter paints each class's region as one undo step (while watershed is still
  running: once its result arrives).  Backspace removes the last stroke; Esc
  clears the strokes and the preview.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor

from ...core.smart.watershed import (
    paint_labels,
    preview_labels,
    watershed_crop,
    watershed_labels,
)
from .base import PathOverlay, pen_pad
from .smart_base import PreviewTool
from .smart_overlay import TINT_ALPHA, RegionOverlay, class_qcolor

STROKE_RADIUS = 2
BG_COLOR = QColor(255, 80, 80, 240)


class WatershedTool(PreviewTool):
    name = "watershed"
    label = "Watershed"
    shortcut = "W"
    tip = ("Watershed: left drag marks the active class, right or Shift drag marks "
           "background; the regions grown to the image's edges are previewed, Enter fills")
    what = "watershed"
    needs_class = False   # each stroke keeps its own class

    def __init__(self, host) -> None:
        super().__init__(host)
        self.strokes: list[tuple[int | None, list[QPointF]]] = []   # (class or None, points)
        self._items_of: list[PathOverlay] = []
        self._drag: tuple[int | None, list[QPointF]] | None = None
        self._live: PathOverlay | None = None
        self.overlay = self.add_item(RegionOverlay())

    @property
    def busy(self) -> bool:
        return self._drag is not None

    @property
    def pending(self) -> bool:
        return bool(self.strokes)

    def _objects_marked(self) -> bool:
        return any(cid is not None for cid, _ in self.strokes)

    def hint(self) -> str:
        name = self.host.class_name(self.host.active_class)
        if not self.strokes:
            return (f"Watershed: left drag marks {name}, right or Shift drag marks background "
                    "(strokes keep their class)")
        if self.job.running:
            return self.waiting_hint()
        more = (f"more strokes: left = {name}, right or Shift = background; Backspace removes "
                "the last, Esc clears")
        if not self._objects_marked():
            return f"Watershed: mark an object too (left drag marks {name}); {more}"
        if self.preview is None:
            return f"Watershed found nothing to fill; {more}"
        return f"Watershed: Enter fills the previewed regions; {more}"

    def nothing_text(self) -> str:
        if self.strokes and not self._objects_marked():
            return "mark an object too: left drag paints the active class's mark"
        return "watershed found nothing to fill"

    def _new_item(self, class_id: int | None) -> PathOverlay:
        color = BG_COLOR if class_id is None else class_qcolor(self.host, class_id, 240)
        item = PathOverlay(light=color)
        item.set_pad(pen_pad(self.canvas) if self.canvas is not None else 2.0)
        self._items_of.append(item)
        return self.add_item(item)

    def _remove_item(self, item: PathOverlay) -> None:
        if item.scene() is not None:
            item.scene().removeItem(item)
        if item in self._items:
            self._items.remove(item)

    # -- mouse ------------------------------------------------------------------------------
    def mouse_press(self, ev) -> bool:
        if self._drag is not None:
            if ev.buttons & ~ev.button:
                return True
            self.abort()
        shift = bool(ev.modifiers & Qt.KeyboardModifier.ShiftModifier)
        if ev.button == Qt.MouseButton.RightButton or (
                ev.button == Qt.MouseButton.LeftButton and shift):
            class_id = None
        elif ev.button == Qt.MouseButton.LeftButton:
            class_id = self.host.require_class()
            if class_id is None:
                return True
        else:
            return False
        self._drag = (class_id, [QPointF(ev.pos)])
        self._live = self._new_item(class_id)
        self._live.set_points(self._drag[1])
        return True

    def mouse_move(self, ev) -> bool:
        if self._drag is None:
            return False
        self._drag[1].append(QPointF(ev.pos))
        self._live.set_points(self._drag[1])
        return True

    def mouse_release(self, ev) -> bool:
        if self._drag is None:
            return False
        self._drag[1].append(QPointF(ev.pos))
        self._live.set_points(self._drag[1])
        self.strokes.append(self._drag)
        self._drag, self._live = None, None
        self._refresh()
        return True

    def key_press(self, event) -> bool:
        if super().key_press(event):
            return True
        if event.key() == Qt.Key.Key_Backspace and self.strokes and self._drag is None:
            self.strokes.pop()
            self._remove_item(self._items_of.pop())
            self._refresh()
            return True
        return False

    def _refresh(self) -> None:
        """The preview follows the strokes (none until an object is marked)."""
        if not self.run():
            self.job.cancel()
            self.preview = None
            self.overlay.show(None)
        self.hint_changed()

    # -- the preview -------------------------------------------------------------------------
    def request(self):
        doc = self.host.document()
        if doc is None or not doc.ok or not self._objects_marked():
            return None
        strokes = [(cid, [(p.x(), p.y()) for p in pts]) for cid, pts in self.strokes]
        return doc.display, strokes

    @staticmethod
    def compute(inputs):
        image, strokes = inputs
        result = watershed_labels(image, strokes, radius=STROKE_RADIUS)
        return result, None if result is None else preview_labels(result[2])

    def busy_text(self, inputs) -> str:
        image, strokes = inputs
        x0, y0, x1, y1 = watershed_crop(image.shape[:2], [p for _, p in strokes],
                                        STROKE_RADIUS)
        return f"Watershed running on a {x1 - x0} x {y1 - y0} crop …"

    def failed(self, message: str) -> None:
        self.preview = None
        self.overlay.show(None)
        self._accept_when_ready = False
        self.host.message(f"watershed: {message}")

    def show_preview(self, result):
        labels, shown = result if result is not None else (None, None)
        if labels is None:
            self.overlay.show(None)
            return None
        y0, x0, _lab = labels
        arr, ids = shown
        self.overlay.show(arr, x0, y0, [class_qcolor(self.host, c, TINT_ALPHA) for c in ids])
        return labels

    def paint_op(self, labels, value, allowed):
        y0, x0, lab = labels
        return lambda mask: paint_labels(mask, y0, x0, lab, allowed=allowed, name="Watershed")

    # -- state ---------------------------------------------------------------------------------
    def forget(self) -> None:
        self.abort()
        for item in self._items_of:
            self._remove_item(item)
        self._items_of = []
        self.strokes = []

    def abort(self) -> None:
        """Only a drag in progress is dropped (switching tools keeps the strokes)."""
        if self._drag is not None and self._live is not None:
            self._remove_item(self._live)
            if self._live in self._items_of:
                self._items_of.remove(self._live)
        self._drag, self._live = None, None
