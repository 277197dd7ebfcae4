"""What the canvas shows of the image and says about the pixel under the cursor:
the display adjustment (brightness, contrast, gamma, range; hiding the image) and
the hover readout, kept apart from the layers and tools of :mod:`.canvas`."""

from __future__ import annotations

from PySide6.QtCore import Qt

from ...core.display import DisplayAdjust
from ..document import describe_pixel
from .tools import ToolEvent


class CanvasViewMixin:
    """Mixed into :class:`~.canvas.Canvas` (uses its ``_doc``, ``_image``, ``_table``,
    ``_hover`` and ``pixel_hovered``)."""

    def set_display(self, adjust: DisplayAdjust, show_image: bool = True) -> None:
        """How the image is shown (brightness, contrast, gamma, range) and whether it is
        shown at all (the masks alone); the document's pixels are never changed."""
        self._adjust = adjust
        self._image.setVisible(bool(show_image))
        self._show_display()

    def _show_display(self) -> None:
        doc = self._doc
        if doc is None or not doc.ok:
            return
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
            self.pixel_hovered.emit(*(ev.x, ev.y) if ev.inside else (-1, -1))

    def describe_pixel(self, x: int, y: int) -> str:
        return describe_pixel(self._doc, self._table, x, y)
