"""GrabCut: drag a rectangle round an object, see what GrabCut finds, refine, Enter fills.

* Left drag (first): the rectangle.  Then left drags mark "surely object"
  strokes, right drags or Shift + left drags "surely background" strokes;
  Backspace removes the last stroke; a left drag with Ctrl redraws the rectangle.
* After the rectangle and after each stroke, OpenCV's GrabCut
  (:func:`segstudio.core.grabcut.grabcut_region`) runs on a worker thread and its
  object is previewed (tinted with the active class, outlined); the tool stays
  open, so more strokes refine it.
* Enter paints the preview with the active class as one undo step (while GrabCut
  is still running: once its result arrives).  Esc clears the rectangle, the
  strokes and the preview.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor

from ...core import edits
from ...core.grabcut import grabcut_region
from ...core.smart.wand import preview_array
from .base import PathOverlay, pen_pad, pixel_box
from .smart_base import PreviewTool
from .smart_overlay import TINT_ALPHA, RegionOverlay, class_qcolor

STROKE_RADIUS = 3
FG_COLOR = QColor(80, 255, 120, 240)
BG_COLOR = QColor(255, 80, 80, 240)


class GrabCutTool(PreviewTool):
    name = "grabcut"
    label = "GrabCut"
    shortcut = "G"
    tip = ("GrabCut: drag a rectangle round an object and see what it finds; refine with "
           "strokes (left = object, right or Shift = background); Enter fills it with the "
           "active class")

    def __init__(self, host) -> None:
        super().__init__(host)
        self.corners: tuple[QPointF, QPointF] | None = None
        self.fg: list[list[QPointF]] = []
        self.bg: list[list[QPointF]] = []
        self._drag: str | None = None      # "rect", "fg" or "bg"
        self._current: list[QPointF] = []
        self.overlay = self.add_item(RegionOverlay())
        self.rect_item = self.add_item(PathOverlay())
        self._stroke_items: list[PathOverlay] = []

    @property
    def busy(self) -> bool:
        return self._drag is not None

    @property
    def pending(self) -> bool:
        return self.corners is not None

    def hint(self) -> str:
        if self.corners is None or self._drag == "rect":
            return "GrabCut: drag a rectangle round the object"
        if self.job.running:
            return self.waiting_hint()
        name = self.host.class_name(self.host.active_class)
        refine = ("left drag = object, right or Shift drag = background, Backspace removes "
                  "the last stroke, Ctrl+drag a new rectangle; Esc clears")
        if self.preview is None:
            return f"GrabCut found nothing in the rectangle; mark the object: {refine}"
        return f"GrabCut: Enter fills the preview with {name}; refine: {refine}"

    def nothing_text(self) -> str:
        return "GrabCut found nothing in the rectangle"

    # -- drawing ------------------------------------------------------------------------
    def _pad(self) -> float:
        return pen_pad(self.canvas) if self.canvas is not None else 2.0

    def _redraw_rect(self) -> None:
        self.rect_item.set_pad(self._pad())
        self.rect_item.set_rect(None if self.corners is None else pixel_box(*self.corners))

    def _stroke_item(self, kind: str) -> PathOverlay:
        item = PathOverlay(light=FG_COLOR if kind == "fg" else BG_COLOR)
        item.set_pad(self._pad())
        self._stroke_items.append(item)
        return self.add_item(item)

    # -- mouse ----------------------------------------------------------------------------
    def mouse_press(self, ev) -> bool:
        if self._drag is not None:
            if ev.buttons & ~ev.button:
                return True  # a second button during a drag: the drag goes on
            self.abort()     # the drag's release went elsewhere (e.g. to panning)
        shift = bool(ev.modifiers & Qt.KeyboardModifier.ShiftModifier)
        ctrl = bool(ev.modifiers & Qt.KeyboardModifier.ControlModifier)
        if ev.button == Qt.MouseButton.LeftButton and (self.corners is None or ctrl):
            self.clear()
            self._drag = "rect"
            self.corners = (QPointF(ev.pos), QPointF(ev.pos))
            self._redraw_rect()
            return True
        if self.corners is None:
            return False
        if ev.button == Qt.MouseButton.RightButton or (
                ev.button == Qt.MouseButton.LeftButton and shift):
            self._drag = "bg"
        elif ev.button == Qt.MouseButton.LeftButton:
            self._drag = "fg"
        else:
            return False
        self._current = [QPointF(ev.pos)]
        self._live = self._stroke_item(self._drag)
        self._live.set_points(self._current)
        return True

    def mouse_move(self, ev) -> bool:
        if self._drag == "rect":
            self.corners = (self.corners[0], QPointF(ev.pos))
            self._redraw_rect()
            return True
        if self._drag in ("fg", "bg"):
            self._current.append(QPointF(ev.pos))
            self._live.set_points(self._current)
            return True
        return False

    def mouse_release(self, ev) -> bool:
        if self._drag is None:
            return False
        if self._drag == "rect":
            self.corners = (self.corners[0], QPointF(ev.pos))
            box = pixel_box(*self.corners)
            if box.width() < 2 or box.height() < 2:  # a click, not a rectangle: the next
                self.corners = None                  # drag draws the rectangle
            self._redraw_rect()
        else:
            self._current.append(QPointF(ev.pos))
            self._live.set_points(self._current)
            (self.fg if self._drag == "fg" else self.bg).append(self._current)
        self._drag = None
        self._current = []
        self.run()  # the preview follows every change
        return True

    def key_press(self, event) -> bool:
        if super().key_press(event):
            return True
        if event.key() == Qt.Key.Key_Backspace and self._stroke_items and self._drag is None:
            self._drop_last_stroke(self._stroke_items.pop())
            self.run()
            return True
        return False

    def _drop_last_stroke(self, item: PathOverlay) -> None:
        kind_list = self.fg if item.light == FG_COLOR else self.bg
        if kind_list:
            kind_list.pop()
        self._remove_item(item)

    def _remove_item(self, item: PathOverlay) -> None:
        if item.scene() is not None:
            item.scene().removeItem(item)
        if item in self._items:
            self._items.remove(item)

    # -- the preview ----------------------------------------------------------------------
    def request(self):
        doc = self.host.document()
        if doc is None or not doc.ok or self.corners is None:
            return None
        c0, c1 = ((p.x(), p.y()) for p in self.corners)
        fg = [[(p.x(), p.y()) for p in s] for s in self.fg]
        bg = [[(p.x(), p.y()) for p in s] for s in self.bg]
        return doc.display, c0, c1, fg, bg

    @staticmethod
    def compute(inputs):
        image, c0, c1, fg, bg = inputs
        region = grabcut_region(image, c0, c1, fg_strokes=fg, bg_strokes=bg,
                                stroke_radius=STROKE_RADIUS)
        return region, None if region is None else preview_array(region[2])

    def busy_text(self, inputs) -> str:
        return "GrabCut running …"

    def show_preview(self, result):
        region, shown = result if result is not None else (None, None)
        if region is None:
            self.overlay.show(None)
            return None
        self.overlay.show(shown, region[1], region[0],
                          [class_qcolor(self.host, self.host.active_class, TINT_ALPHA)])
        return region

    def paint_op(self, region, value, allowed):
        y0, x0, sel = region
        return lambda mask: edits.paint_region(mask, y0, x0, sel, value, allowed=allowed,
                                               name="GrabCut")

    def options_changed(self) -> None:
        self.overlay.retint([class_qcolor(self.host, self.host.active_class, TINT_ALPHA)])

    # -- state ----------------------------------------------------------------------------
    def forget(self) -> None:
        self.corners = None
        self.fg, self.bg = [], []
        self._drag = None
        self._current = []
        for item in self._stroke_items:
            self._remove_item(item)
        self._stroke_items = []
        self._redraw_rect()

    def abort(self) -> None:
        """Only a drag in progress is dropped (switching tools keeps the rectangle, the
        strokes and the preview)."""
        if self._drag in ("fg", "bg") and self._stroke_items:
            self._remove_item(self._stroke_items.pop())
        elif self._drag == "rect":
            self.corners = None
            self._redraw_rect()
        self._drag = None
        self._current = []
