"""Canvas seams for the editor (tools, mask_changed) and the derived layers."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from segstudio.core.derived_maps import boundaries
from segstudio.core.project import Project
from segstudio.core.sample import CAR, IGNORE, ROAD, SAMPLE_CLASSES, SIDEWALK, SKY
from segstudio.gui.overlay import DIFF_COLOR, heat_colors
from segstudio.gui.widgets.tools import CanvasTool

from .conftest import expected_over, open_and_wait, qimage_rgb


class StampTool(CanvasTool):
    """Paints a 3x3 square of one class where the left button goes down."""

    name = "stamp"

    def __init__(self, class_id: int):
        super().__init__()
        self.class_id = class_id
        self.presses: list[tuple[int, int]] = []

    def mouse_press(self, ev):
        if ev.button != Qt.MouseButton.LeftButton or not ev.inside:
            return False
        self.presses.append((ev.x, ev.y))
        mask = self.canvas.mask()
        mask[ev.y - 1:ev.y + 2, ev.x - 1:ev.x + 2] = self.class_id
        self.canvas.mask_changed(QRect(ev.x - 1, ev.y - 1, 3, 3))
        return True


def test_tool_gets_image_coordinates_and_dirty_rect_repaints(qtbot, window, street_project):
    folder, images, labels = street_project
    open_and_wait(qtbot, window, folder, relpath="scene_1.png")
    canvas = window.canvas
    window.actions_.layers["outline"].setChecked(True)
    qtbot.waitUntil(lambda: canvas.derived_layers().outline_mask is not None, timeout=5000)
    tool = StampTool(SKY)
    canvas.set_tool(tool)
    canvas.set_zoom(8.0)
    canvas.centerOn(60, 60)
    x, y = 60, 62
    assert labels[0][y, x] != SKY
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton,
                     pos=canvas.mapFromScene(x + 0.5, y + 0.5))
    assert tool.presses == [(x, y)]
    mask = canvas.mask()
    assert (mask[y - 1:y + 2, x - 1:x + 2] == SKY).all()
    # the outline layer, updated only around the dirty rectangle, equals a full recompute
    assert np.array_equal(canvas.derived_layers().outline_mask, boundaries(mask, IGNORE))
    # and what is drawn there follows the new mask
    window.actions_.layers["outline"].setChecked(False)
    got = qimage_rgb(canvas.render_scene(QRect(x - 1, y - 1, 3, 3)))
    a = canvas.style().class_alpha(SKY, SAMPLE_CLASSES)
    want = expected_over(images[0][y - 1:y + 2, x - 1:x + 2], SAMPLE_CLASSES.by_id(SKY).color, a)
    assert np.array_equal(got, want)
    # a wheel step zooms by 1.25 around the cursor
    z = canvas.zoom()
    pos = QPointF(canvas.mapFromScene(x, y))
    event = QWheelEvent(pos, QPointF(canvas.viewport().mapToGlobal(pos.toPoint())), QPoint(0, 0),
                        QPoint(0, 120), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(canvas.viewport(), event)
    assert abs(canvas.zoom() - z * 1.25) < 1e-9
    canvas.set_tool(None)
    assert tool.canvas is None


def test_outline_difference_and_uncertainty_layers(qtbot, window, street_project):
    folder, images, labels = street_project
    pred = labels[0].copy()
    pred[40:60, 10:30] = CAR                     # the model sees a car that is not there
    entropy = np.tile(np.arange(120, dtype=np.uint8) * 2, (80, 1))
    with Project.open(folder) as p:
        p.save_prediction(p.images()[0], pred, "ckpt", uncertainty=0.5, entropy_map=entropy)
    open_and_wait(qtbot, window, folder, relpath="scene_1.png")
    canvas, acts = window.canvas, window.actions_.layers
    doc = canvas.document()
    assert np.array_equal(doc.prediction, pred) and np.array_equal(doc.uncertainty, entropy)

    # outlines only: interior pixels show the photo, boundary pixels their class colour
    acts["outline"].setChecked(True)
    acts["show_prediction"].setChecked(False)
    qtbot.waitUntil(lambda: canvas.derived_layers().outline_mask is not None, timeout=5000)
    outline = boundaries(labels[0], IGNORE)
    assert np.array_equal(canvas.derived_layers().outline_mask, outline)
    got = qimage_rgb(canvas.render_scene())
    inside = outline == IGNORE
    assert np.array_equal(got[inside], images[0][inside])
    edge = outline == ROAD
    a = canvas.style().outline_alpha(ROAD, SAMPLE_CLASSES)
    assert a == 255  # outlines get twice the global opacity (50 %)
    assert edge.any()
    road = SAMPLE_CLASSES.by_id(ROAD).color
    assert np.array_equal(got[edge], expected_over(images[0][edge], road, a))

    # difference: magenta exactly where prediction and mask disagree, the rest dimmed
    acts["outline"].setChecked(False)
    acts["show_mask"].setChecked(False)
    acts["difference"].setChecked(True)
    qtbot.waitUntil(lambda: canvas.derived_layers().difference is not None, timeout=5000)
    disagree = (pred != labels[0]) & (labels[0] != IGNORE)
    assert np.array_equal(canvas.derived_layers().difference.astype(bool), disagree)
    got = qimage_rgb(canvas.render_scene())
    alpha = canvas._difference.qimage.color(1) >> 24
    dim = canvas._difference.qimage.color(0) >> 24
    assert alpha == 172 and dim == 70  # at the default 50 % overlay opacity
    assert np.array_equal(got[disagree], expected_over(images[0][disagree], DIFF_COLOR, alpha))
    assert np.array_equal(got[~disagree], expected_over(images[0][~disagree], (0, 0, 0), dim))

    # uncertainty heat map over the photo
    acts["difference"].setChecked(False)
    acts["uncertainty"].setChecked(True)
    got = qimage_rgb(canvas.render_scene())
    heat = heat_colors()
    table = canvas._uncertainty.qimage.colorTable()
    for x in (0, 30, 119):
        v = int(entropy[5, x])
        assert (table[v] >> 16) & 255 == heat[v][0]
        want = expected_over(images[0][5:6, x], heat[v], table[v] >> 24)[0]
        assert tuple(got[5, x]) == tuple(want)
    assert tuple(got[5, 0]) == tuple(images[0][5, 0])  # zero uncertainty is clear
    # the status bar reads both layers under the cursor
    text = canvas.describe_pixel(15, 45)
    under = SAMPLE_CLASSES.by_id(int(labels[0][45, 15])).name
    assert "prediction: Car" in text and f"mask: {under}" in text


def test_ignore_pixels_are_transparent_by_default(qtbot, window, street_project):
    folder, images, labels = street_project
    lab = labels[0].copy()
    lab[:, :30] = IGNORE
    with Project.open(folder) as p:
        p.save_mask(p.images()[0], lab)
    open_and_wait(qtbot, window, folder, relpath="scene_1.png")
    got = qimage_rgb(window.canvas.render_scene())
    assert np.array_equal(got[:, :30], images[0][:, :30])
    assert not np.array_equal(got[:, 30:], images[0][:, 30:])
    assert window.canvas.style().is_visible(SIDEWALK, SAMPLE_CLASSES)


def test_zoomed_out_indexed_layer_draws_nearest_samples_and_follows_edits(qtbot):
    from PySide6.QtGui import QColor, QImage, QPainter, QTransform
    from PySide6.QtWidgets import QGraphicsScene

    from segstudio.gui.overlay import argb
    from segstudio.gui.widgets.layers import ArrayLayer

    rng = np.random.default_rng(3)
    mask = np.ascontiguousarray(np.repeat(np.repeat(rng.integers(0, 4, (20, 24)), 8, 0), 8, 1)
                                .astype(np.uint8))                    # 160 x 192
    colors = [0] * 256
    rgb = [(200, 0, 0), (0, 180, 0), (0, 0, 220), (250, 250, 0)]
    for i, c in enumerate(rgb):
        colors[i] = argb(*c, 255)
    scene = QGraphicsScene()
    layer = ArrayLayer(0)
    layer.set_color_table(colors)
    layer.set_array(mask)
    scene.addItem(layer)

    def draw() -> np.ndarray:
        out = QImage(48, 40, QImage.Format.Format_ARGB32_Premultiplied)
        out.fill(QColor(0, 0, 0))
        p = QPainter(out)
        p.setTransform(QTransform.fromScale(0.25, 0.25))
        scene.render(p, QRectF(0, 0, 192, 160), QRectF(0, 0, 192, 160))
        p.end()
        return qimage_rgb(out)

    from PySide6.QtCore import QRectF

    got = draw()
    centres = mask[2::4, 2::4]                     # the pixel under each screen pixel's centre
    want = np.array(rgb, np.uint8)[centres]
    assert np.array_equal(got, want)
    # an edit repaints through the small copy too (only its dirty rectangle is resampled)
    mask[40:48, 64:72] = 3
    layer.dirty(QRect(64, 40, 8, 8))
    got = draw()
    assert np.array_equal(got, np.array(rgb, np.uint8)[mask[2::4, 2::4]])
    assert np.array_equal(layer._reduced.array, mask[2::4, 2::4])
