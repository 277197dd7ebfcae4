"""GrabCut: drag a rectangle round an object, optionally mark strokes, Enter fills.

* Left drag (first): the rectangle.  Then left drags mark "surely object"
  strokes, right drags or Shift + left drags "surely background" strokes;
  Backspace removes the last stroke; a left drag with Ctrl redraws the rectangle.
* Enter runs OpenCV's GrabCut (:func:`segstudio.core.grabcut.grabcut_region`)
  on a worker thread (it takes about half a second); the object found is
  painted with the class that was active at Enter, as one undo step.  A
  result that comes back after another image was shown is dropped.
* Esc clears the rectangle and strokes (and drops a run in progress).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor

from ...core import edits
from ...core.grabcut import grabcut_region
from .base import EditTool, PathOverlay, pen_pad, pixel_box

STROKE_RADIUS = 3
FG_COLOR = QColor(80, 255, 120, 240)
BG_COLOR = QColor(255, 80, 80, 240)


class GrabCutTool(EditTool):
    name = "grabcut"
    label = "GrabCut"
    shortcut = "G"
    tip = ("GrabCut: drag a rectangle round an object; optional strokes: left = object, "
           "right or Shift = background; Enter fills it with the active class")

    def __init__(self, editor) -> None:
        super().__init__(editor)
        self.corners: tuple[QPointF, QPointF] | None = None
        self.fg: list[list[QPointF]] = []
        self.bg: list[list[QPointF]] = []
        self._drag: str | None = None      # "rect", "fg" or "bg"
        self._current: list[QPointF] = []
        self.rect_item = self.add_item(PathOverlay())
        self._stroke_items: list[PathOverlay] = []
        self.running = None                # TaskHandle of the GrabCut run

    @property
    def busy(self) -> bool:
        return self._drag is not None

    def hint(self) -> str:
        if self.running is not None:
            return "GrabCut running … (Esc drops it)"
        if self.corners is None or self._drag == "rect":
            return "GrabCut: drag a rectangle round the object"
        return (f"GrabCut: Enter fills the object with "
                f"{self.editor.class_name(self.editor.active_class)}; optional strokes: "
                "left drag = object, right or Shift drag = background; Esc clears")

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
            self._redraw_rect()
        else:
            self._current.append(QPointF(ev.pos))
            self._live.set_points(self._current)
            (self.fg if self._drag == "fg" else self.bg).append(self._current)
        self._drag = None
        self._current = []
        self.hint_changed()
        return True

    def key_press(self, event) -> bool:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.corners is not None:
            self.run()
            return True
        if key == Qt.Key.Key_Escape and (self.corners is not None or self.running is not None):
            self.clear()
            return True
        if key == Qt.Key.Key_Backspace and self._stroke_items and self._drag is None:
            self._drop_last_stroke(self._stroke_items.pop())
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

    # -- running --------------------------------------------------------------------------
    def run(self) -> bool:
        """Start GrabCut on a worker; False when it cannot start."""
        doc = self.editor.document()
        value = self.editor.require_class()
        if doc is None or not doc.ok or value is None or self.corners is None:
            return False
        c0, c1 = ((p.x(), p.y()) for p in self.corners)
        fg = [[(p.x(), p.y()) for p in s] for s in self.fg]
        bg = [[(p.x(), p.y()) for p in s] for s in self.bg]
        image, allowed, image_id = doc.display, self.editor.allowed(), doc.rec.id

        def job(ctx):
            return grabcut_region(image, c0, c1, fg_strokes=fg, bg_strokes=bg,
                                  stroke_radius=STROKE_RADIUS)

        def done(region):
            self.running = None
            self.editor.busy_message("")
            self.hint_changed()
            shown = self.editor.document()
            if shown is None or shown is not doc or shown.rec.id != image_id:
                self.editor.message("the GrabCut result was dropped: another image is shown")
                return
            self.clear()
            if region is None:
                self.editor.message("GrabCut found nothing in the rectangle")
                return
            y0, x0, sel = region
            self.editor.apply(lambda mask: edits.paint_region(mask, y0, x0, sel, value,
                                                              allowed=allowed, name="GrabCut"),
                              wait_for_tool=True)

        def failed(message: str):
            self.running = None
            self.editor.busy_message("")
            self.hint_changed()
            self.editor.message(f"GrabCut failed: {message}")

        self.editor.busy_message("GrabCut running …")
        self.running = self.editor.runner.submit(job, key="grabcut", on_result=done,
                                                 on_error=failed)
        self.hint_changed()
        return True

    def clear(self) -> None:
        """Forget the rectangle and strokes; drop a run in progress."""
        if self.running is not None:
            self.editor.runner.cancel("grabcut")
            self.running = None
            self.editor.busy_message("")
        self.corners = None
        self.fg, self.bg = [], []
        self._drag = None
        self._current = []
        for item in self._stroke_items:
            self._remove_item(item)
        self._stroke_items = []
        self._redraw_rect()
        self.hint_changed()

    def abort(self) -> None:
        """Only a drag in progress is dropped (switching tools keeps the rectangle)."""
        if self._drag in ("fg", "bg") and self._stroke_items:
            self._remove_item(self._stroke_items.pop())
        self._drag = None
        self._current = []

    def document_changed(self) -> None:
        self.clear()
