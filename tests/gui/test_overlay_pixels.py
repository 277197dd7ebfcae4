"""Masks over images, pixel for pixel: the canvas must draw exactly Qt's SourceOver
of the class colour at the alpha the style asks for."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt

from segstudio.core.sample import CAR, ROAD, SAMPLE_CLASSES, SKY
from segstudio.gui.overlay import alpha_of

from .conftest import expected_over, open_and_wait, qimage_rgb, wait_document


def expected_frame(image, labels, style, table=SAMPLE_CLASSES):
    out = image.copy()
    for c in table.classes:
        a = style.class_alpha(c.id, table)
        sel = labels == c.id
        if a and sel.any():
            out[sel] = expected_over(image[sel], c.color, a)
    return out


def test_keys_visibility_opacity_exact_pixels(qtbot, window, street_project):
    folder, images, labels = street_project
    open_and_wait(qtbot, window, folder, relpath="scene_1.png")
    canvas, panel = window.canvas, window.class_panel

    # navigate with the keyboard, the focus staying on the canvas
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_D)
    wait_document(qtbot, window, "scene_2.png")
    qtbot.keyClick(canvas, Qt.Key.Key_PageDown)
    wait_document(qtbot, window, "scene_3.png")
    qtbot.keyClick(canvas, Qt.Key.Key_A)
    wait_document(qtbot, window, "scene_2.png")
    qtbot.keyClick(canvas, Qt.Key.Key_PageUp)
    doc = wait_document(qtbot, window, "scene_1.png")
    assert canvas.hasFocus()
    assert np.array_equal(doc.mask, labels[0])

    # one class hidden, another at 40 %, global opacity 60 %
    row = panel.row_of(SKY)
    panel.list.item(row, 0).setCheckState(Qt.CheckState.Unchecked)
    panel._sliders[ROAD].setValue(40)
    panel.set_global_opacity(0.6)
    style = canvas.style()
    assert style.is_visible(SKY, SAMPLE_CLASSES) is False
    assert style.class_opacity(ROAD) == 0.4 and style.global_opacity == 0.6
    assert style.class_alpha(ROAD, SAMPLE_CLASSES) == alpha_of(0.24) == 61
    assert style.class_alpha(CAR, SAMPLE_CLASSES) == 153

    got = qimage_rgb(canvas.render_scene())
    want = expected_frame(images[0], labels[0], style)
    assert np.array_equal(got, want)
    sky = labels[0] == SKY
    assert sky.any() and (labels[0] == ROAD).any() and (labels[0] == CAR).any()
    assert np.array_equal(got[sky], images[0][sky])  # hidden class: the photo itself

    # the same pixels on screen, at 100 %
    canvas.actual_size()
    canvas.centerOn(0, 0)
    window.repaint()
    shot = qimage_rgb(canvas.viewport().grab().toImage())
    origin = canvas.mapFromScene(0, 0)
    h, w = labels[0].shape
    on_screen = shot[origin.y():origin.y() + h, origin.x():origin.x() + w]
    vis_h, vis_w = on_screen.shape[:2]
    assert vis_h > 20 and vis_w > 20
    assert np.array_equal(on_screen, want[:vis_h, :vis_w])

    # the style is saved to the project and comes back
    window.controller._save_style()
    assert window.controller.project.settings.get("gui.overlay")["opacity"][str(ROAD)] == 0.4


def test_zoom_is_pixel_exact_above_100_percent(qtbot, window, street_project):
    folder, images, labels = street_project
    open_and_wait(qtbot, window, folder, relpath="scene_1.png")
    canvas = window.canvas
    window.actions_.layers["show_mask"].setChecked(False)  # the photo alone
    canvas.set_zoom(4.0)
    canvas.centerOn(10, 10)
    window.repaint()
    shot = qimage_rgb(canvas.viewport().grab().toImage())
    # every image pixel is a 4x4 block of exactly its colour (no smoothing)
    p = canvas.mapFromScene(5, 6)
    block = shot[p.y():p.y() + 4, p.x():p.x() + 4]
    assert np.array_equal(block, np.broadcast_to(images[0][6, 5], (4, 4, 3)))
    # zooming keeps the pixel under the cursor in place (once the image outgrows the window)
    canvas.set_zoom(12.0)
    canvas.centerOn(60, 40)
    anchor = canvas.mapFromScene(52.5, 30.5)
    before = canvas.viewportTransform().inverted()[0].map(anchor.toPointF())
    canvas.zoom_by(1.25, anchor.toPointF())
    after = canvas.viewportTransform().inverted()[0].map(anchor.toPointF())
    assert abs(before.x() - after.x()) < 0.5 and abs(before.y() - after.y()) < 0.5
    canvas.fit()
    vp = canvas.viewport().rect()
    assert abs(canvas.zoom() - min(vp.width() / 120, vp.height() / 80)) < 1e-9


def test_pan_with_middle_button_and_space_drag(qtbot, window, street_project):
    folder, _images, _labels = street_project
    open_and_wait(qtbot, window, folder)
    canvas = window.canvas
    canvas.set_zoom(16.0)
    vp = canvas.viewport()
    start = canvas.viewportTransform().inverted()[0].map(QPoint(200, 200).toPointF())
    qtbot.mousePress(vp, Qt.MouseButton.MiddleButton, pos=QPoint(200, 200))
    qtbot.mouseMove(vp, QPoint(120, 150))
    qtbot.mouseRelease(vp, Qt.MouseButton.MiddleButton, pos=QPoint(120, 150))
    moved = canvas.viewportTransform().inverted()[0].map(QPoint(200, 200).toPointF())
    assert abs((moved.x() - start.x()) * 16 - 80) <= 1
    assert abs((moved.y() - start.y()) * 16 - 50) <= 1
    # space + left drag pans too
    canvas.setFocus()
    qtbot.keyPress(canvas, Qt.Key.Key_Space)
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    qtbot.mouseMove(vp, QPoint(140, 100))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=QPoint(140, 100))
    qtbot.keyRelease(canvas, Qt.Key.Key_Space)
    again = canvas.viewportTransform().inverted()[0].map(QPoint(200, 200).toPointF())
    assert abs((moved.x() - again.x()) * 16 - 40) <= 1


def test_status_bar_tells_pixel_value_and_class(qtbot, window, street_project):
    folder, images, labels = street_project
    open_and_wait(qtbot, window, folder, relpath="scene_1.png")
    canvas = window.canvas
    canvas.set_zoom(4.0)
    canvas.centerOn(30, 60)
    x, y = 30, 60
    pos = canvas.mapFromScene(x + 0.5, y + 0.5)
    qtbot.mouseMove(canvas.viewport(), pos)
    text = window.pixel_label.text()
    r, g, b = images[0][y, x]
    name = SAMPLE_CLASSES.by_id(int(labels[0][y, x])).name
    assert f"x {x}  y {y}" in text and f"RGB {r} {g} {b}" in text and f"mask: {name}" in text
