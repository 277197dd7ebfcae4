"""One-click tools: flood fill and the eyedropper."""

from __future__ import annotations

from PySide6.QtCore import Qt

from ...core import edits
from .base import EditTool


class FillTool(EditTool):
    name = "fill"
    label = "Fill"
    shortcut = "F"
    tip = ("Flood fill with the active class: the connected region of the clicked class "
           "(tolerance 0), or of image colours within the tolerance")

    def mouse_press(self, ev) -> bool:
        if ev.button != Qt.MouseButton.LeftButton:
            return False
        if not ev.inside:
            return True
        value = self.host.require_class()
        if value is None:
            return True
        tolerance = self.host.tolerance
        image = self.host.image() if tolerance > 0 else None
        allowed = self.host.allowed()
        x, y = ev.pos.x(), ev.pos.y()
        self.host.apply(lambda mask: edits.flood_fill(mask, x, y, value, image=image,
                                                        tolerance=tolerance, allowed=allowed))
        return True


class EyedropperTool(EditTool):
    name = "eyedropper"
    label = "Pick"
    shortcut = "I"
    tip = "Eyedropper: the class under the cursor becomes the active class"

    def mouse_press(self, ev) -> bool:
        if ev.button != Qt.MouseButton.LeftButton:
            return False
        self.host.pick_class_at(ev.pos.x(), ev.pos.y())
        return True
