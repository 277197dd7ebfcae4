"""Watershed from scribbles: mark objects and background with strokes, Enter fills.

* Left drag: a stroke marking the active class (each stroke keeps the class that
  was active when it was drawn, so objects of several classes can be marked
  at once); right drag or Shift + left drag: a background stroke.
* Enter runs OpenCV's watershed (:func:`~segstudio.core.smart.watershed.watershed_labels`)
  on a worker, on a crop round the strokes, and paints each class's region as
  one undo step.  A result that comes back after another image was asked for is
  dropped.
* Backspace removes the last stroke; Esc clears the strokes (and drops a run).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor

from ...core.smart.watershed import paint_labels, watershed_crop, watershed_labels
from .base import EditTool, PathOverlay, pen_pad
from .smart_overlay import class_qcolor, still_shown

STROKE_RADIUS = 2
BG_COLOR = QColor(255, 80, 80, 240)


class WatershedTool(EditTool):
    name = "watershed"
    label = "Watershed"
    shortcut = "W"
    tip = ("Watershed: left drag marks the active class, right or Shift drag marks "
           "background; Enter grows the marks to the image's edges and fills")

    def __init__(self, editor) -> None:
        super().__init__(editor)
        self.strokes: list[tuple[int | None, list[QPointF]]] = []   # (class or None, points)
        self._items_of: list[PathOverlay] = []
        self._drag: tuple[int | None, list[QPointF]] | None = None
        self._live: PathOverlay | None = None
        self.running = None

    @property
    def busy(self) -> bool:
        return self._drag is not None

    def hint(self) -> str:
        if self.running is not None:
            return "Watershed running … (Esc drops it)"
        name = self.editor.class_name(self.editor.active_class)
        if not self.strokes:
            return (f"Watershed: left drag marks {name}, right or Shift drag marks background "
                    "(strokes keep their class)")
        return (f"Watershed: Enter fills the marked regions; more strokes: left = {name}, "
                "right or Shift = background; Backspace removes the last, Esc clears")

    def _new_item(self, class_id: int | None) -> PathOverlay:
        color = BG_COLOR if class_id is None else class_qcolor(self.editor, class_id, 240)
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
        if self.running is not None:
            return True
        shift = bool(ev.modifiers & Qt.KeyboardModifier.ShiftModifier)
        if ev.button == Qt.MouseButton.RightButton or (
                ev.button == Qt.MouseButton.LeftButton and shift):
            class_id = None
        elif ev.button == Qt.MouseButton.LeftButton:
            class_id = self.editor.require_class()
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
        self.hint_changed()
        return True

    def key_press(self, event) -> bool:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.strokes:
            if self.running is None:
                self.run()
            return True
        if key == Qt.Key.Key_Escape and (self.strokes or self.running is not None
                                         or self._drag is not None):
            self.clear()
            return True
        if key == Qt.Key.Key_Backspace and self.strokes and self._drag is None \
                and self.running is None:
            self.strokes.pop()
            self._remove_item(self._items_of.pop())
            self.hint_changed()
            return True
        return False

    # -- running ---------------------------------------------------------------------------------
    def run(self) -> bool:
        doc = self.editor.document()
        if doc is None or not doc.ok or not self.strokes:
            return False
        strokes = [(cid, [(p.x(), p.y()) for p in pts]) for cid, pts in self.strokes]
        if all(cid is None for cid, _ in strokes):
            self.editor.message("mark an object too: left drag paints the active class's mark")
            return False
        image, allowed, image_id = doc.display, self.editor.allowed(), doc.rec.id

        def job(ctx):
            return watershed_labels(image, strokes, radius=STROKE_RADIUS)

        def done(result):
            self.running = None
            self.editor.busy_message("")
            if not still_shown(self.editor, doc, image_id):
                self.editor.message("the watershed result was dropped: another image is shown")
                self.hint_changed()
                return
            self.clear()
            if result is None:
                self.editor.message("watershed found nothing to fill")
                return
            y0, x0, labels = result
            self.editor.apply(lambda mask: paint_labels(mask, y0, x0, labels, allowed=allowed,
                                                        name="Watershed"),
                              wait_for_tool=True)

        def failed(message: str):
            self.running = None
            self.editor.busy_message("")
            self.hint_changed()
            self.editor.message(f"watershed: {message}")

        x0, y0, x1, y1 = watershed_crop((doc.height, doc.width), [p for _, p in strokes],
                                        STROKE_RADIUS)
        self.editor.busy_message(f"Watershed running on a {x1 - x0} x {y1 - y0} crop …")
        self.running = self.editor.runner.submit(job, key="watershed", on_result=done,
                                                 on_error=failed)
        self.hint_changed()
        return True

    def clear(self) -> None:
        if self.running is not None:
            self.editor.runner.cancel("watershed")
            self.running = None
            self.editor.busy_message("")
        self.abort()
        for item in self._items_of:
            self._remove_item(item)
        self._items_of = []
        self.strokes = []
        self.hint_changed()

    def abort(self) -> None:
        """Only a drag in progress is dropped (switching tools keeps the strokes)."""
        if self._drag is not None and self._live is not None:
            self._remove_item(self._live)
            if self._live in self._items_of:
                self._items_of.remove(self._live)
        self._drag, self._live = None, None

    def document_changed(self) -> None:
        self.clear()
