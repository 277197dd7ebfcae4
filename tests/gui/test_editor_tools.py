"""The editor's tools driven through the canvas viewport: exact pixels, one undo step each."""

from __future__ import annotations

import math

import cv2
import numpy as np
from PySide6.QtCore import Qt

from segstudio.core import edits
from segstudio.core.footprint import stroke_footprint
from segstudio.core.grabcut import grabcut_region
from segstudio.core.project import Project
from segstudio.core.sample import BUILDING, CAR, IGNORE, ROAD, SIDEWALK, SKY, TREE

from .conftest import wait_document
from .editor_helpers import (
    CTRL,
    click,
    drag,
    image_pos,
    open_editor,
    segment_disc_brute,
    view_point,
)

SHAPE = (80, 120)


def _stack(window):
    return window.editor.current_session().stack


def test_brush_drag_is_the_swept_discs_and_undo_redo_are_exact(qtbot, window, street_project):
    folder, _images, labels = street_project
    canvas = open_editor(qtbot, window, folder, zoom=2.6, center=(60, 40))
    ed = window.editor
    qtbot.keyClick(canvas, Qt.Key.Key_B)
    assert ed.tool is ed.tools["brush"] and canvas.tool() is ed.tool
    ed.set_radius(4)
    window.class_panel.set_active_class(CAR)
    original = canvas.mask().copy()
    assert np.array_equal(original, labels[0])
    # a fast mouse: three events far apart (tens of pixels) must still give one swept band
    pts = [view_point(canvas, 12.3, 30.7), view_point(canvas, 61.2, 36.1),
           view_point(canvas, 95.6, 61.4)]
    got = drag(qtbot, canvas, pts)
    assert all(math.floor(x) != math.floor(got[0][0]) for x, _ in got[1:])
    swept = segment_disc_brute(got, 4, SHAPE)
    assert np.array_equal(swept, stroke_footprint(got, 4, SHAPE))
    want = original.copy()
    want[swept] = CAR
    assert np.array_equal(canvas.mask(), want)
    assert _stack(window).count() == 1
    assert ed.ui.undo.text() == "Undo Brush"

    # one click is exactly OpenCV's filled circle
    ed.set_radius(6)
    x, y = click(qtbot, canvas, view_point(canvas, 40.4, 12.8))
    disc = np.zeros(SHAPE, np.uint8)
    cv2.circle(disc, (math.floor(x), math.floor(y)), 6, 1, thickness=-1, lineType=cv2.LINE_8)
    after_click = want.copy()
    after_click[disc.astype(bool)] = CAR
    assert np.array_equal(canvas.mask(), after_click)

    # Ctrl+Z twice gives back the original bit for bit; Ctrl+Shift+Z and Ctrl+Y redo
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert np.array_equal(canvas.mask(), want)
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert np.array_equal(canvas.mask(), original)
    assert ed.ui.redo.text() == "Redo Brush"
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert np.array_equal(canvas.mask(), want)
    qtbot.keyClick(canvas, Qt.Key.Key_Y, CTRL)
    assert np.array_equal(canvas.mask(), after_click)
    # what is drawn follows the mask (the repaint of the undone rectangle)
    canvas.viewport().repaint()
    assert canvas.document().mask is canvas.mask()


def test_eraser_is_unlabelled_and_preserve_paints_only_unlabelled_or_background(
        qtbot, window, street_project):
    folder, _images, labels = street_project
    canvas = open_editor(qtbot, window, folder)
    ed = window.editor
    qtbot.keyClick(canvas, Qt.Key.Key_E)
    ed.set_radius(5)
    before = canvas.mask().copy()
    got = drag(qtbot, canvas, [view_point(canvas, 30.5, 45.5), view_point(canvas, 90.5, 45.5)])
    erased = stroke_footprint(got, 5, SHAPE)
    want = before.copy()
    want[erased] = IGNORE           # unlabelled, not background (SKY is id 0 here)
    assert np.array_equal(canvas.mask(), want)
    assert ed.ui.undo.text() == "Undo Eraser"

    # preserve other classes: only unlabelled pixels change (SKY is id 0 here, and
    # no class is marked background: id 0 is not background by its id)
    qtbot.keyClick(canvas, Qt.Key.Key_B)
    ed.ui.preserve_box.setChecked(True)
    assert ed.preserve and ed.ui.preserve.isChecked()
    window.class_panel.set_active_class(TREE)
    ed.set_radius(12)
    mixed = canvas.mask().copy()
    got = drag(qtbot, canvas, [view_point(canvas, 40.5, 20.5), view_point(canvas, 70.5, 50.5)])
    brushed = stroke_footprint(got, 12, SHAPE)
    touch = brushed & (mixed == IGNORE)
    assert touch.any() and (brushed & (mixed == SKY)).any()
    assert (brushed & ~touch & (mixed != TREE)).any()
    want = mixed.copy()
    want[touch] = TREE
    assert np.array_equal(canvas.mask(), want)


def test_flood_fill_fills_the_clicked_class_whatever_the_wand_tolerance(
        qtbot, window, street_project):
    folder, images, labels = street_project
    canvas = open_editor(qtbot, window, folder)
    ed = window.editor
    qtbot.keyClick(canvas, Qt.Key.Key_F)
    window.class_panel.set_active_class(SIDEWALK)
    before = canvas.mask().copy()
    x, y = click(qtbot, canvas, view_point(canvas, 45.5, 65.5))
    assert before[math.floor(y), math.floor(x)] == ROAD
    want = before.copy()
    assert edits.flood_fill(want, x, y, SIDEWALK) is not None
    assert np.array_equal(canvas.mask(), want)
    assert _stack(window).count() == 1 and ed.ui.undo.text() == "Undo Fill"
    # the tolerance is the wand's: it does not turn Fill into a colour flood
    ed.ui.tolerance.setValue(25)
    assert ed.tolerance == 25
    window.class_panel.set_active_class(BUILDING)
    x, y = click(qtbot, canvas, view_point(canvas, 10.5, 3.5))
    want2, by_colour = want.copy(), want.copy()
    assert edits.flood_fill(want2, x, y, BUILDING) is not None
    assert edits.flood_fill(by_colour, x, y, BUILDING, image=images[0], tolerance=25)
    assert (want2 != by_colour).sum() > 100       # the two differ here
    assert np.array_equal(canvas.mask(), want2)
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert np.array_equal(canvas.mask(), before)


def test_polygon_lasso_and_rectangle_fills(qtbot, window, street_project):
    folder, _images, _labels = street_project
    canvas = open_editor(qtbot, window, folder)
    ed = window.editor
    qtbot.keyClick(canvas, Qt.Key.Key_P)
    assert ed.tool is ed.tools["polygon"]
    window.class_panel.set_active_class(CAR)
    before = canvas.mask().copy()
    corners = [(20.2, 10.7), (70.9, 14.1), (85.3, 60.6), (40.5, 25.5)]
    got = [click(qtbot, canvas, view_point(canvas, *c)) for c in corners]
    click(qtbot, canvas, view_point(canvas, 5.5, 70.5))     # a wrong corner ...
    qtbot.keyClick(canvas, Qt.Key.Key_Backspace)            # ... taken back
    assert len(ed.tool.points) == 4
    assert np.array_equal(canvas.mask(), before)            # nothing filled yet
    last = view_point(canvas, 25.5, 55.5)
    qtbot.mouseDClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=last)
    got.append(image_pos(canvas, last))
    want = before.copy()
    assert edits.fill_polygon(want, got, CAR) is not None
    assert np.array_equal(canvas.mask(), want)
    assert _stack(window).count() == 1 and ed.ui.undo.text() == "Undo Polygon"
    assert ed.tool.points == []

    # Esc cancels a polygon in progress; Enter closes one
    for c in corners[:2]:
        click(qtbot, canvas, view_point(canvas, *c))
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    assert ed.tool.points == [] and np.array_equal(canvas.mask(), want)
    got = [click(qtbot, canvas, view_point(canvas, *c)) for c in ((90.5, 5.5), (115.5, 5.5),
                                                                    (100.5, 30.5))]
    ed.options.set_active_class(None)                      # no class chosen: Enter keeps
    qtbot.keyClick(canvas, Qt.Key.Key_Return)               # the corners for another try
    assert len(ed.tool.points) == 3 and np.array_equal(canvas.mask(), want)
    window.class_panel.set_active_class(TREE)
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    assert edits.fill_polygon(want, got, TREE) is not None
    assert np.array_equal(canvas.mask(), want)

    # lasso: the positions of one drag
    qtbot.keyClick(canvas, Qt.Key.Key_L)
    pts = [view_point(canvas, x, y) for x, y in ((50.5, 40.5), (80.5, 42.5), (78.5, 70.5),
                                                  (55.5, 75.5), (45.5, 60.5))]
    got = drag(qtbot, canvas, pts)
    assert edits.fill_lasso(want, got, TREE) is not None
    assert np.array_equal(canvas.mask(), want)
    assert ed.ui.undo.text() == "Undo Lasso"

    # rectangle: both corner pixels included
    qtbot.keyClick(canvas, Qt.Key.Key_R)
    window.class_panel.set_active_class(ROAD)
    got = drag(qtbot, canvas, [view_point(canvas, 3.5, 3.5), view_point(canvas, 30.5, 12.5),
                               view_point(canvas, 17.2, 21.9)])
    assert edits.fill_rect(want, got[0], got[-1], ROAD) is not None
    assert np.array_equal(canvas.mask(), want)
    assert _stack(window).count() == 4
    for _ in range(4):
        qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert np.array_equal(canvas.mask(), before)


def test_eyedropper_accept_prediction_and_replace_class(qtbot, window, street_project):
    folder, _images, labels = street_project
    pred = labels[0].copy()
    pred[30:60, 10:50] = CAR
    with Project.open(folder) as p:
        p.save_prediction(p.images()[0], pred, "test.pt")
    canvas = open_editor(qtbot, window, folder)
    ed = window.editor
    qtbot.keyClick(canvas, Qt.Key.Key_I)
    x, y = click(qtbot, canvas, view_point(canvas, 60.5, 72.5))
    assert labels[0][math.floor(y), math.floor(x)] == ROAD
    assert window.class_panel.active_class() == ROAD and ed.active_class == ROAD
    assert canvas.document().prediction is not None

    # accept the prediction under a brushed band
    qtbot.keyClick(canvas, Qt.Key.Key_Y)
    ed.set_radius(6)
    before = canvas.mask().copy()
    got = drag(qtbot, canvas, [view_point(canvas, 5.5, 45.5), view_point(canvas, 60.5, 45.5)])
    band = stroke_footprint(got, 6, SHAPE)
    want = before.copy()
    want[band] = pred[band]
    assert np.array_equal(canvas.mask(), want) and not np.array_equal(want, before)
    assert ed.ui.undo.text() == "Undo Accept prediction"

    # replace BUILDING by TREE where brushed, nothing else
    ed.ui.replace_from.setCurrentIndex(ed.ui.replace_from.findData(BUILDING))
    assert ed.replace_from == BUILDING
    window.class_panel.set_active_class(TREE)
    qtbot.keyClick(canvas, Qt.Key.Key_R, Qt.KeyboardModifier.ShiftModifier)
    assert ed.tool is ed.tools["replace"]
    ed.set_radius(10)
    got = drag(qtbot, canvas, [view_point(canvas, 10.5, 15.5), view_point(canvas, 100.5, 25.5)])
    band = stroke_footprint(got, 10, SHAPE) & (want == BUILDING)
    assert band.any()
    want[band] = TREE
    assert np.array_equal(canvas.mask(), want)


def test_grabcut_runs_on_a_worker_as_one_step_and_a_stale_result_is_dropped(
        qtbot, window, street_project):
    folder, images, labels = street_project
    canvas = open_editor(qtbot, window, folder)
    ed = window.editor
    qtbot.keyClick(canvas, Qt.Key.Key_G)
    window.class_panel.set_active_class(TREE)
    before = canvas.mask().copy()
    got = drag(qtbot, canvas, [view_point(canvas, 38.5, 14.5), view_point(canvas, 88.5, 34.5)])
    fg = drag(qtbot, canvas, [view_point(canvas, 60.5, 25.5), view_point(canvas, 66.5, 26.5)])
    bg = drag(qtbot, canvas, [view_point(canvas, 40.5, 16.5), view_point(canvas, 44.5, 16.5)],
              button=Qt.MouseButton.RightButton)
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    assert ed.tool.running is not None           # running off the GUI thread
    assert np.array_equal(canvas.mask(), before)
    qtbot.waitUntil(lambda: ed.current_session() is not None
                    and ed.current_session().stack.count() == 1, timeout=15000)
    y0, x0, sel = grabcut_region(images[0], got[0], got[-1], fg_strokes=[fg], bg_strokes=[bg],
                                 stroke_radius=3)
    want = before.copy()
    assert edits.paint_region(want, y0, x0, sel, TREE) is not None
    assert np.array_equal(canvas.mask(), want)
    assert ed.ui.undo.text() == "Undo GrabCut"
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert np.array_equal(canvas.mask(), before)

    # a run whose image is no longer on screen changes nothing
    drag(qtbot, canvas, [view_point(canvas, 38.5, 14.5), view_point(canvas, 88.5, 34.5)])
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    session = ed.current_session()
    count = session.stack.count()
    qtbot.keyClick(canvas, Qt.Key.Key_D)
    wait_document(qtbot, window, "scene_2.png")
    qtbot.waitUntil(lambda: window.controller.runner.pending("grabcut") == 0, timeout=15000)
    qtbot.wait(50)
    assert session.stack.count() == count and np.array_equal(session.mask, before)
    assert ed.current_session() is None and canvas.mask() is None


def test_tool_keys_brush_size_keys_and_outline(qtbot, window, street_project):
    folder, _images, _labels = street_project
    canvas = open_editor(qtbot, window, folder)
    ed = window.editor
    for key, name in ((Qt.Key.Key_E, "eraser"), (Qt.Key.Key_F, "fill"), (Qt.Key.Key_L, "lasso"),
                      (Qt.Key.Key_R, "rectangle"), (Qt.Key.Key_I, "eyedropper"),
                      (Qt.Key.Key_Y, "accept"), (Qt.Key.Key_G, "grabcut"),
                      (Qt.Key.Key_P, "polygon"), (Qt.Key.Key_B, "brush")):
        qtbot.keyClick(canvas, key)
        assert ed.tool is ed.tools[name], name
        assert ed.ui.tool_actions[name].isChecked()
    ed.set_radius(10)
    qtbot.keyClick(canvas, Qt.Key.Key_BracketRight)
    assert ed.radius == 12 and ed.ui.radius.value() == 12
    qtbot.keyClick(canvas, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(canvas, Qt.Key.Key_BracketLeft)
    assert ed.radius == 8
    # the outline is centred on the pixel under the cursor, radius + 1/2
    qtbot.mouseMove(canvas.viewport(), view_point(canvas, 33.7, 21.2))
    outline = ed.tool.outline
    assert outline.isVisible() and outline.scene() is canvas.scene()
    assert (outline.pos().x(), outline.pos().y()) == (33.5, 21.5)
    assert outline.boundingRect().width() > 2 * 8.5
    qtbot.keyClick(canvas, Qt.Key.Key_V)
    assert ed.tool is None and canvas.tool() is None and outline.scene() is None
    # the prediction layer moved to Shift+P (P is the polygon tool)
    assert window.actions_.layers["show_prediction"].shortcut().toString() == "Shift+P"
