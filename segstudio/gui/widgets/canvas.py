"""The image canvas: a QGraphicsView with the image and its mask layers.

Layers, bottom to top: image, prediction (fill or outline), human mask (fill
or outline), uncertainty heat map, difference.  Each mask layer is an Indexed8
QImage over the numpy array (no copy); how classes look is only a colour
table (see :mod:`segstudio.gui.overlay`).

The canvas is a view: it renders the :class:`ImageDocument` it is given and
never writes to it (the document's owner, the project controller, replaces its
record, mask or prediction and then calls :meth:`Canvas.show_new_mask` /
:meth:`Canvas.show_new_prediction`).  The outline and difference layers are
the canvas's own (:meth:`Canvas.derived_layers`), started from those the
loader made.

The mask editor plugs in here:

* ``canvas.set_tool(tool)`` routes mouse and key events to a
  :class:`~segstudio.gui.widgets.tools.CanvasTool` (navigation stays here);
* ``canvas.mask()`` is the human mask array shown; after writing into it, call
  ``canvas.mask_changed(QRect)``: only that rectangle (plus one pixel for
  outlines) is recomputed and repainted;
* ``canvas.document()`` is the :class:`ImageDocument` shown (its ``rec`` is
  the current image record).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QTransform
from PySide6.QtWidgets import QFrame, QGraphicsItem, QGraphicsScene, QGraphicsView

from ...core.classes import ClassTable, default_classes
from ...core.display import DisplayAdjust
from ..document import DerivedLayers, ImageDocument
from ..overlay import (
    OverlayStyle,
    class_color_table,
    difference_color_table,
    heat_color_table,
    outline_color_table,
)
from ..workers import WorkerService
from .canvas_view import CanvasViewMixin
from .derived import NAMES as DERIVED
from .derived import DerivedKeeper
from .large_view import LargeView
from .layers import ArrayLayer
from .tools import CanvasTool, ToolEvent

BACKGROUND = QColor(43, 43, 46)
ZOOM_STEP = 1.25


class Canvas(CanvasViewMixin, QGraphicsView):
    pixel_hovered = Signal(int, int)   # image pixel under the cursor; (-1, -1) when outside
    zoom_changed = Signal(float)
    document_shown = Signal(object)    # the ImageDocument now on screen (None when cleared)

    MIN_ZOOM = 1 / 64
    MAX_ZOOM = 64.0

    def __init__(self, workers: WorkerService, parent=None):
        super().__init__(parent)
        self._scene = QGraphicsScene(self)
        self._scene.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.setScene(self._scene)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setBackgroundBrush(BACKGROUND)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing, True)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(False)

        self._image = ArrayLayer(0, smooth=True)
        # the photo does not change when an overlay does: repaint it from a device cache
        self._image.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self._prediction = ArrayLayer(10)
        self._prediction_outline = ArrayLayer(11)
        self._mask = ArrayLayer(20)
        self._mask_outline = ArrayLayer(21)
        self._uncertainty = ArrayLayer(30)
        self._difference = ArrayLayer(40)
        for item in self._layers():
            self._scene.addItem(item)
        self._large = LargeView(self, workers)  # the tiled layers of a large image

        self._doc: ImageDocument | None = None
        self._table: ClassTable = default_classes()
        self._style = OverlayStyle()
        self._tool: CanvasTool | None = None
        self._message = ""
        self._fit_mode = True
        self._pan_last: QPointF | None = None
        self._space = False
        self._hover: QPointF | None = None  # viewport position of the resting cursor
        self._adjust = DisplayAdjust()
        self._derived = DerivedKeeper(workers)  # the outline/difference layers shown
        self.paint_count = 0  # viewport paints so far (benchmarks wait on it)
        self.press_hooks: list = []  # called before a press reaches the tool

    def _layers(self) -> tuple[ArrayLayer, ...]:
        return (self._image, self._prediction, self._prediction_outline, self._mask,
                self._mask_outline, self._uncertainty, self._difference)

    # -- document -----------------------------------------------------------------
    def document(self) -> ImageDocument | None:
        return self._doc

    def current_record(self):
        return None if self._doc is None else self._doc.rec

    def set_document(self, doc: ImageDocument | None, keep_view: bool = False) -> None:
        """Show ``doc`` (None clears).  An unreadable image shows its error message."""
        self._derived.reset(doc)
        same_size = (self._doc is not None and doc is not None and self._doc.ok and doc.ok
                     and (self._doc.width, self._doc.height) == (doc.width, doc.height))
        self._doc = doc
        if doc is None or not doc.ok:
            for item in self._layers():
                item.set_array(None)
            self._large.show(None)
            self._scene.setSceneRect(QRectF())
            self._message = "" if doc is None else (doc.error or "this image cannot be shown")
        else:
            self._message = ""
            if doc.large is not None:  # tiles of a pyramid, not arrays
                for item in self._layers():
                    item.set_array(None)
                self._large.show(doc)
                self._apply_style()
            else:
                self._large.show(None)
                self._show_display()
                self._scene.setSceneRect(QRectF(0, 0, doc.width, doc.height))
                self._set_label_layers()
            if not (keep_view and same_size):
                self.fit()
        if self._tool is not None:
            self._tool.document_changed()
        self.viewport().update()
        self.document_shown.emit(doc)

    def _set_label_layers(self) -> None:
        doc, d = self._doc, self._derived.layers
        self._mask.set_array(doc.mask)
        self._prediction.set_array(doc.prediction)
        self._uncertainty.set_array(doc.uncertainty)
        self._mask_outline.set_array(d.outline_mask)
        self._prediction_outline.set_array(d.outline_prediction)
        self._difference.set_array(d.difference)
        self._apply_style()

    def derived_layers(self) -> DerivedLayers:
        """The outline and difference layers shown (made when first needed)."""
        return self._derived.layers

    def mask(self) -> np.ndarray | None:
        """The human mask array on screen (write into it, then call mask_changed)."""
        return None if self._doc is None else self._doc.mask

    def show_new_mask(self, doc: ImageDocument | None) -> None:
        """The owner replaced the mask array of ``doc``: show it (if ``doc`` is shown)."""
        if doc is None or doc is not self._doc or not doc.ok:
            return
        if doc.large is not None:
            self.show_large_window(doc)
            return
        self._derived.drop("outline_mask", "difference")
        self._mask.set_array(doc.mask)
        self._mask_outline.set_array(None)
        self._difference.set_array(None)
        self._apply_style()
        self.refresh_hover()

    def show_new_prediction(self, doc: ImageDocument | None) -> None:
        """The owner gave ``doc`` a new prediction and entropy map: show them."""
        if doc is None or doc is not self._doc or not doc.ok:
            return
        if doc.large is not None:
            self.show_large_window(doc)
            return
        self._derived.drop("outline_prediction", "difference")
        for layer in (self._prediction_outline, self._difference):
            layer.set_array(None)
        self._prediction.set_array(doc.prediction)
        self._uncertainty.set_array(doc.uncertainty)
        self._apply_style()
        self.refresh_hover()

    def show_large_window(self, doc: ImageDocument | None) -> None:
        """A large document's editing window moved, or its pyramid or labels changed."""
        if doc is None or doc is not self._doc or doc.large is None:
            return
        self._large.window_changed()
        self._apply_style()
        self.refresh_hover()

    def large_view(self) -> LargeView:
        return self._large

    def window_origin(self) -> tuple[int, int]:
        """(y, x) of scene coordinates' origin in the image: the editing window's origin
        for a large image, else (0, 0)."""
        return self._large.origin if self._large.active else (0, 0)

    def mask_changed(self, rect: QRect | None = None) -> None:
        """The human mask changed inside ``rect`` (None: everywhere): repaint that part."""
        self._labels_changed("mask", rect)

    def prediction_changed(self, rect: QRect | None = None) -> None:
        self._labels_changed("prediction", rect)

    def _labels_changed(self, which: str, rect: QRect | None) -> None:
        doc = self._doc
        if doc is None or not doc.ok or getattr(doc, which) is None:
            return
        if doc.large is not None:  # the chunked mask's listeners repaint its tiles
            self.refresh_hover()
            return
        if rect is None:
            full = (0, 0, doc.width, doc.height)
        else:
            r = rect.normalized()
            full = (r.x(), r.y(), r.x() + r.width(), r.y() + r.height())
        # a changed pixel can change whether its neighbours are boundary pixels
        grown = (full[0] - 1, full[1] - 1, full[2] + 1, full[3] + 1)
        self._derived.edited(which, full, grown, self._table.unlabelled_value(),
                             self._table.ignore_index)
        qgrown = QRect(grown[0], grown[1], grown[2] - grown[0], grown[3] - grown[1])
        layers = (self._mask, self._mask_outline) if which == "mask" else (
            self._prediction, self._prediction_outline)
        for layer in layers + (self._difference,):
            layer.dirty(qgrown)
        self.refresh_hover()

    # -- style ----------------------------------------------------------------------
    def class_table(self) -> ClassTable:
        return self._table

    def style(self) -> OverlayStyle:
        return self._style

    def set_class_table(self, table: ClassTable) -> None:
        self._table = table
        self._apply_style()

    def set_style(self, style: OverlayStyle) -> None:
        """New overlay style: rebuilds 256-entry colour tables and layer visibility only."""
        self._style = style
        self._apply_style()

    def _apply_style(self) -> None:
        st, table = self._style, self._table
        colors = class_color_table(table, st)
        outline = outline_color_table(table, st, table.unlabelled_value())
        self._mask.set_color_table(colors)
        self._prediction.set_color_table(colors)
        self._mask_outline.set_color_table(outline)
        self._prediction_outline.set_color_table(outline)
        self._difference.set_color_table(difference_color_table(st))
        self._uncertainty.set_color_table(heat_color_table(st))
        doc = self._doc
        if doc is not None and doc.large is not None:
            self._apply_large_style(colors)
            return

        def has(name: str) -> bool:
            src = self._derived.layers if name in DERIVED else doc
            return doc is not None and doc.ok and getattr(src, name) is not None

        self._mask.setVisible(st.show_mask and not st.outline and has("mask"))
        self._mask_outline.setVisible(st.show_mask and st.outline and has("outline_mask"))
        self._prediction.setVisible(st.show_prediction and not st.outline and has("prediction"))
        self._prediction.set_hatched(st.hatch_prediction)
        self._prediction_outline.setVisible(st.show_prediction and st.outline
                                            and has("outline_prediction"))
        self._uncertainty.setVisible(st.uncertainty and has("uncertainty"))
        self._difference.setVisible(st.difference and has("difference"))
        self.viewport().update()  # the legend names the layers now shown
        need_outline = st.outline and ((has("mask") and not has("outline_mask")) or (
            has("prediction") and not has("outline_prediction")))
        need_diff = st.difference and has("mask") and has("prediction") and not has("difference")
        if need_outline or need_diff:
            self._compute_derived(need_outline, need_diff)

    def _apply_large_style(self, colors: list[int]) -> None:
        """A large image's tiled label layers: filled or outlined, and the difference
        (no uncertainty layer: a large image keeps no entropy map)."""
        st, large, table = self._style, self._doc.large, self._table
        for item in self._layers():
            item.setVisible(False)
        self._large.apply_style(st, large, colors, outline_color_table(
            table, st, table.unlabelled_value()), difference_color_table(st),
            table.unlabelled_value(), table.ignore_index)
        self.viewport().update()

    def _compute_derived(self, outlines: bool, difference: bool) -> None:
        """Whole-image outline/difference layers, computed off the GUI thread."""

        def done() -> None:
            d = self._derived.layers
            self._mask_outline.set_array(d.outline_mask)
            self._prediction_outline.set_array(d.outline_prediction)
            self._difference.set_array(d.difference)
            self._apply_style()

        self._derived.compute(outlines, difference, self._table.unlabelled_value(),
                              self._table.ignore_index, done)

    # -- tools ------------------------------------------------------------------------
    def tool(self) -> CanvasTool | None:
        return self._tool

    def set_tool(self, tool: CanvasTool | None) -> None:
        if self._tool is not None:
            self._tool.deactivate()
        self._tool = tool
        if tool is not None:
            tool.activate(self)
        self._update_cursor()

    def _update_cursor(self) -> None:
        if self._pan_last is not None:
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
        elif self._space:
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        elif self._tool is not None:
            self.viewport().setCursor(self._tool.cursor)
        else:
            self.viewport().unsetCursor()

    def _tool_event(self, e, button=Qt.MouseButton.NoButton) -> ToolEvent:
        pos = self.viewportTransform().inverted()[0].map(e.position())
        w, h = (self._doc.width, self._doc.height) if self._doc else (0, 0)
        if self._doc is not None and self._doc.large is not None:
            h, w = self._doc.large.window_shape  # tools work in the editing window
        return ToolEvent(pos, e.position(), button, e.buttons(), e.modifiers(), w, h)

    # -- zoom and pan ---------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    @property
    def fit_mode(self) -> bool:
        """True while the image is fitted to the window (no zoom or pan since)."""
        return self._fit_mode

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom to ``zoom`` keeping the image point under ``anchor`` (viewport) in place."""
        zoom = min(self.MAX_ZOOM, max(self.MIN_ZOOM, float(zoom)))
        vp = self.viewport().rect()
        if anchor is None:
            anchor = QPointF(vp.width() / 2, vp.height() / 2)
        scene_pt = self.viewportTransform().inverted()[0].map(anchor)
        self.setTransform(QTransform.fromScale(zoom, zoom))
        moved = self.viewportTransform().map(scene_pt) - anchor
        hbar, vbar = self.horizontalScrollBar(), self.verticalScrollBar()
        hbar.setValue(hbar.value() + round(moved.x()))
        vbar.setValue(vbar.value() + round(moved.y()))
        self._fit_mode = False
        self.zoom_changed.emit(zoom)
        self.refresh_hover()

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        self.set_zoom(self.zoom() * factor, anchor)

    def actual_size(self) -> None:
        """100 %: one image pixel per screen pixel."""
        self.set_zoom(1.0)

    def fit(self) -> None:
        """Fit the whole image into the window."""
        if self._doc is None or not self._doc.ok:
            return
        vp = self.viewport().rect()
        z = min(self.MAX_ZOOM, max(self.MIN_ZOOM, min(vp.width() / self._doc.width,
                                                       vp.height() / self._doc.height)))
        self.setTransform(QTransform.fromScale(z, z))
        oy, ox = self.window_origin()
        self.centerOn(self._doc.width / 2 - ox, self._doc.height / 2 - oy)
        self._fit_mode = True
        self.zoom_changed.emit(z)
        self.refresh_hover()

    def render_scene(self, rect: QRect | None = None,
                     background: QColor = QColor(0, 0, 0)) -> QImage:
        """The layers of ``rect`` (image pixels) rendered at 100 % into an ARGB32 image."""
        if rect is None:
            rect = QRect(0, 0, self._doc.width, self._doc.height) if self._doc else QRect()
        out = QImage(rect.width(), rect.height(), QImage.Format.Format_ARGB32_Premultiplied)
        out.fill(background)
        painter = QPainter(out)
        self._scene.render(painter, QRectF(0, 0, rect.width(), rect.height()), QRectF(rect),
                           Qt.AspectRatioMode.IgnoreAspectRatio)
        painter.end()
        return out

    # -- events -------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        self.paint_count += 1

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit_mode:
            self.fit()

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps and self._doc is not None and self._doc.ok:
            self.zoom_by(ZOOM_STEP ** steps, event.position())
        event.accept()

    def _panning_button(self, e) -> bool:
        return e.button() == Qt.MouseButton.MiddleButton or (
            e.button() == Qt.MouseButton.LeftButton and self._space)

    def mousePressEvent(self, e) -> None:
        if self._panning_button(e):
            self._pan_last = e.position()
            self._update_cursor()
            e.accept()
            return
        if self._tool_ready():
            for hook in self.press_hooks:  # e.g. a large image's editing window moves
                hook()
        if self._tool_ready() and self._tool.mouse_press(self._tool_event(e, e.button())):
            e.accept()
            return
        super().mousePressEvent(e)

    def mouseMoveEvent(self, e) -> None:
        if self._pan_last is not None:
            delta = e.position() - self._pan_last
            self._pan_last = e.position()
            hbar, vbar = self.horizontalScrollBar(), self.verticalScrollBar()
            hbar.setValue(hbar.value() - round(delta.x()))
            vbar.setValue(vbar.value() - round(delta.y()))
            self._fit_mode = False
            e.accept()
            return
        self._hover = e.position()
        if self._doc is not None and self._doc.ok:
            ev = self._tool_event(e)
            self.pixel_hovered.emit(*self.image_pixel(ev))
            if self._tool is not None and self._tool.mouse_move(ev):
                e.accept()
                return
        super().mouseMoveEvent(e)

    def mouseReleaseEvent(self, e) -> None:
        if self._pan_last is not None and (e.button() == Qt.MouseButton.MiddleButton or
                                           e.button() == Qt.MouseButton.LeftButton):
            self._pan_last = None
            self._update_cursor()
            e.accept()
            return
        if self._tool_ready() and self._tool.mouse_release(self._tool_event(e, e.button())):
            e.accept()
            return
        super().mouseReleaseEvent(e)

    def mouseDoubleClickEvent(self, e) -> None:
        if self._tool_ready() and self._tool.mouse_double_click(self._tool_event(e, e.button())):
            e.accept()
            return
        super().mouseDoubleClickEvent(e)

    def _tool_ready(self) -> bool:
        return self._tool is not None and self._doc is not None and self._doc.ok

    def leaveEvent(self, event) -> None:
        self._hover = None
        self.pixel_hovered.emit(-1, -1)
        super().leaveEvent(event)

    def keyPressEvent(self, e) -> None:
        if not self._key_event(e, True):
            super().keyPressEvent(e)

    def keyReleaseEvent(self, e) -> None:
        if not self._key_event(e, False):
            super().keyReleaseEvent(e)

    def _key_event(self, e, pressed: bool) -> bool:
        """The tool's key, else space (held: drag pans); True when used."""
        tool = self._tool
        if tool is not None and (tool.key_press if pressed else tool.key_release)(e):
            e.accept()
            return True
        if e.key() != Qt.Key.Key_Space:
            return False
        if not e.isAutoRepeat():
            self._space = pressed
            self._update_cursor()
        e.accept()
        return True

    def focusOutEvent(self, event) -> None:
        self._space = False
        self._pan_last = None
        self._update_cursor()
        super().focusOutEvent(event)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        self._draw_hint(painter)
        self._draw_legend(painter)
        if not self._message:
            return
        painter.save()
        painter.resetTransform()
        area = self.viewport().rect().adjusted(40, 40, -40, -40)
        painter.setPen(QColor(225, 225, 228))
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        painter.setFont(font)
        painter.drawText(area, int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
                         self._message)
        painter.restore()

    def set_message(self, text: str) -> None:
        """A placeholder text in the middle of the canvas ('' removes it)."""
        self._message = text
        self.viewport().update()

    def message(self) -> str:
        return self._message
