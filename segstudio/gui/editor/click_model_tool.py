"""Click: interactive segmentation with the project's click model.

* Left click: a positive click (on the object); right click: a negative one (not the
  object).  A left drag draws a box round the object instead: the first click goes to
  its centre and the model looks inside the box.
* After each click the click model (:class:`segstudio.nn.click.model.ClickPredictor`,
  the project's setting ``active_click_checkpoint``) predicts the object on a worker
  thread; the preview (tinted, outlined in the active class's colour) follows.  A
  result that comes back after a newer click, or for another image, is dropped
  (:mod:`.tool_jobs`).
* Enter paints the preview with the active class as one undo step (while a
  prediction is under way: the one it gives); Backspace takes the last click back;
  Esc drops the clicks and the preview.

Train a click model with ``segstudio train FOLDER --task click``.
"""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPixmapItem

from ...core import edits
from ...core.footprint import pixel_of
from .base import DARK, OVERLAY_Z, PathOverlay, pen_pad, pixel_box
from .smart_base import PreviewTool

SETTING = "active_click_checkpoint"
POS_COLOR = QColor(80, 255, 120, 255)
NEG_COLOR = QColor(255, 80, 80, 255)
DOT_PX = 7
DRAG_PX = 4  # a press and release this many screen pixels apart or more is a box drag
TRAIN_HINT = ("this project has no click model yet: train one with "
              "'segstudio train FOLDER --task click' (it learns from the corrected masks)")


class ClickDots(QGraphicsItem):
    """The clicks: green dots (positive) and red dots (negative), a fixed screen size."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(OVERLAY_Z + 1)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.pos_pts = QPolygonF()
        self.neg_pts = QPolygonF()
        self._rect = QRectF()
        self.pad = 4.0

    def set_clicks(self, pos, neg, pad: float) -> None:
        self.prepareGeometryChange()
        self.pos_pts = QPolygonF([QPointF(x + 0.5, y + 0.5) for x, y in pos])
        self.neg_pts = QPolygonF([QPointF(x + 0.5, y + 0.5) for x, y in neg])
        self.pad = pad
        pts = list(pos) + list(neg)
        if not pts:
            self._rect = QRectF()
            return
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        self._rect = QRectF(min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1
                            ).adjusted(-pad, -pad, pad, pad)

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option, widget=None) -> None:
        for pts, color in ((self.pos_pts, POS_COLOR), (self.neg_pts, NEG_COLOR)):
            if pts.isEmpty():
                continue
            for c, width in ((DARK, DOT_PX + 2), (color, DOT_PX)):
                pen = QPen(c, width)
                pen.setCosmetic(True)
                pen.setCapStyle(Qt.PenCapStyle.RoundCap)
                painter.setPen(pen)
                painter.drawPoints(pts)


class PredictorCache:
    """The click model of a checkpoint file, loaded once per file version (any thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: tuple[str, float, object] | None = None  # (path, mtime, ClickPredictor)

    def get(self, path: str):
        from ...nn.click.model import ClickPredictor

        mtime = Path(path).stat().st_mtime
        with self._lock:
            if self._cache is not None and self._cache[:2] == (path, mtime):
                return self._cache[2]
        pred = ClickPredictor.from_checkpoint(path, device="cpu")
        with self._lock:
            self._cache = (path, mtime, pred)
        return pred


def preview_image(mask: np.ndarray, color) -> QImage:
    """RGBA: the mask tinted with ``color``, its outline opaque."""
    h, w = mask.shape
    rgba = np.zeros((h, w, 4), np.uint8)
    m8 = mask.astype(np.uint8)
    edge = (m8 - cv2.erode(m8, np.ones((3, 3), np.uint8))).astype(bool)
    rgba[mask] = (*color, 110)
    rgba[edge] = (*color, 255)
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


class ClickModelTool(PreviewTool):
    name = "click"
    label = "Click"
    shortcut = "C"
    tip = ("Click model: left click on the object, right click beside it (or drag a box "
           "round it); Enter fills it with the active class")
    job_key = "click-model"
    what = "click model"

    def __init__(self, host) -> None:
        super().__init__(host)
        self.pos: list[tuple[int, int]] = []
        self.neg: list[tuple[int, int]] = []
        self.box: tuple[int, int, int, int] | None = None  # (y0, x0, y1, x1)
        self.history: list[np.ndarray | None] = []  # the preview before each click
        self._order: list[bool] = []  # each click's sign, in order (for Backspace)
        self._press: tuple[QPointF, QPointF] | None = None  # (image pos, view pos) of a press
        self.models = PredictorCache()
        self.layer = self.add_item(QGraphicsPixmapItem())
        self.layer.setZValue(OVERLAY_Z - 1)
        self.layer.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.dots = self.add_item(ClickDots())
        self.box_item = self.add_item(PathOverlay())

    @property
    def busy(self) -> bool:
        return self._press is not None

    @property
    def pending(self) -> bool:
        return bool(self.pos)

    @property
    def generation(self) -> int:
        """The predictions asked for so far."""
        return self.job.generation

    # -- the model -------------------------------------------------------------------------
    def checkpoint(self) -> str | None:
        path = self.host.project_setting(SETTING)
        return str(path) if path and Path(str(path)).is_file() else None

    def predictor(self, path: str):
        """The click model of ``path`` (loaded once per file version; any thread)."""
        return self.models.get(path)

    def weak(self) -> str:
        """A warning when the click model scored below a usable model on its validation
        objects (it was made active only because the project had no other)."""
        from ...nn.names import CLICK_USABLE

        score = self.host.project_setting(SETTING + "_score")
        if isinstance(score, (int, float)) and score < CLICK_USABLE:
            return (f" (the click model reaches only {score * 100:.0f} % IoU after 3 clicks "
                    "on its validation objects: train it longer)")
        return ""

    def hint(self) -> str:
        if self.checkpoint() is None:
            return f"Click: {TRAIN_HINT}"
        if self.job.running:
            return "Click: predicting … (Esc drops it)"
        if not self.pos:
            return "Click: click on an object (or drag a box round it)" + self.weak()
        return (f"Click: Enter fills the object with "
                f"{self.host.class_name(self.host.active_class)}; left click adds to it, "
                "right click takes away, Backspace undoes a click, Esc drops it")

    # -- mouse -----------------------------------------------------------------------------
    def mouse_press(self, ev) -> bool:
        if ev.button == Qt.MouseButton.LeftButton and ev.inside:
            self._press = (QPointF(ev.pos), QPointF(ev.view_pos))
            return True
        if ev.button == Qt.MouseButton.RightButton and ev.inside:
            if not self.pos:
                self.host.message("Click: start with a left click on the object")
                return True
            self._add_click((ev.x, ev.y), positive=False)
            return True
        return False

    def mouse_move(self, ev) -> bool:
        if self._press is None:
            return False
        if self._is_drag(ev):
            self.box_item.set_pad(pen_pad(self.canvas) if self.canvas is not None else 2.0)
            self.box_item.set_rect(pixel_box(self._press[0], ev.pos))
        return True

    def mouse_release(self, ev) -> bool:
        if self._press is None or ev.button != Qt.MouseButton.LeftButton:
            return self._press is not None
        start = self._press[0]
        drag = self._is_drag(ev)
        self._press = None
        if drag:
            (ax, ay), (bx, by) = pixel_of(start.x(), start.y()), pixel_of(ev.pos.x(), ev.pos.y())
            h, w = ev.image_height, ev.image_width
            x0, x1 = max(min(ax, bx), 0), min(max(ax, bx) + 1, w)
            y0, y1 = max(min(ay, by), 0), min(max(ay, by) + 1, h)
            if x1 - x0 < 2 or y1 - y0 < 2:
                self.box_item.set_rect(None)
                return True
            self.clear()
            self.box = (y0, x0, y1, x1)
            self.box_item.set_rect(QRectF(x0, y0, x1 - x0, y1 - y0))
            self._add_click(((x0 + x1 - 1) // 2, (y0 + y1 - 1) // 2), positive=True)
        else:
            x, y = pixel_of(start.x(), start.y())
            self._add_click((x, y), positive=True)
        return True

    def _is_drag(self, ev) -> bool:
        d = ev.view_pos - self._press[1]
        return max(abs(d.x()), abs(d.y())) >= DRAG_PX

    # -- clicks and predictions ------------------------------------------------------------
    def _add_click(self, xy: tuple[int, int], positive: bool) -> None:
        if self.checkpoint() is None:
            self.host.message(f"Click: {TRAIN_HINT}")
            self.hint_changed()
            return
        self.history.append(self.preview)
        (self.pos if positive else self.neg).append((int(xy[0]), int(xy[1])))
        self._order.append(positive)
        self._redraw_dots()
        self.run()

    def predict(self) -> bool:
        """Ask the click model for the object after the clicks so far (on a worker)."""
        return self.run()

    def request(self):
        doc = self.host.document()
        path = self.checkpoint()
        if doc is None or not doc.ok or path is None or not self.pos:
            return None
        prev = self.history[-1] if self.history else None
        return (self.models, path, doc.display, list(self.pos), list(self.neg), prev,
                self.box)

    @staticmethod
    def compute(inputs):
        models, path, image, pos, neg, prev, box = inputs
        return models.get(path).predict(image, pos, neg, prev, box)

    def busy_text(self, inputs) -> str:
        return "click model …"

    def show_preview(self, mask):
        self._redraw_preview(mask)
        return mask  # also when empty: the next click's prediction starts from it

    def fillable(self, preview) -> bool:
        return preview is not None and bool(preview.any())

    def paint_op(self, preview, value, allowed):
        rows, cols = np.flatnonzero(preview.any(1)), np.flatnonzero(preview.any(0))
        y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        sel = preview[y0:y1, x0:x1].copy()
        return lambda mask: edits.paint_region(mask, y0, x0, sel, value, allowed=allowed,
                                               name="Click model")

    def _redraw_dots(self) -> None:
        pad = pen_pad(self.canvas, DOT_PX) if self.canvas is not None else 4.0
        self.dots.set_clicks(self.pos, self.neg, pad)

    def _redraw_preview(self, mask: np.ndarray | None = None) -> None:
        if mask is None or not mask.any():
            self.layer.setPixmap(QPixmap())
            return
        info = self.host.class_table().by_id(self.host.active_class) \
            if self.host.active_class is not None else None
        color = info.color if info is not None else (255, 255, 0)
        self.layer.setPixmap(QPixmap.fromImage(preview_image(mask, color)))

    # -- keys ------------------------------------------------------------------------------
    def key_press(self, event) -> bool:
        if super().key_press(event):
            return True
        if event.key() == Qt.Key.Key_Backspace and self.pos and self._press is None:
            self.undo_click()
            return True
        return False

    def nothing_text(self) -> str:
        return "Click: nothing to fill yet"

    def undo_click(self) -> None:
        """Take the last click back (and the preview it gave)."""
        if not self._order:
            return
        (self.pos if self._order.pop() else self.neg).pop()
        self.job.cancel()  # a prediction under way is for the click taken back
        self._accept_when_ready = False
        self.preview = self.history.pop() if self.history else None
        if not self.pos:
            self.clear()
            return
        self._redraw_dots()
        self._redraw_preview(self.preview)
        self.hint_changed()

    def forget(self) -> None:
        self.pos, self.neg, self._order[:] = [], [], []
        self.box, self.history = None, []
        self._press = None
        self.box_item.set_rect(None)
        self._redraw_dots()

    def abort(self) -> None:
        """Only a box drag in progress is dropped (switching tools keeps the clicks)."""
        if self._press is not None:
            self._press = None
            self.box_item.set_rect(None if self.box is None else QRectF(
                self.box[1], self.box[0], self.box[3] - self.box[1], self.box[2] - self.box[0]))

    def options_changed(self) -> None:
        self._redraw_preview(self.preview)  # the tint follows the active class
