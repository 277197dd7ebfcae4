"""What the smart tools (scissors, watershed, superpixels, wand, GrabCut) draw.

* :class:`IndexedOverlay`: a small uint8 array (0 = transparent) drawn over
  the image at a position and scale through a colour table (superpixel
  boundaries); it is the canvas's own :class:`ArrayLayer`, so a zoomed-out
  view draws from a screen-sized copy.
* :class:`RegionOverlay`: the preview of what Enter paints (a wand, GrabCut or
  watershed result): each class's region tinted with its colour, its edge
  pixels a solid light line.
* :class:`DotsOverlay`: anchor points (a dark-rimmed light square each).

Which results are drawn at all is :mod:`.tool_jobs`' rule (stale ones never are).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF, QTransform
from PySide6.QtWidgets import QGraphicsItem

from ..widgets.layers import ArrayLayer
from .base import DARK, LIGHT, OVERLAY_Z, VERTEX_PX

EDGE = QColor(255, 255, 255, 235)   # a preview's outline
TINT_ALPHA = 110                    # a preview's inside


def argb(color: QColor) -> int:
    return color.rgba()


def class_qcolor(host, class_id: int | None, alpha: int = 255) -> QColor:
    """The class's colour (white when unknown) with ``alpha``."""
    info = host.class_table().by_id(class_id) if class_id is not None else None
    rgb = info.color if info is not None else (255, 255, 255)
    return QColor(rgb[0], rgb[1], rgb[2], alpha)


class IndexedOverlay(ArrayLayer):
    """A uint8 array over the image: value v shows ``colors[v]`` (index 0 transparent)."""

    def __init__(self, colors: list[QColor], z: float = OVERLAY_Z - 1):
        super().__init__(z)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.set_colors(colors)

    def set_colors(self, colors: list[QColor]) -> None:
        self.set_color_table([0] + [argb(c) for c in colors])

    def show_array(self, arr: np.ndarray | None, x0: float = 0.0, y0: float = 0.0,
                   sx: float = 1.0, sy: float = 1.0) -> None:
        """Show ``arr`` with its top-left at image position (x0, y0), each element
        covering sx x sy image pixels (None hides it)."""
        if arr is not None:
            arr = np.ascontiguousarray(arr, dtype=np.uint8)
        self.set_array(arr, "indexed")
        self.setTransform(QTransform.fromScale(sx, sy))
        self.setPos(x0, y0)
        self.setVisible(arr is not None)


class RegionOverlay(IndexedOverlay):
    """The preview of what Enter paints, over the image (hidden until shown).

    ``shown`` is what :func:`~segstudio.core.smart.wand.preview_array` (one region) or
    :func:`~segstudio.core.smart.watershed.preview_labels` (several classes) make on the
    worker: 0 outside, k + 1 inside the k-th region (tinted ``tints[k]``), and
    ``len(tints) + 1`` on the regions' edges (a solid light line)."""

    def __init__(self) -> None:
        super().__init__([EDGE])
        self.setVisible(False)

    def show(self, shown: np.ndarray | None, x0: int = 0, y0: int = 0,
             tints: list[QColor] | None = None) -> None:
        """Show ``shown`` with its top-left at pixel (x0, y0); None hides it."""
        if shown is not None:
            self.retint(tints or [])
        self.show_array(shown, x0, y0)

    def retint(self, tints: list[QColor]) -> None:
        """New colours for the regions (256 numbers, no pixel work)."""
        self.set_colors(list(tints) + [EDGE])


class DotsOverlay(QGraphicsItem):
    """Points (image coordinates) shown as squares of VERTEX_PX screen pixels."""

    def __init__(self, light: QColor = LIGHT):
        super().__init__()
        self.setZValue(OVERLAY_Z + 1)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.light = light
        self._points = QPolygonF()
        self._rect = QRectF()
        self.pad = 4.0

    def set_pad(self, pad: float) -> None:
        self.pad = pad

    def set_points(self, points: list[QPointF]) -> None:
        self.prepareGeometryChange()
        self._points = QPolygonF(points)
        self._rect = (self._points.boundingRect().adjusted(-self.pad, -self.pad,
                                                           self.pad, self.pad)
                      if points else QRectF())

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self._points.isEmpty():
            return
        for color, width in ((DARK, VERTEX_PX + 2), (self.light, VERTEX_PX)):
            pen = QPen(color, width)
            pen.setCosmetic(True)
            pen.setCapStyle(Qt.PenCapStyle.SquareCap)
            painter.setPen(pen)
            painter.drawPoints(self._points)


def centres(points) -> list[QPointF]:
    """QPointF at the centre of each pixel (x, y) of an (N, 2) array."""
    return [QPointF(float(x) + 0.5, float(y) + 0.5) for x, y in points]
