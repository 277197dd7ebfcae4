"""What every editing tool shares: the editor it works for and overlay items.

A tool is a :class:`~segstudio.gui.widgets.tools.CanvasTool` that asks its
host (a :class:`~.tool_host.ToolHost`: the editor as tools see it) for the
mask to edit (``host.begin_edit()``: the session of the image on screen,
created on the first edit from the human mask, else a copy of the
prediction, else all unlabelled), writes into it through the core edit
functions, repaints the dirty rectangle (``host.repaint``) and hands the
finished :class:`~segstudio.core.history.Patch` to ``host.commit`` (one
undo step); a one-shot edit is ``host.apply(op)``.  Tools whose work runs on a
worker are :class:`~.smart_base.SmartTool` s.

Overlay items (brush outline, polygon in progress) live in the canvas scene
above the mask layers; lines are cosmetic (one screen pixel at any zoom),
drawn twice (dark under light) so they show on any image.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem

from ...core.footprint import pixel_of
from ..widgets.tools import CanvasTool

if TYPE_CHECKING:
    from .tool_host import ToolHost

OVERLAY_Z = 1000
VERTEX_PX = 5  # screen pixels of a polygon corner's dot
CLOSE_SCREEN_PX = 8  # a click this near the first corner / anchor closes the outline
LIGHT = QColor(255, 255, 255, 230)
DARK = QColor(0, 0, 0, 200)


def _pens(light: QColor = LIGHT) -> tuple[QPen, QPen]:
    under = QPen(DARK, 3)
    under.setCosmetic(True)
    over = QPen(light, 1)
    over.setCosmetic(True)
    return under, over


class BrushOutline(QGraphicsItem):
    """A circle around the pixels a round brush of ``radius`` covers at a pixel."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(OVERLAY_Z)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._r = 0.5
        self.pad = 2.0  # scene units the pens reach out of the circle (3 screen px)

    def set_pad(self, pad: float) -> None:
        if abs(pad - self.pad) > 1e-9:
            self.prepareGeometryChange()
            self.pad = pad

    def set_radius(self, radius: int) -> None:
        r = radius + 0.5  # pixel centres within radius: the disc's edge lies half a pixel out
        if r != self._r:
            self.prepareGeometryChange()
            self._r = r

    def place(self, x: int, y: int) -> None:
        """Centre on pixel (x, y)."""
        pos = QPointF(x + 0.5, y + 0.5)
        if self.pos() != pos:
            self.setPos(pos)

    def boundingRect(self) -> QRectF:
        m = self._r + self.pad
        return QRectF(-m, -m, 2 * m, 2 * m)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        r = self._r
        for pen in _pens():
            painter.setPen(pen)
            painter.drawEllipse(QPointF(0, 0), r, r)


class PathOverlay(QGraphicsItem):
    """A polyline or polygon (image coordinates) with an optional rubber band end."""

    def __init__(self, closed: bool = False, light: QColor = LIGHT,
                 vertices: bool = False) -> None:
        super().__init__()
        self.setZValue(OVERLAY_Z)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.closed = closed
        self.light = light
        self.vertices = vertices        # a dot on each given point (not the rubber end)
        self._points = QPolygonF()
        self._closing = QPainterPath()  # dashed edge back to the first point (open paths)
        self._path = QPainterPath()
        self._rect = QRectF()
        self.pad = 2.0

    def set_pad(self, pad: float) -> None:
        self.pad = pad

    def set_points(self, points: list[QPointF], rubber: QPointF | None = None,
                   closing: bool = False) -> None:
        """The polyline through ``points`` (and ``rubber``); ``closing`` adds the dashed
        edge that closing the polygon would draw, once it has three points."""
        # called per mouse move with the whole lasso so far: the path is built in C++
        path = QPainterPath()
        self._points = QPolygonF(points) if self.vertices else QPolygonF()
        pts = QPolygonF(points)
        if rubber is not None:
            pts.append(rubber)
        self._closing = QPainterPath()
        if not pts.isEmpty():
            path.addPolygon(pts)
            if self.closed and pts.size() > 2:
                path.closeSubpath()
            elif closing and pts.size() > 2:
                self._closing.moveTo(pts.last())
                self._closing.lineTo(pts.first())
        self._set_path(path)

    def set_rect(self, rect: QRectF | None) -> None:
        self._points, self._closing = QPolygonF(), QPainterPath()
        path = QPainterPath()
        if rect is not None:
            path.addRect(rect)
        self._set_path(path)

    def _set_path(self, path: QPainterPath) -> None:
        self.prepareGeometryChange()
        self._path = path
        self._rect = path.boundingRect().adjusted(-self.pad, -self.pad, self.pad, self.pad)

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self._path.isEmpty():
            return
        for pen in _pens(self.light):
            painter.setPen(pen)
            painter.drawPath(self._path)
            if not self._closing.isEmpty():
                dashed = QPen(pen)
                dashed.setDashPattern([4, 4])
                painter.setPen(dashed)
                painter.drawPath(self._closing)
        if not self._points.isEmpty():  # vertices: a dark-rimmed light square each
            for color, width in ((DARK, VERTEX_PX + 2), (self.light, VERTEX_PX)):
                pen = QPen(color, width)
                pen.setCosmetic(True)
                pen.setCapStyle(Qt.PenCapStyle.SquareCap)
                painter.setPen(pen)
                painter.drawPoints(self._points)


def pen_pad(canvas, screen_px: float = 2.0) -> float:
    """Scene units covered by ``screen_px`` screen pixels at the canvas's zoom (pen margin)."""
    return screen_px / max(canvas.zoom(), 1e-6) + 0.5


def pixel_box(a: QPointF, b: QPointF) -> QRectF:
    """The rectangle of whole pixels between the pixels under ``a`` and ``b``."""
    (ax, ay), (bx, by) = pixel_of(a.x(), a.y()), pixel_of(b.x(), b.y())
    x0, x1 = sorted((ax, bx))
    y0, y1 = sorted((ay, by))
    return QRectF(x0, y0, x1 - x0 + 1, y1 - y0 + 1)


def near_on_screen(canvas, a: QPointF, b: QPointF, screen_px: float = CLOSE_SCREEN_PX) -> bool:
    """Image positions ``a`` and ``b`` are at most ``screen_px`` screen pixels apart (in x
    and in y) at the canvas's zoom, or in the same pixel."""
    if pixel_of(a.x(), a.y()) == pixel_of(b.x(), b.y()):
        return True
    reach = screen_px / max(canvas.zoom(), 1e-6) if canvas is not None else 0.0
    return max(abs(a.x() - b.x()), abs(a.y() - b.y())) <= reach


class EditTool(CanvasTool):
    """Base of the editor's tools: ``host`` gives the mask, the class and the options."""

    name = "edit"
    label = "Edit"
    shortcut = ""
    tip = ""
    cursor = Qt.CursorShape.CrossCursor

    def __init__(self, host: ToolHost) -> None:
        super().__init__()
        self.host = host
        self._items: list[QGraphicsItem] = []

    # -- overlay items --------------------------------------------------------------
    def add_item(self, item: QGraphicsItem) -> QGraphicsItem:
        if self.canvas is not None:
            self.canvas.scene().addItem(item)
        self._items.append(item)
        return item

    def activate(self, canvas) -> None:
        super().activate(canvas)
        for item in self._items:
            if item.scene() is None:
                canvas.scene().addItem(item)

    def deactivate(self) -> None:
        self.abort()
        for item in self._items:
            if item.scene() is not None:
                item.scene().removeItem(item)
        super().deactivate()

    # -- the next step, said in the status bar and on the canvas ----------------------------
    def hint(self) -> str:
        """What to do next with this tool ('' for one-step tools)."""
        return ""

    def hint_changed(self) -> None:
        if self.canvas is not None:
            self.host.show_hint(self.hint())

    # -- state ----------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """An operation is in progress (a stroke held, a polygon being drawn)."""
        return False

    @property
    def holds_mask(self) -> bool:
        """The operation in progress has already written into the mask (a held stroke)."""
        return False

    def unfinished(self) -> str:
        """What the user started and has not finished ('' when nothing): marking the
        image reviewed waits for it."""
        return f"the {self.label} is still in progress" if self.busy else ""

    def abort(self) -> None:
        """Drop the operation in progress; the mask is as before it."""

    def options_entered(self) -> None:
        """Enter was typed in a tool option's box (the wand applies its preview)."""

    def options_changed(self) -> None:
        """Brush size, tolerance or class changed."""

    def document_changed(self) -> None:
        """Another image is on screen: drop what was in progress on the old one."""
        self.abort()
