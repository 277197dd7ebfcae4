"""The status bar and the browser say what is true now (issue 13, item 7): the x/y/class
readout follows a keyboard zoom and an edit under a resting cursor, the image status
follows a reset, and a browser row drops an IoU whose human mask went to the trash."""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtWidgets import QApplication

from segstudio.core.project import Project
from segstudio.core.sample import CAR

from .conftest import wait_document
from .editor_helpers import CTRL, image_pos, open_editor, view_point


def test_readout_follows_zoom_and_edits_and_status_follows_reset(qtbot, window, street_project):
    folder, _images, labels = street_project
    with Project.open(folder, scan=False) as project:
        project.set_iou(project.find("scene_1.png"), 0.12)
    canvas = open_editor(qtbot, window, folder, zoom=2.0, center=(60, 40))
    label = window.pixel_label
    vp = view_point(canvas, 30.5, 50.5)
    qtbot.mouseMove(canvas.viewport(), vp)
    assert label.text().startswith("x 30  y 50")

    # keyboard zoom: the cursor rests, the pixel under it changes
    qtbot.keyClick(canvas, Qt.Key.Key_Plus)
    x, y = image_pos(canvas, vp)
    assert (math.floor(x), math.floor(y)) != (30, 50)
    assert label.text().startswith(f"x {math.floor(x)}  y {math.floor(y)}")
    under = int(labels[0][math.floor(y), math.floor(x)])
    table = window.canvas.class_table()
    assert f"mask: {table.by_id(under).name}" in label.text()

    # a click paints under the resting cursor; Ctrl+Z takes it back: the readout follows
    window.class_panel.set_active_class(CAR)
    qtbot.keyClick(canvas, Qt.Key.Key_B)
    window.editor.set_radius(3)
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(vp))
    assert "mask: Car" in label.text()
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert f"mask: {table.by_id(under).name}" in label.text()

    # the cursor leaves: the image's name and status; a reset shows its new status
    QApplication.sendEvent(canvas, QEvent(QEvent.Type.Leave))
    assert label.text().endswith("corrected")
    window.editor.confirm = lambda title, text: True
    assert window.editor.reset_to_prediction()
    project = window.controller.project
    qtbot.waitUntil(lambda: project.find("scene_1.png").status == "unlabelled", timeout=10000)
    qtbot.waitUntil(lambda: label.text().endswith("unlabelled"), timeout=5000)
    # the IoU compared the prediction with the mask now in the trash: it is gone
    assert project.find("scene_1.png").iou is None
    model = window.browser.model
    rec = model.record(model.row_of(project.find("scene_1.png").id))
    assert rec.iou is None and rec.status == "unlabelled"
    wait_document(qtbot, window, "scene_1.png")
