"""The seam for canvas tools (brush, fill, polygon ... come with the mask editor).

The canvas keeps navigation for itself (wheel zoom, middle-button drag,
space + drag) and hands every other mouse and key event to the active tool,
already mapped to image coordinates.  A tool returns True when it used the
event.  Tools may add their own items (a brush outline, a polygon in
progress) to ``canvas.scene()`` and must remove them in :meth:`deactivate`.

    class DotTool(CanvasTool):  # one brush dab per click (core.edits does the work)
        name = "dot"
        def mouse_press(self, ev):
            if ev.button != Qt.LeftButton or not ev.inside:
                return False
            patch = edits.paint_stroke(self.canvas.mask(), [(ev.x, ev.y)], radius, cls)
            if patch is not None:
                self.canvas.mask_changed(QRect(*patch.rect_xywh))
            return True

    canvas.set_tool(DotTool())
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QKeyEvent

if TYPE_CHECKING:
    from .canvas import Canvas


@dataclass(frozen=True)
class ToolEvent:
    """A mouse event in image coordinates."""

    pos: QPointF                   # image coordinates (0,0 = top-left corner of pixel 0,0)
    view_pos: QPointF              # viewport coordinates
    button: Qt.MouseButton         # the button that changed (NoButton on move)
    buttons: Qt.MouseButton        # buttons held
    modifiers: Qt.KeyboardModifier
    image_width: int
    image_height: int

    @property
    def x(self) -> int:
        """Column of the pixel under the cursor."""
        return math.floor(self.pos.x())

    @property
    def y(self) -> int:
        return math.floor(self.pos.y())

    @property
    def inside(self) -> bool:
        return 0 <= self.x < self.image_width and 0 <= self.y < self.image_height


class CanvasTool:
    """Base class: override what the tool needs; unhandled events return False."""

    name = "tool"
    cursor = Qt.CursorShape.CrossCursor

    def __init__(self) -> None:
        self.canvas: Canvas | None = None

    def activate(self, canvas: Canvas) -> None:
        self.canvas = canvas

    def deactivate(self) -> None:
        self.canvas = None

    def mouse_press(self, ev: ToolEvent) -> bool:
        return False

    def mouse_move(self, ev: ToolEvent) -> bool:
        """Called on every move, with or without buttons held."""
        return False

    def mouse_release(self, ev: ToolEvent) -> bool:
        return False

    def mouse_double_click(self, ev: ToolEvent) -> bool:
        return False

    def key_press(self, event: QKeyEvent) -> bool:
        return False

    def key_release(self, event: QKeyEvent) -> bool:
        return False

    def document_changed(self) -> None:
        """The canvas now shows another image (or none): drop any stroke in progress."""
