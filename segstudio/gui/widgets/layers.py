"""Graphics items that draw numpy arrays as QImages without copying them.

One scene unit is one image pixel.  :class:`ArrayLayer` keeps a reference to
the array it wraps (the QImage points into the array's memory), so writing
into the array and calling :meth:`ArrayLayer.dirty` with the changed
rectangle repaints exactly that part.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QRectF, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem

_FORMATS = {
    "indexed": QImage.Format.Format_Indexed8,
    "gray": QImage.Format.Format_Grayscale8,
    "bgra": QImage.Format.Format_RGB32,  # little-endian B, G, R, A bytes = 0xAARRGGBB
}


def wrap_array(arr: np.ndarray, kind: str) -> QImage:
    """A QImage over ``arr``'s memory (no copy); the caller keeps ``arr`` alive."""
    if kind not in _FORMATS:
        raise ValueError(f"unknown layer kind {kind!r}")
    if arr.dtype != np.uint8 or not arr.flags.c_contiguous:
        raise ValueError("a layer array must be C-contiguous uint8")
    if kind == "bgra" and (arr.ndim != 3 or arr.shape[2] != 4):
        raise ValueError(f"a BGRA layer needs shape (H, W, 4), got {arr.shape}")
    if kind != "bgra" and arr.ndim != 2:
        raise ValueError(f"a {kind} layer needs a 2-D array, got {arr.shape}")
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, arr.strides[0], _FORMATS[kind])


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
            if self.isVisible():
                self.update()

    def dirty(self, rect: QRect | None = None) -> None:
        """Repaint ``rect`` (image pixels) after the array was written in place."""
        if rect is None:
            self.update()
        else:
            self.update(QRectF(rect))

    # -- QGraphicsItem --------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        if self._image is None:
            return QRectF()
        return QRectF(0, 0, self._image.width(), self._image.height())

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self._image is None:
            return
        bounds = self.boundingRect()
        exposed = option.exposedRect.intersected(bounds)
        if exposed.isEmpty():
            return
        scale = abs(painter.worldTransform().m11())
        smooth = self._smooth and scale < 1.0
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
