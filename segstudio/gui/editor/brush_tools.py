"""Round brush tools: brush, eraser, accept prediction, replace class.

All four drag a :class:`~segstudio.core.edits.BrushStroke` over the mask:
every mouse position extends the stroke with the segment from the previous
one (continuous at any mouse speed), only the segment's dirty rectangle is
repainted, and the release makes the stroke one undo step.  Esc during a
drag takes the stroke back.  The outline shows the exact disc of the brush
around the pixel under the cursor; [ and ] change the size.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt

from ...core import edits
from .base import BrushOutline, EditTool, pen_pad


class _HideOnLeave(QObject):
    """Hides the brush outline when the pointer leaves the canvas."""

    def __init__(self, outline: BrushOutline):
        super().__init__()
        self.outline = outline

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Leave:
            self.outline.setVisible(False)
        return False


class StrokeTool(EditTool):
    """Left drag paints a stroke made by :meth:`make_stroke`."""

    def __init__(self, host) -> None:
        super().__init__(host)
        self.outline = self.add_item(BrushOutline())
        self.outline.setVisible(False)
        self._stroke: edits.BrushStroke | None = None
        self._session = None
        self._leave = _HideOnLeave(self.outline)

    def make_stroke(self, session) -> edits.BrushStroke | None:
        raise NotImplementedError

    @property
    def busy(self) -> bool:
        return self._stroke is not None

    @property
    def holds_mask(self) -> bool:
        return self._stroke is not None

    def options_changed(self) -> None:
        self.outline.set_radius(self.host.radius)

    def activate(self, canvas) -> None:
        super().activate(canvas)
        self.outline.set_radius(self.host.radius)
        canvas.viewport().installEventFilter(self._leave)

    def deactivate(self) -> None:
        if self.canvas is not None:
            self.canvas.viewport().removeEventFilter(self._leave)
        self.outline.setVisible(False)
        super().deactivate()

    def _show_outline(self, ev) -> None:
        self.outline.set_pad(pen_pad(self.canvas))
        self.outline.set_radius(self.host.radius)
        self.outline.place(ev.x, ev.y)
        self.outline.setVisible(True)

    def mouse_press(self, ev) -> bool:
        if ev.button != Qt.MouseButton.LeftButton:
            return False
        if self._stroke is not None:
            return True
        self._show_outline(ev)
        session = self.host.begin_edit()
        if session is None:
            return True
        stroke = self.make_stroke(session)
        if stroke is None:
            return True
        self._stroke, self._session = stroke, session
        self.host.repaint(session, stroke.add_point(ev.pos.x(), ev.pos.y()))
        return True

    def mouse_move(self, ev) -> bool:
        self._show_outline(ev)
        if self._stroke is None:
            return True
        self.host.repaint(self._session, self._stroke.add_point(ev.pos.x(), ev.pos.y()))
        return True

    def mouse_release(self, ev) -> bool:
        if ev.button != Qt.MouseButton.LeftButton or self._stroke is None:
            return False
        self.host.repaint(self._session, self._stroke.add_point(ev.pos.x(), ev.pos.y()))
        self._commit()
        return True

    def _commit(self) -> None:
        stroke, session = self._stroke, self._session
        self._stroke = self._session = None
        self.host.commit(session, stroke.finish())

    def key_press(self, event) -> bool:
        if event.key() == Qt.Key.Key_Escape and self._stroke is not None:
            self.abort()
            return True
        return False

    def abort(self) -> None:
        if self._stroke is not None:
            stroke, session = self._stroke, self._session
            self._stroke = self._session = None
            self.host.repaint(session, stroke.cancel())

    def document_changed(self) -> None:
        # the stroke belongs to the image that was on screen: keep it there as a step
        if self._stroke is not None:
            self._commit()


class BrushTool(StrokeTool):
    name = "brush"
    label = "Brush"
    shortcut = "B"
    tip = "Paint the active class with a round brush ([ and ] change the size)"

    def make_stroke(self, session):
        value = self.host.require_class()
        if value is None:
            return None
        return edits.BrushStroke(session.mask, self.host.radius, value,
                                 allowed=self.host.allowed(), name="Brush")


class EraserTool(StrokeTool):
    name = "eraser"
    label = "Eraser"
    shortcut = "E"
    tip = "Erase to unlabelled (not background): erased pixels are not trained on"

    def make_stroke(self, session):
        ignore = self.host.class_table().ignore_index
        if ignore is None:
            self.host.message("this class table has no unlabelled class to erase to; "
                                "paint a class instead")
            return None
        return edits.eraser_stroke(session.mask, self.host.radius, ignore)


class AcceptPredictionTool(StrokeTool):
    name = "accept"
    label = "Accept"
    shortcut = "Y"
    tip = "Accept the prediction where you brush (copies the model's classes)"

    def hint(self) -> str:
        if self.host.prediction() is None:
            return "Accept: this image has no prediction to accept; predict it first"
        return (f"Accept: brush over the prediction to copy its classes into your mask "
                f"(brush {2 * self.host.radius + 1} px, [ and ] change it; preserve others "
                "applies)")

    def options_changed(self) -> None:
        super().options_changed()
        self.hint_changed()

    def document_changed(self) -> None:
        super().document_changed()
        self.hint_changed()  # with or without a prediction

    def make_stroke(self, session):
        prediction = self.host.prediction()
        if prediction is None:
            self.host.message("this image has no prediction to accept; predict it first")
            return None
        return edits.accept_prediction_stroke(session.mask, self.host.radius, prediction,
                                              allowed=self.host.allowed())


class ReplaceClassTool(StrokeTool):
    name = "replace"
    label = "Replace"
    shortcut = "Shift+R"
    tip = "Replace one class (chosen in the tool options) by the active class where you brush"

    def hint(self) -> str:
        table = self.host.class_table()
        src = self.host.replace_from
        info = table.by_id(src) if src is not None else None
        dst = self.host.class_name(self.host.active_class)
        if info is None:
            return "Replace: choose the class to replace in the tool bar (Replace …)"
        return (f"Replace: brush over {info.name} to turn it into {dst}; other classes stay "
                "(the class to replace is in the tool bar)")

    def options_changed(self) -> None:
        super().options_changed()
        self.hint_changed()

    def make_stroke(self, session):
        value = self.host.require_class()
        if value is None:
            return None
        src = self.host.replace_from
        if src is None:
            self.host.message("choose the class to replace in the tool options")
            return None
        return edits.replace_class_stroke(session.mask, self.host.radius, src, value)
