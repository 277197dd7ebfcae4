"""Tool habits an annotator brings from labelme / CVAT, driven through a real window:
the polygon closes on its first corner, Ctrl+Return never marks an image reviewed
past an open polygon, Fill is only ever a class flood, each brush-like tool says
what it does, and Enter in the tolerance box fills the wand's preview."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from segstudio.core import edits
from segstudio.core.sample import BUILDING, CAR, IGNORE, TREE
from segstudio.core.smart.wand import wand_region

from .editor_helpers import CTRL, click, open_editor, view_point
from .test_smart_tools import SHAPE, shapes_project  # noqa: F401 - a fixture

LEFT = Qt.MouseButton.LeftButton
SHIFT = Qt.KeyboardModifier.ShiftModifier


def _count(window) -> int:
    session = window.editor.current_session()
    return 0 if session is None else session.stack.count()


def test_a_click_on_the_first_corner_closes_the_polygon(qtbot, window, street_project):
    folder, _images, _labels = street_project
    canvas = open_editor(qtbot, window, folder)            # zoom 3: 1 image px = 3 screen px
    ed = window.editor
    qtbot.keyClick(canvas, Qt.Key.Key_P)
    tool = ed.tool
    window.class_panel.set_active_class(CAR)
    before = canvas.mask().copy()
    corners = [(20.2, 10.7), (70.9, 14.1), (85.3, 60.6), (40.5, 45.5)]
    got = [click(qtbot, canvas, view_point(canvas, *c)) for c in corners]
    # 4 image px (12 screen px) from the first corner: a corner of its own
    click(qtbot, canvas, view_point(canvas, 24.2, 10.7))
    assert len(tool.points) == 5 and np.array_equal(canvas.mask(), before)
    qtbot.keyClick(canvas, Qt.Key.Key_Backspace)
    # about 2 screen px from it: the polygon closes and fills, the click adds no corner
    click(qtbot, canvas, view_point(canvas, 20.8, 10.2))
    want = before.copy()
    assert edits.fill_polygon(want, got, CAR) is not None
    assert np.array_equal(canvas.mask(), want)
    assert tool.points == [] and _count(window) == 1 and ed.ui.undo.text() == "Undo Polygon"

    # a double-click on the first corner (a mouse sends press, release, press, double
    # click, release) closes it once and starts no new polygon
    window.class_panel.set_active_class(TREE)
    tri = [(90.5, 5.5), (115.5, 5.5), (100.5, 30.5)]
    got = [click(qtbot, canvas, view_point(canvas, *c)) for c in tri]
    assert canvas.hint().startswith("Polygon: click the first corner, Enter or double")
    at, vp = view_point(canvas, *tri[0]), canvas.viewport()
    click(qtbot, canvas, at)
    qtbot.mousePress(vp, LEFT, pos=at)
    qtbot.mouseDClick(vp, LEFT, pos=at)
    qtbot.mouseRelease(vp, LEFT, pos=at)
    assert edits.fill_polygon(want, got, TREE) is not None
    assert np.array_equal(canvas.mask(), want)
    assert tool.points == [] and _count(window) == 2
    assert "needs at least 3 corners" not in window.statusBar().currentMessage()


def test_ctrl_return_refuses_while_a_polygon_is_open_and_marks_after_it_is_filled(
        qtbot, window, street_project):
    folder, _images, labels = street_project
    canvas = open_editor(qtbot, window, folder)              # scene_1: a corrected mask
    ed = window.editor
    project = window.controller.project
    rec = canvas.document().rec
    assert rec.status == "corrected"
    qtbot.keyClick(canvas, Qt.Key.Key_P)
    window.class_panel.set_active_class(CAR)
    got = [click(qtbot, canvas, view_point(canvas, *c))
           for c in ((20.5, 10.5), (60.5, 12.5), (50.5, 60.5))]
    save = window.controller.workers.lane("save")

    qtbot.keyClick(canvas, Qt.Key.Key_Return, CTRL)
    qtbot.waitUntil(lambda: save.pending() == 0, timeout=10000)
    assert project.image(rec.id).status == "corrected"      # not marked ...
    assert len(ed.tool.points) == 3                         # ... and the polygon is kept
    assert window.statusBar().currentMessage() == (
        "not marked reviewed: a polygon is still open (Enter fills it, Esc drops it)")

    qtbot.keyClick(canvas, Qt.Key.Key_Return)                # fill it
    want = labels[0].copy()
    assert edits.fill_polygon(want, got, CAR) is not None
    assert np.array_equal(canvas.mask(), want)
    qtbot.keyClick(canvas, Qt.Key.Key_Return, CTRL)          # now it is marked, with it
    qtbot.waitUntil(lambda: project.image(rec.id).status == "reviewed", timeout=10000)
    qtbot.waitUntil(lambda: save.pending() == 0, timeout=10000)
    assert np.array_equal(project.load_mask(project.image(rec.id)), want)


def test_fill_accept_and_replace_say_what_they_do(qtbot, window, street_project):
    folder, _images, _labels = street_project
    canvas = open_editor(qtbot, window, folder)
    ed = window.editor
    window.class_panel.set_active_class(CAR)
    status = ed.ui.hint_label

    qtbot.keyClick(canvas, Qt.Key.Key_F)
    assert canvas.hint() == status.text() == (
        "Fill: click a region; its connected pixels of the clicked class become Car "
        "(a region of similar colour: the Wand, Shift+F)")
    assert "Wand" in ed.ui.tool_actions["fill"].toolTip()
    window.class_panel.set_active_class(TREE)
    assert "become Tree" in canvas.hint()                   # it follows the class

    qtbot.keyClick(canvas, Qt.Key.Key_Y)
    assert canvas.hint() == status.text() == (
        "Accept: this image has no prediction to accept; predict it first")

    ed.ui.replace_from.setCurrentIndex(ed.ui.replace_from.findData(BUILDING))
    qtbot.keyClick(canvas, Qt.Key.Key_R, SHIFT)
    assert canvas.hint() == status.text() == (
        "Replace: brush over Building to turn it into Tree; other classes stay "
        "(the class to replace is in the tool bar)")
    ed.ui.replace_from.setCurrentIndex(ed.ui.replace_from.findData(CAR))
    assert canvas.hint().startswith("Replace: brush over Car to turn it into Tree")


def test_accept_says_what_it_does_where_there_is_a_prediction(qtbot, window, street_project):
    folder, _images, labels = street_project
    from segstudio.core.project import Project

    with Project.open(folder) as p:
        p.save_prediction(p.images()[0], labels[0], "test.pt")
    canvas = open_editor(qtbot, window, folder)
    window.editor.set_radius(6)
    qtbot.keyClick(canvas, Qt.Key.Key_Y)
    assert canvas.hint() == (
        "Accept: brush over the prediction to copy its classes into your mask (brush 13 px, "
        "[ and ] change it; preserve others applies)")
    qtbot.keyClick(canvas, Qt.Key.Key_BracketRight)
    assert "(brush 15 px" in canvas.hint()


def test_enter_in_the_tolerance_box_fills_the_wand_preview(qtbot, window, shapes_project):  # noqa: F811
    folder, images = shapes_project
    canvas = open_editor(qtbot, window, folder, relpath="shapes_1.png", center=(60, 40))
    ed = window.editor
    ed.set_tolerance(10)
    qtbot.keyClick(canvas, Qt.Key.Key_F, SHIFT)
    tool = ed.tool
    assert tool is ed.tools["wand"]
    window.class_panel.set_active_class(TREE)
    x, y = click(qtbot, canvas, view_point(canvas, 20.5, 30.5))
    qtbot.waitUntil(lambda: tool.preview is not None, timeout=10000)

    box = ed.ui.tolerance
    box.setFocus()
    box.selectAll()
    qtbot.keyClicks(box, "200")
    assert ed.tolerance == 200 and canvas.mask() is None    # previewed, not painted
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: _count(window) == 1, timeout=10000)
    y0, x0, sel = wand_region(images[0], x, y, 200)
    want = np.full(SHAPE, IGNORE, np.uint8)
    want[y0:y0 + sel.shape[0], x0:x0 + sel.shape[1]][sel] = TREE
    assert np.array_equal(canvas.mask(), want) and (want == TREE).all()
    assert tool.seed is None and canvas.hasFocus()          # the next keys are the canvas's
