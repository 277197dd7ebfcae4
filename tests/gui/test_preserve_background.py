"""Preserve others keeps every class the user did not mark background (issue 13, item 1).

With the street table (0 = Sky, no class named "background"), brushing with Preserve
others on must keep Sky; the class panel's BG box marks a class background, the mark
is kept in the project and in an exported class table.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
from PySide6.QtCore import Qt

from segstudio.core.classes import ClassTable
from segstudio.core.footprint import stroke_footprint
from segstudio.core.project import Project
from segstudio.core.sample import BUILDING, IGNORE, SKY, TREE
from segstudio.gui.widgets.class_panel import COL_BG

from .conftest import open_and_wait
from .editor_helpers import drag, open_editor, view_point

SHAPE = (80, 120)


def _bg_box(panel, class_id):
    return panel.list.item(panel.row_of(class_id), COL_BG)


def _brush_band(qtbot, window, canvas, a, b, radius=10):
    before = canvas.mask().copy()
    got = drag(qtbot, canvas, [view_point(canvas, *a), view_point(canvas, *b)])
    return before, stroke_footprint(got, radius, SHAPE)


def test_preserve_keeps_class_zero_until_it_is_marked_background(qtbot, window, street_project,
                                                                 tmp_path):
    folder, _images, labels = street_project
    canvas = open_editor(qtbot, window, folder, zoom=3.0, center=(60, 25))
    ed, panel = window.editor, window.class_panel
    # a hole of unlabelled pixels in the sky, so that the band crosses sky and unlabelled
    mask = canvas.mask()
    assert (labels[0][:30] == SKY).sum() > 200
    qtbot.keyClick(canvas, Qt.Key.Key_E)
    ed.set_radius(3)
    drag(qtbot, canvas, [view_point(canvas, 50.5, 8.5), view_point(canvas, 70.5, 8.5)])
    assert (mask == IGNORE).any()

    assert not any(c.background for c in panel.table().classes)
    assert _bg_box(panel, SKY).checkState() == Qt.CheckState.Unchecked
    qtbot.keyClick(canvas, Qt.Key.Key_B)
    ed.ui.preserve_box.setChecked(True)
    window.class_panel.set_active_class(BUILDING)
    ed.set_radius(10)
    before, band = _brush_band(qtbot, window, canvas, (20.5, 10.5), (100.5, 12.5))
    assert (band & (before == SKY)).sum() > 100 and (band & (before == IGNORE)).any()
    want = before.copy()
    want[band & (before == IGNORE)] = BUILDING   # Sky (id 0) is kept
    assert np.array_equal(canvas.mask(), want)

    # the user ticks Sky's BG box: now Sky is painted over, Tree still kept
    _bg_box(panel, SKY).setCheckState(Qt.CheckState.Checked)
    assert panel.table().by_id(SKY).background
    assert window.controller.project.settings.get("classes.background") == [SKY]
    assert window.canvas.class_table().background_ids == [SKY]
    window.class_panel.set_active_class(TREE)
    before, band = _brush_band(qtbot, window, canvas, (20.5, 30.5), (100.5, 34.5))
    assert (band & (before == SKY)).any() and (band & (before == BUILDING)).any()
    want = before.copy()
    want[band & ((before == IGNORE) | (before == SKY))] = TREE
    assert np.array_equal(canvas.mask(), want)

    # the mark is kept with the project and in an exported class table
    out = tmp_path / "classes.json"
    assert window.controller.export_class_table(out)
    entries = {e["id"]: e for e in json.loads(out.read_text())["classes"]}
    assert entries[SKY]["background"] is True and "background" not in entries[BUILDING]
    assert ClassTable.load_json(out).background_ids == [SKY]
    window.close_project()
    open_and_wait(qtbot, window, folder)
    assert window.class_panel.table().background_ids == [SKY]
    assert _bg_box(window.class_panel, SKY).checkState() == Qt.CheckState.Checked


def test_a_new_project_marks_its_background_class_and_the_mark_can_be_removed(
        qtbot, window, tmp_path):
    folder = tmp_path / "plain"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.full((20, 30, 3), 90, np.uint8))
    open_and_wait(qtbot, window, folder)
    panel = window.class_panel
    table = panel.table()
    assert table.by_name("background").background and table.background_ids == [0]
    assert _bg_box(panel, 0).checkState() == Qt.CheckState.Checked
    # the unlabelled class has no BG box to tick
    ign = _bg_box(panel, table.ignore_index)
    assert not ign.flags() & Qt.ItemFlag.ItemIsUserCheckable
    _bg_box(panel, 0).setCheckState(Qt.CheckState.Unchecked)
    assert window.controller.project.settings.get("classes.background") == []
    window.close_project()
    with Project.open(folder, scan=False) as project:
        from segstudio.gui.project_controller import project_classes

        assert project_classes(project).background_ids == []
