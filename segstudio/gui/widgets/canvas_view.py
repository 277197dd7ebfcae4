"""What the canvas shows of the image and says about the pixel under the cursor:
the display adjustment (brightness, contrast, gamma, range; hiding the image),
the hover readout and the notes drawn over the view (the next step of a
multi-step tool), kept apart from the layers and tools of :mod:`.canvas`."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QLinearGradient, QPainter

from ...core.display import DisplayAdjust
from ..document import describe_pixel
from ..overlay import heat_colors
from .layers import HATCH_PERIOD, _hatch
from .tools import ToolEvent

HINT_MARGIN = 10
HINT_PAD = 6


class CanvasViewMixin:
    """Mixed into :class:`~.canvas.Canvas` (uses its ``_doc``, ``_image``, ``_table``,
    ``_hover`` and ``pixel_hovered``)."""

    _hint = ""
    hint_rect = QRectF()  # viewport rectangle of the hint box last drawn (empty: none)

    def set_hint(self, text: str) -> None:
        """The next step of the tool in use, in a box at the top left ('' removes it)."""
        if text != self._hint:
            self._hint = text
            self.viewport().update()

    def hint(self) -> str:
        return self._hint

    def _draw_hint(self, painter: QPainter) -> None:
        if not self._hint:
            self.hint_rect = QRectF()
            return
        painter.save()
        painter.resetTransform()
        metrics = painter.fontMetrics()
        width = min(self.viewport().width() - 2 * HINT_MARGIN - 2 * HINT_PAD, 720)
        text_rect = metrics.boundingRect(0, 0, max(width, 50), 10000,
                                         int(Qt.TextFlag.TextWordWrap), self._hint)
        box = QRectF(HINT_MARGIN, HINT_MARGIN, text_rect.width() + 2 * HINT_PAD,
                     text_rect.height() + 2 * HINT_PAD)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(20, 20, 24, 215))
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(QColor(250, 250, 250))
        painter.drawText(box.adjusted(HINT_PAD, HINT_PAD, -HINT_PAD, -HINT_PAD),
                         int(Qt.TextFlag.TextWordWrap), self._hint)
        painter.restore()
        self.hint_rect = box

    def set_display(self, adjust: DisplayAdjust, show_image: bool = True) -> None:
        """How the image is shown (brightness, contrast, gamma, range) and whether it is
        shown at all (the masks alone); the document's pixels are never changed."""
        self._adjust = adjust
        self._image.setVisible(bool(show_image))
        self._large.image.setVisible(bool(show_image) and self._large.active)
        self._large.image.set_adjust(adjust)
        self._show_display()

    def _show_display(self) -> None:
        doc = self._doc
        if doc is None or not doc.ok or doc.large is not None:
            return  # a large image is drawn by tiles, as decoded
        shown = doc.display if self._adjust.identity else self._adjust.apply(doc.display)
        self._image.set_array(shown, "gray" if doc.is_gray else "rgb")
        self._image.update()

    def displayed_image(self):
        """The array the image layer shows now (after the display adjustment)."""
        return self._image._array

    def refresh_hover(self) -> None:
        """Say again what is under the resting cursor (after a zoom, an edit, a layer)."""
        if self._hover is not None and self._doc is not None and self._doc.ok:
            pos = self.viewportTransform().inverted()[0].map(self._hover)
            ev = ToolEvent(pos, self._hover, Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
                           Qt.KeyboardModifier.NoModifier, self._doc.width, self._doc.height)
            self.pixel_hovered.emit(*self.image_pixel(ev))

    def image_pixel(self, ev: ToolEvent) -> tuple[int, int]:
        """The image pixel (x, y) under a tool event, (-1, -1) outside the image (a large
        image's scene coordinates are its editing window's)."""
        oy, ox = self.window_origin()
        x, y = ev.x + ox, ev.y + oy
        doc = self._doc
        inside = doc is not None and 0 <= x < doc.width and 0 <= y < doc.height
        return (x, y) if inside else (-1, -1)

    def describe_pixel(self, x: int, y: int) -> str:
        return describe_pixel(self._doc, self._table, x, y)

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        if self._hint or self.legend_entries():  # the boxes stay put while the view scrolls
            self.viewport().update()

    # -- legend: which layer is which ------------------------------------------------------
    legend_rect = QRectF()

    def legend_entries(self) -> list[str]:
        """The layers on screen that the legend names, bottom-left of the view."""
        doc = self._doc
        if doc is None or not doc.ok:
            return []
        out = []
        large = self._large
        if self._mask.isVisible() or self._mask_outline.isVisible() or large.mask.isVisible():
            out.append("Human mask")
        if large.prediction.isVisible():
            out.append("Prediction")
        elif self._prediction.isVisible():
            out.append("Prediction (hatched)" if self._prediction.hatched else "Prediction")
        elif self._prediction_outline.isVisible():
            out.append("Prediction (outline)")
        if self._uncertainty.isVisible():
            out.append("Uncertainty")
        # both labels on one image only need telling apart
        return out if len(out) > 1 or "Uncertainty" in out else []

    def _draw_legend(self, painter: QPainter) -> None:
        entries = self.legend_entries()
        if not entries:
            self.legend_rect = QRectF()
            return
        painter.save()
        painter.resetTransform()
        fm = painter.fontMetrics()
        line, sw = fm.height() + 4, 28
        width = 2 * HINT_PAD + sw + 6 + max(fm.horizontalAdvance(e + "  low ▸ high")
                                             for e in entries)
        height = 2 * HINT_PAD + line * len(entries)
        vp = self.viewport().rect()
        box = QRectF(HINT_MARGIN, vp.height() - HINT_MARGIN - height, width, height)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(20, 20, 24, 215))
        painter.drawRoundedRect(box, 4, 4)
        light = QColor(235, 235, 235)
        for i, entry in enumerate(entries):
            y = box.top() + HINT_PAD + i * line
            swatch = QRectF(box.left() + HINT_PAD, y + 3, sw, line - 6)
            if entry == "Uncertainty":
                grad = QLinearGradient(swatch.topLeft(), swatch.topRight())
                heat = heat_colors()
                for stop in (0, 64, 128, 192, 255):
                    grad.setColorAt(stop / 255, QColor(*(int(v) for v in heat[stop])))
                painter.fillRect(swatch, grad)
                label = "Uncertainty  low ▸ high"
            elif entry == "Human mask":
                painter.fillRect(swatch, light)
                label = entry
            elif entry.endswith("(outline)"):
                painter.setPen(light)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(swatch.adjusted(0, 0, -1, -1))
                painter.setPen(Qt.PenStyle.NoPen)
                label = entry
            else:
                painter.fillRect(swatch, _legend_hatch(light) if self._prediction.hatched
                                 else light)
                label = entry
            painter.setPen(light)
            painter.drawText(QPointF(swatch.right() + 6, y + fm.ascent() + 2), label)
            painter.setPen(Qt.PenStyle.NoPen)
        painter.restore()
        self.legend_rect = box


def _legend_hatch(color: QColor) -> QBrush:
    """The prediction's stripes in ``color`` (the legend's swatch)."""
    image = QImage(HATCH_PERIOD, HATCH_PERIOD, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0)
    p = QPainter(image)
    p.fillRect(image.rect(), color)
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_DestinationIn)
    p.fillRect(image.rect(), _hatch())
    p.end()
    return QBrush(image)
