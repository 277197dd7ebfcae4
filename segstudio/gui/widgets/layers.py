"""Graphics items that draw numpy arrays as QImages without copying them.

One scene unit is one image pixel.  :class:`ArrayLayer` keeps a reference to
the array it wraps (the QImage points into the array's memory), so writing
into the array and calling :meth:`ArrayLayer.dirty` with the changed
rectangle repaints exactly that part.

Zoomed out (below 100 %), an indexed layer draws from a small nearest-sampled
copy at screen resolution (one entry per screen pixel, refreshed per dirty
rectangle), because Qt's untransformed blit of an Indexed8 image is about
twice as fast as its scaled one.  The colour table stays the only thing a
style change touches.

A hatched layer (the prediction, so that it is told apart from the human
mask at a glance) shows only on diagonal stripes of the screen, anchored to
the image's origin: screen pixel (u, v) from the image's top-left corner
shows the layer when ``(u + v) % HATCH_PERIOD < HATCH_ON``.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QBrush, QImage, QPainter, QTransform
from PySide6.QtWidgets import QGraphicsItem

_FORMATS = {
    "indexed": QImage.Format.Format_Indexed8,
    "gray": QImage.Format.Format_Grayscale8,
    "rgb": QImage.Format.Format_RGB888,
}


def wrap_array(arr: np.ndarray, kind: str) -> QImage:
    """A QImage over ``arr``'s memory (no copy); the caller keeps ``arr`` alive."""
    if kind not in _FORMATS:
        raise ValueError(f"unknown layer kind {kind!r}")
    if arr.dtype != np.uint8 or not arr.flags.c_contiguous:
        raise ValueError("a layer array must be C-contiguous uint8")
    if kind == "rgb" and (arr.ndim != 3 or arr.shape[2] != 3):
        raise ValueError(f"an RGB layer needs shape (H, W, 3), got {arr.shape}")
    if kind != "rgb" and arr.ndim != 2:
        raise ValueError(f"a {kind} layer needs a 2-D array, got {arr.shape}")
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, arr.strides[0], _FORMATS[kind])


HATCH_PERIOD = 8
HATCH_ON = 5


def hatch_mask(width: int, height: int, ox: int = 0, oy: int = 0) -> np.ndarray:
    """(H, W) bool: the pixels a hatched layer shows, for an image origin at (ox, oy)."""
    yy, xx = np.mgrid[0:height, 0:width]
    return (xx - ox + yy - oy) % HATCH_PERIOD < HATCH_ON


_hatch_brush: QBrush | None = None


def _hatch() -> QBrush:
    global _hatch_brush
    if _hatch_brush is None:
        tile = np.where(hatch_mask(HATCH_PERIOD, HATCH_PERIOD), 0xFF000000, 0).astype(np.uint32)
        image = QImage(tile.data, HATCH_PERIOD, HATCH_PERIOD, HATCH_PERIOD * 4,
                       QImage.Format.Format_ARGB32_Premultiplied).copy()
        _hatch_brush = QBrush(image)
    return _hatch_brush


class _Reduced:
    """A nearest-sampled copy of an indexed array at one zoom below 100 %."""

    def __init__(self, source: np.ndarray, width: int, height: int, colors: list[int] | None):
        h, w = source.shape
        self.size = (width, height)
        # the source pixel under the centre of each screen pixel
        self.xs = np.minimum(((np.arange(width) + 0.5) * (w / width)).astype(np.intp), w - 1)
        self.ys = np.minimum(((np.arange(height) + 0.5) * (h / height)).astype(np.intp), h - 1)
        self.array = np.ascontiguousarray(np.take(np.take(source, self.ys, 0), self.xs, 1))
        self.image = wrap_array(self.array, "indexed")
        if colors is not None:
            self.image.setColorTable(colors)

    def refresh(self, source: np.ndarray, rect: QRect) -> None:
        """Re-sample the part of the copy that shows ``rect`` of the source."""
        j0, j1 = np.searchsorted(self.ys, [rect.top(), rect.bottom() + 1])
        i0, i1 = np.searchsorted(self.xs, [rect.left(), rect.right() + 1])
        if j1 > j0 and i1 > i0:
            self.array[j0:j1, i0:i1] = source[np.ix_(self.ys[j0:j1], self.xs[i0:i1])]


class ArrayLayer(QGraphicsItem):
    """Draws one array; smooth (bilinear) only when ``smooth`` and zoomed below 100 %."""

    def __init__(self, z: float, smooth: bool = False, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self.setZValue(z)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self._smooth = smooth
        self._array: np.ndarray | None = None
        self._image: QImage | None = None
        self._kind = ""
        self._colors: list[int] | None = None
        self._reduced: _Reduced | None = None
        self.hatched = False

    # -- content ----------------------------------------------------------------
    @property
    def array(self) -> np.ndarray | None:
        return self._array

    @property
    def qimage(self) -> QImage | None:
        return self._image

    def set_array(self, arr: np.ndarray | None, kind: str = "indexed") -> None:
        """Show ``arr`` (None: nothing).  Indexed layers keep their colour table."""
        old = self.boundingRect()
        self._reduced = None
        if arr is None:
            self._array = self._image = None
        else:
            self._array = arr
            self._kind = kind
            self._image = wrap_array(arr, kind)
            if kind == "indexed" and self._colors is not None:
                self._image.setColorTable(self._colors)
        if self.boundingRect() != old:
            self.prepareGeometryChange()
        self.update()

    def set_color_table(self, colors: list[int]) -> None:
        """256 ARGB entries; only these numbers change, the pixels are untouched."""
        if colors == self._colors:
            return
        self._colors = list(colors)
        if self._image is not None and self._kind == "indexed":
            self._image.setColorTable(self._colors)
            if self._reduced is not None:
                self._reduced.image.setColorTable(self._colors)
            if self.isVisible():
                self.update()

    def dirty(self, rect: QRect | None = None) -> None:
        """Repaint ``rect`` (image pixels) after the array was written in place."""
        if rect is None:
            self._reduced = None
            self.update()
            return
        if self._reduced is not None and self._array is not None:
            inside = rect.intersected(self.boundingRect().toAlignedRect())
            self._reduced.refresh(self._array, inside)
        self.update(QRectF(rect))

    # -- QGraphicsItem --------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        if self._image is None:
            return QRectF()
        return QRectF(0, 0, self._image.width(), self._image.height())

    def set_hatched(self, on: bool) -> None:
        if bool(on) != self.hatched:
            self.hatched = bool(on)
            self.update()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self._image is None:
            return
        bounds = self.boundingRect()
        exposed = option.exposedRect.intersected(bounds)
        if exposed.isEmpty():
            return
        if self.hatched:
            self._paint_hatched(painter, exposed)
        else:
            self._paint(painter, exposed)

    def _paint_hatched(self, painter: QPainter, exposed: QRectF) -> None:
        """Draw into a scratch image of the exposed screen rectangle, keep the stripes
        only (DestinationIn), then put that on screen."""
        t = painter.worldTransform()
        device = t.mapRect(exposed).toAlignedRect()
        if device.isEmpty():
            return
        buf = QImage(device.size(), QImage.Format.Format_ARGB32_Premultiplied)
        buf.fill(0)
        p = QPainter(buf)
        p.setWorldTransform(t * QTransform.fromTranslate(-device.x(), -device.y()))
        self._paint(p, exposed)
        p.resetTransform()
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_DestinationIn)
        p.setBrushOrigin(round(t.dx()) - device.x(), round(t.dy()) - device.y())
        p.fillRect(buf.rect(), _hatch())
        p.end()
        painter.save()
        painter.resetTransform()
        painter.drawImage(device.topLeft(), buf)
        painter.restore()

    def _paint(self, painter: QPainter, exposed: QRectF) -> None:
        bounds = self.boundingRect()
        t = painter.worldTransform()
        scale = t.m11()
        if (self._kind == "indexed" and 0 < scale < 1.0 and t.m12() == 0 and t.m21() == 0
                and t.m22() == scale):
            self._paint_reduced(painter, exposed, t)
            return
        smooth = self._smooth and abs(scale) < 1.0
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        src = exposed.toAlignedRect()
        if smooth:
            # sample a margin so bilinear filtering sees the neighbours, but paint
            # only the exposed part (no seams between partial repaints)
            src = src.adjusted(-2, -2, 2, 2).intersected(bounds.toAlignedRect())
            painter.save()
            painter.setClipRect(exposed, Qt.ClipOperation.IntersectClip)
            painter.drawImage(QRectF(src), self._image, QRectF(src))
            painter.restore()
        else:
            painter.drawImage(QRectF(src), self._image, QRectF(src))

    def _paint_reduced(self, painter: QPainter, exposed: QRectF, t: QTransform) -> None:
        w, h = self._image.width(), self._image.height()
        size = (max(1, round(w * t.m11())), max(1, round(h * t.m22())))
        if self._reduced is None or self._reduced.size != size:
            self._reduced = _Reduced(self._array, size[0], size[1], self._colors)
        ox, oy = round(t.dx()), round(t.dy())
        device = t.mapRect(exposed).toAlignedRect().adjusted(-1, -1, 1, 1)
        src = device.translated(-ox, -oy).intersected(QRect(0, 0, size[0], size[1]))
        if src.isEmpty():
            return
        painter.save()
        painter.setWorldTransform(QTransform.fromTranslate(ox, oy))
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.drawImage(QPointF(src.topLeft()), self._reduced.image, QRectF(src))
        painter.restore()
