"""Shape fills: polygon (click points), lasso (drag) and rectangle (drag).

Each fills with the active class in one undo step, using the exact rules of
:mod:`segstudio.core.edits` (``cv2.fillPoly`` of the pixels under the
vertices, boundary included; a rectangle includes both corner pixels).

Polygon: left clicks add vertices; a click on (or within a few screen pixels
of) the first vertex, a double-click or Enter closes and fills (as labelme and
CVAT do); Backspace removes the last vertex; Esc cancels.  While a polygon is
open the image is not marked reviewed (Ctrl+Return says why).  Lasso and
rectangle fill on release; Esc during the drag cancels.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt

from ...core import edits
from ...core.footprint import pixel_of
from .base import EditTool, PathOverlay, near_on_screen, pen_pad, pixel_box

MIN_VERTICES = 3


def _pixel(p: QPointF) -> tuple[int, int]:
    return pixel_of(p.x(), p.y())


class PolygonTool(EditTool):
    name = "polygon"
    label = "Polygon"
    shortcut = "P"
    tip = ("Polygon fill: click the corners; a click on the first corner, a double-click or "
           "Enter fills, Backspace removes the last corner, Esc cancels")

    def __init__(self, host) -> None:
        super().__init__(host)
        self.points: list[QPointF] = []
        self.overlay = self.add_item(PathOverlay(vertices=True))
        self._closed_by_press = False  # the last press closed the polygon on its first corner
        self._after_close = False      # the press after that one (a double-click's second)

    @property
    def busy(self) -> bool:
        return bool(self.points)

    def corners(self) -> int:
        return len({_pixel(p) for p in self.points})

    def hint(self) -> str:
        n = self.corners()
        if not self.points:
            return "Polygon: click the first corner"
        if n < MIN_VERTICES:
            return (f"Polygon: click corner {n + 1} (at least {MIN_VERTICES}); "
                    "Backspace removes the last, Esc cancels")
        return (f"Polygon: click the first corner, Enter or double-click fills with "
                f"{self.host.class_name(self.host.active_class)}; "
                "click to add corners, Backspace removes the last, Esc cancels")

    def unfinished(self) -> str:
        if self.points:
            return "a polygon is still open (Enter fills it, Esc drops it)"
        return super().unfinished()

    def _on_first(self, pos: QPointF) -> bool:
        """``pos`` closes the polygon: within a few screen pixels of the first corner,
        with enough corners to fill."""
        return (self.corners() >= MIN_VERTICES and self.canvas is not None
                and near_on_screen(self.canvas, pos, self.points[0]))

    def _redraw(self, rubber: QPointF | None = None) -> None:
        if self.canvas is not None:
            self.overlay.set_pad(pen_pad(self.canvas, 5.0))
        self.overlay.set_points(self.points, rubber, closing=True)
        self.hint_changed()

    def _add(self, pos: QPointF) -> None:
        if not self.points or _pixel(self.points[-1]) != _pixel(pos):
            self.points.append(QPointF(pos))

    def mouse_press(self, ev) -> bool:
        if ev.button != Qt.MouseButton.LeftButton:
            return False
        after_close, self._closed_by_press = self._closed_by_press, False
        self._after_close = after_close and not self.points
        if self.points and self._on_first(ev.pos):
            self._closed_by_press = self.close_polygon()
            return True
        self._add(ev.pos)
        self._redraw()
        return True

    def mouse_move(self, ev) -> bool:
        if self.points:
            self._redraw(ev.pos)
            return True
        return False

    def mouse_double_click(self, ev) -> bool:
        if ev.button != Qt.MouseButton.LeftButton:
            return False
        if self._closed_by_press or (self._after_close and len(self.points) == 1):
            # a double-click on the first corner: its first click closed the polygon, its
            # second press (when one comes) is no corner of a new one
            self._closed_by_press = self._after_close = False
            self.points = []
            self._redraw()
            return True
        self._add(ev.pos)
        self.close_polygon()
        return True

    def key_press(self, event) -> bool:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.points:
            self.close_polygon()
            return True
        if key == Qt.Key.Key_Escape and self.points:
            self.abort()
            return True
        if key == Qt.Key.Key_Backspace and self.points:
            self.points.pop()
            self._redraw()
            return True
        return False

    def close_polygon(self) -> bool:
        """Fill the polygon drawn so far (True when it had enough corners and a class
        was chosen; else the corners stay for another try)."""
        pts = [(p.x(), p.y()) for p in self.points]
        if len({_pixel(p) for p in self.points}) < MIN_VERTICES:
            self.host.message("a polygon needs at least 3 corners; keep clicking, or Esc")
            return False
        value = self.host.require_class()
        if value is None:
            return False
        self.abort()
        allowed = self.host.allowed()
        self.host.apply(lambda mask: edits.fill_polygon(mask, pts, value, allowed=allowed))
        return True

    def abort(self) -> None:
        self.points = []
        self._redraw()


class LassoTool(EditTool):
    name = "lasso"
    label = "Lasso"
    shortcut = "L"
    tip = "Lasso fill: drag around a region; it is filled on release (Esc cancels)"

    def __init__(self, host) -> None:
        super().__init__(host)
        self.points: list[QPointF] = []
        self.overlay = self.add_item(PathOverlay(closed=True))

    @property
    def busy(self) -> bool:
        return bool(self.points)

    def _redraw(self) -> None:
        if self.canvas is not None:
            self.overlay.set_pad(pen_pad(self.canvas))
        self.overlay.set_points(self.points)

    def mouse_press(self, ev) -> bool:
        if ev.button != Qt.MouseButton.LeftButton:
            return False
        self.points = [QPointF(ev.pos)]
        self._redraw()
        return True

    def mouse_move(self, ev) -> bool:
        if not self.points:
            return False
        self.points.append(QPointF(ev.pos))
        self._redraw()
        return True

    def mouse_release(self, ev) -> bool:
        if ev.button != Qt.MouseButton.LeftButton or not self.points:
            return False
        self.points.append(QPointF(ev.pos))
        self._fill()
        return True

    def _fill(self) -> None:
        pts = [(p.x(), p.y()) for p in self.points]
        self.abort()
        if len({pixel_of(*p) for p in pts}) < MIN_VERTICES:
            return
        value = self.host.require_class()
        if value is not None:
            allowed = self.host.allowed()
            self.host.apply(lambda mask: edits.fill_lasso(mask, pts, value, allowed=allowed))

    def key_press(self, event) -> bool:
        if event.key() == Qt.Key.Key_Escape and self.points:
            self.abort()
            return True
        return False

    def abort(self) -> None:
        self.points = []
        self._redraw()


class RectangleTool(EditTool):
    name = "rectangle"
    label = "Rectangle"
    shortcut = "R"
    tip = "Rectangle fill: drag from corner to corner (both corner pixels are filled)"

    def __init__(self, host) -> None:
        super().__init__(host)
        self.start: QPointF | None = None
        self.end: QPointF | None = None
        self.overlay = self.add_item(PathOverlay())

    @property
    def busy(self) -> bool:
        return self.start is not None

    def _redraw(self) -> None:
        if self.canvas is not None:
            self.overlay.set_pad(pen_pad(self.canvas))
        self.overlay.set_rect(None if self.start is None else pixel_box(self.start, self.end))

    def mouse_press(self, ev) -> bool:
        if ev.button != Qt.MouseButton.LeftButton:
            return False
        self.start = self.end = QPointF(ev.pos)
        self._redraw()
        return True

    def mouse_move(self, ev) -> bool:
        if self.start is None:
            return False
        self.end = QPointF(ev.pos)
        self._redraw()
        return True

    def mouse_release(self, ev) -> bool:
        if ev.button != Qt.MouseButton.LeftButton or self.start is None:
            return False
        self.end = QPointF(ev.pos)
        self._fill()
        return True

    def _fill(self) -> None:
        if self.start is None:
            return
        c0, c1 = (self.start.x(), self.start.y()), (self.end.x(), self.end.y())
        self.abort()
        value = self.host.require_class()
        if value is not None:
            allowed = self.host.allowed()
            self.host.apply(lambda mask: edits.fill_rect(mask, c0, c1, value, allowed=allowed))

    def key_press(self, event) -> bool:
        if event.key() == Qt.Key.Key_Escape and self.start is not None:
            self.abort()
            return True
        return False

    def abort(self) -> None:
        self.start = self.end = None
        self._redraw()
