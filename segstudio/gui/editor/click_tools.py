"""One-click tools: flood fill and the eyedropper."""

from __future__ import annotations

from PySide6.QtCore import Qt

from ...core import edits
from .base import EditTool


class FillTool(EditTool):
    """Fill always fills the connected region of the clicked pixel's class: it has no
    colour mode (a region of similar colour is the wand's, Shift+F, previewed first),
    so no other tool's setting changes what a click does."""

    name = "fill"
    label = "Fill"
    shortcut = "F"
    tip = ("Flood fill: the connected region of the clicked pixel's class becomes the active "
           "class (for a region of similar colour use the Wand, Shift+F)")

    def hint(self) -> str:
        name = self.host.class_name(self.host.active_class)
        return (f"Fill: click a region; its connected pixels of the clicked class become "
                f"{name} (a region of similar colour: the Wand, Shift+F)")

    def options_changed(self) -> None:
        self.hint_changed()

    def mouse_press(self, ev) -> bool:
        if ev.button != Qt.MouseButton.LeftButton:
            return False
        if not ev.inside:
            return True
        value = self.host.require_class()
        if value is None:
            return True
        allowed = self.host.allowed()
        x, y = ev.pos.x(), ev.pos.y()
        self.host.apply(lambda mask: edits.flood_fill(mask, x, y, value, allowed=allowed))
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
