"""The smart tools (scissors, watershed, superpixels, wand) driven through the canvas of a
real window: exact pixels on images with known shapes, one undo step each, results of
an image no longer shown dropped."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt

from segstudio.core.project import Project
from segstudio.core.sample import CAR, IGNORE, SAMPLE_CLASSES, TREE
from segstudio.core.smart.superpixels import compute_superpixels
from segstudio.core.smart.wand import wand_region

from .conftest import wait_document
from .editor_helpers import CTRL, click, drag, open_editor, view_point

SHAPE = (80, 120)
RECT = (10, 15, 46, 51)       # x0, y0, x1, y1 (end-exclusive) of the bright rectangle
DISC = ((85, 40), 18)         # centre, radius of the green disc
SHIFT = Qt.KeyboardModifier.ShiftModifier
RIGHT = Qt.MouseButton.RightButton


def shapes_image(shift: int = 0) -> np.ndarray:
    img = np.full(SHAPE + (3,), 30, np.uint8)
    x0, y0, x1, y1 = RECT
    img[y0 + shift:y1 + shift, x0:x1] = (220, 200, 180)
    cv2.circle(img, (DISC[0][0], DISC[0][1] + shift), DISC[1], (90, 200, 90), -1)
    return img


def rect_pixels() -> np.ndarray:
    x0, y0, x1, y1 = RECT
    out = np.zeros(SHAPE, bool)
    out[y0:y1, x0:x1] = True
    return out


def disc_pixels() -> np.ndarray:
    out = np.zeros(SHAPE, np.uint8)
    cv2.circle(out, DISC[0], DISC[1], 1, -1)
    return out.view(bool)


@pytest.fixture()
def shapes_project(tmp_path):
    """Two 80 x 120 images of a bright rectangle and a green disc on a dark ground (the
    second shifted down 6 px), no masks yet."""
    folder = tmp_path / "shapes"
    folder.mkdir()
    images = [shapes_image(0), shapes_image(6)]
    for i, img in enumerate(images):
        cv2.imwrite(str(folder / f"shapes_{i + 1}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    with Project.open(folder) as project:
        project.set_classes(SAMPLE_CLASSES)
    return folder, images


def start(qtbot, window, folder, key, modifier=Qt.KeyboardModifier.NoModifier, name=""):
    canvas = open_editor(qtbot, window, folder, relpath="shapes_1.png", center=(60, 40))
    qtbot.keyClick(canvas, key, modifier)
    assert window.editor.tool is window.editor.tools[name]
    return canvas, window.editor, window.editor.tool


def steps(window) -> int:
    session = window.editor.current_session()
    return 0 if session is None else session.stack.count()


def blank() -> np.ndarray:
    return np.full(SHAPE, IGNORE, np.uint8)


def back_at_start(window, canvas) -> bool:
    """Every edit undone on an image that had no mask: none is shown (not an all-unlabelled
    one; the session keeps that start for a redo) and the image is still unlabelled."""
    session = window.editor.current_session()
    return (canvas.mask() is None and session is not None
            and np.array_equal(session.mask, blank())
            and window.controller.document.rec.status == "unlabelled")


def switch_image_now(qtbot, window, canvas) -> None:
    """Ask for the next image before the worker's result is delivered."""
    qtbot.keyClick(canvas, Qt.Key.Key_D)
    wait_document(qtbot, window, "shapes_2.png")


def test_scissors_anchors_on_the_corners_fill_exactly_the_rectangle(
        qtbot, window, shapes_project):
    folder, images = shapes_project
    canvas, ed, tool = start(qtbot, window, folder, Qt.Key.Key_S, name="scissors")
    window.class_panel.set_active_class(TREE)
    x0, y0, x1, y1 = RECT
    for x, y in ((x0, y0), (x1 - 1, y0), (x1 - 1, y1 - 1), (x0, y1 - 1)):
        click(qtbot, canvas, view_point(canvas, x + 0.5, y + 0.5))
        qtbot.waitUntil(lambda: tool.map is not None, timeout=10000)  # snapped from here on
    assert len(tool.anchors) == 4 and len(tool.segments) == 3
    # the live outline snaps: moving over the first anchor follows the left edge
    qtbot.mouseMove(canvas.viewport(), view_point(canvas, x0 + 0.5, y0 + 0.5))
    assert tool.live is not None and {int(x) for x, _ in tool.live} <= {x0 - 1, x0}
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    assert tool.running is not None
    qtbot.waitUntil(lambda: steps(window) == 1, timeout=10000)
    assert np.array_equal(canvas.mask(), np.where(rect_pixels(), TREE, IGNORE))
    assert ed.ui.undo.text() == "Undo Scissors" and not tool.anchors
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert back_at_start(window, canvas)

    # round the disc, closed by clicking the first anchor again: exactly the disc
    (cx, cy), r = DISC
    ring = [(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)]
    for x, y in ring:
        click(qtbot, canvas, view_point(canvas, x + 0.5, y + 0.5))
        qtbot.waitUntil(lambda: tool.map is not None, timeout=10000)
    click(qtbot, canvas, view_point(canvas, ring[0][0] + 0.7, ring[0][1] + 0.4))
    qtbot.waitUntil(lambda: tool.running is None and not tool.anchors, timeout=10000)
    assert np.array_equal(canvas.mask(), np.where(disc_pixels(), TREE, IGNORE))
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert back_at_start(window, canvas)

    # Backspace takes the last anchor back, Esc clears
    for x, y in ring[:3]:
        click(qtbot, canvas, view_point(canvas, x + 0.5, y + 0.5))
    qtbot.keyClick(canvas, Qt.Key.Key_Backspace)
    assert tool.anchors == ring[:2] and len(tool.segments) == 1
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    assert tool.anchors == [] and tool.segments == []


def test_scissors_double_click_closes_at_once(qtbot, window, shapes_project):
    folder, _images = shapes_project
    canvas, ed, tool = start(qtbot, window, folder, Qt.Key.Key_S, name="scissors")
    window.class_panel.set_active_class(CAR)
    x0, y0, x1, y1 = RECT
    for x, y in ((x0, y0), (x1 - 1, y0), (x1 - 1, y1 - 1)):   # no waiting for the maps
        click(qtbot, canvas, view_point(canvas, x + 0.5, y + 0.5))
    qtbot.mouseDClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=view_point(
        canvas, x0 + 0.5, y1 - 0.5))
    qtbot.waitUntil(lambda: steps(window) == 1, timeout=10000)
    # straight or snapped, every segment runs along the rectangle's own edge pixels
    assert np.array_equal(canvas.mask(), np.where(rect_pixels(), CAR, IGNORE))
    assert not tool.anchors and tool.running is None


def test_scissors_result_after_switching_image_is_dropped(qtbot, window, shapes_project):
    folder, _images = shapes_project
    canvas, ed, tool = start(qtbot, window, folder, Qt.Key.Key_S, name="scissors")
    window.class_panel.set_active_class(TREE)
    x0, y0, x1, y1 = RECT
    for x, y in ((x0, y0), (x1 - 1, y0), (x1 - 1, y1 - 1)):
        click(qtbot, canvas, view_point(canvas, x + 0.5, y + 0.5))
    qtbot.waitUntil(lambda: tool.map is not None, timeout=10000)
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    assert tool.running is not None
    switch_image_now(qtbot, window, canvas)
    qtbot.waitUntil(lambda: window.controller.runner.pending() == 0, timeout=10000)
    qtbot.wait(50)
    assert ed.sessions.get(ed.document().rec.id) is None and canvas.mask() is None
    assert all(s.stack.count() == 0 for s in ed.sessions)


def test_watershed_strokes_fill_each_class_exactly_in_one_step(qtbot, window, shapes_project):
    folder, _images = shapes_project
    canvas, ed, tool = start(qtbot, window, folder, Qt.Key.Key_W, name="watershed")
    window.class_panel.set_active_class(TREE)
    drag(qtbot, canvas, [view_point(canvas, 20.5, 30.5), view_point(canvas, 34.5, 33.5)])
    window.class_panel.set_active_class(CAR)
    drag(qtbot, canvas, [view_point(canvas, 80.5, 40.5), view_point(canvas, 90.5, 42.5)])
    drag(qtbot, canvas, [view_point(canvas, 3.5, 5.5), view_point(canvas, 115.5, 5.5),
                         view_point(canvas, 115.5, 75.5)], button=RIGHT)
    drag(qtbot, canvas, [view_point(canvas, 3.5, 75.5), view_point(canvas, 60.5, 75.5)],
         modifier=SHIFT)   # Shift + left drag: background too
    assert [cid for cid, _ in tool.strokes] == [TREE, CAR, None, None]
    qtbot.keyClick(canvas, Qt.Key.Key_Backspace)
    assert [cid for cid, _ in tool.strokes] == [TREE, CAR, None]
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    assert tool.running is not None and canvas.mask() is None   # off the GUI thread
    qtbot.waitUntil(lambda: steps(window) == 1, timeout=10000)
    want = blank()
    want[rect_pixels()] = TREE
    want[disc_pixels()] = CAR
    assert np.array_equal(canvas.mask(), want)
    assert ed.ui.undo.text() == "Undo Watershed" and tool.strokes == []
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert back_at_start(window, canvas)

    # a run whose image is no longer shown changes nothing
    drag(qtbot, canvas, [view_point(canvas, 20.5, 30.5), view_point(canvas, 34.5, 33.5)])
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    session = ed.current_session()
    switch_image_now(qtbot, window, canvas)
    qtbot.waitUntil(lambda: window.controller.runner.pending("watershed") == 0, timeout=10000)
    qtbot.wait(50)
    assert session.stack.count() == 1 and np.array_equal(session.mask, blank())
    assert ed.current_session() is None and tool.strokes == []


def test_superpixel_clicks_and_drags_paint_whole_superpixels(qtbot, window, shapes_project):
    folder, images = shapes_project
    canvas = open_editor(qtbot, window, folder, relpath="shapes_1.png", center=(60, 40))
    ed = window.editor
    ed.set_radius(4)       # superpixels of about 9 px
    qtbot.keyClick(canvas, Qt.Key.Key_K)
    tool = ed.tool
    assert tool is ed.tools["superpixels"] and tool.size() == 9
    qtbot.waitUntil(lambda: tool.map is not None, timeout=20000)
    assert tool.edges.isVisible() and tool.edges.scene() is canvas.scene()
    full = compute_superpixels(images[0], 9).full_labels()     # SLIC is deterministic
    assert np.array_equal(tool.map.full_labels(), full)
    window.class_panel.set_active_class(TREE)

    def under(x, y):
        return full == full[int(y), int(x)]

    click(qtbot, canvas, view_point(canvas, 20.5, 30.5))
    first = np.where(under(20.5, 30.5), TREE, IGNORE)
    assert np.array_equal(canvas.mask(), first) and steps(window) == 1
    pts = [(60.5, 10.5), (70.5, 12.5), (84.5, 40.5)]
    drag(qtbot, canvas, [view_point(canvas, x, y) for x, y in pts])
    dragged = first.copy()
    for x, y in pts:
        dragged[under(x, y)] = TREE
    assert np.array_equal(canvas.mask(), dragged) and steps(window) == 2
    # right click: the superpixel's Tree pixels go back to unlabelled
    click(qtbot, canvas, view_point(canvas, 84.5, 40.5), button=RIGHT)
    removed = np.where(under(84.5, 40.5), IGNORE, dragged)
    assert np.array_equal(canvas.mask(), removed) and steps(window) == 3
    assert ed.ui.undo.text() == "Undo Superpixels"
    for want in (dragged, first):
        qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
        assert np.array_equal(canvas.mask(), want)
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert back_at_start(window, canvas)

    # the size follows the brush; a map computed for an image no longer shown is not used
    ed.set_radius(6)
    assert tool.map is None
    switch_image_now(qtbot, window, canvas)
    qtbot.waitUntil(lambda: tool.map is not None and tool.computing is None, timeout=20000)
    assert tool.map_key == (ed.document().rec.id, 13, 80, 120)
    assert np.array_equal(tool.map.full_labels(),
                          compute_superpixels(images[1], 13).full_labels())


def test_wand_previews_live_with_the_tolerance_and_applies_in_one_step(
        qtbot, window, shapes_project):
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
    assert canvas.mask() is None                      # a preview, nothing painted yet
    y0, x0, sel = tool.preview[1]
    assert (y0, x0) == (RECT[1], RECT[0]) and sel.all() and sel.shape == (36, 36)
    assert tool.overlay.isVisible() and (tool.overlay.pos().x(), tool.overlay.pos().y()) == (10, 15)
    # the tolerance changes the preview live; a stale generation never shows
    ed.set_tolerance(140)
    ed.set_tolerance(200)
    qtbot.waitUntil(lambda: tool.preview is not None and tool.computing is None, timeout=10000)
    assert tool.preview[0] == 200
    ref = wand_region(images[0], x, y, 200)
    assert tool.preview[1][:2] == ref[:2] and np.array_equal(tool.preview[1][2], ref[2])
    assert ref[2].shape == SHAPE and ref[2].all()     # the whole image is within 200
    ed.set_tolerance(10)
    qtbot.waitUntil(lambda: tool.preview is not None and tool.preview[0] == 10, timeout=10000)
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    assert np.array_equal(canvas.mask(), np.where(rect_pixels(), TREE, IGNORE))
    assert ed.ui.undo.text() == "Undo Wand" and steps(window) == 1 and tool.seed is None
    # a second click on the same pixel applies too
    window.class_panel.set_active_class(CAR)
    click(qtbot, canvas, view_point(canvas, 85.5, 40.5))
    qtbot.waitUntil(lambda: tool.preview is not None, timeout=10000)
    click(qtbot, canvas, view_point(canvas, 85.5, 40.5))
    want = np.where(rect_pixels(), TREE, IGNORE)
    want[disc_pixels()] = CAR
    assert np.array_equal(canvas.mask(), want) and steps(window) == 2
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert back_at_start(window, canvas)
    # Esc drops a preview; a preview asked for on an image no longer shown is dropped
    click(qtbot, canvas, view_point(canvas, 85.5, 40.5))
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    assert tool.seed is None and not tool.overlay.isVisible()
    click(qtbot, canvas, view_point(canvas, 85.5, 40.5))
    qtbot.keyClick(canvas, Qt.Key.Key_Return)       # "apply when ready" ...
    switch_image_now(qtbot, window, canvas)           # ... but the image went away
    qtbot.waitUntil(lambda: window.controller.runner.pending("wand") == 0, timeout=10000)
    qtbot.wait(50)
    assert tool.seed is None and tool.preview is None and not tool.overlay.isVisible()
    assert ed.current_session() is None


def test_smart_tool_keys(qtbot, window, shapes_project):
    folder, _images = shapes_project
    canvas = open_editor(qtbot, window, folder, relpath="shapes_1.png")
    ed = window.editor
    for key, mod, name in ((Qt.Key.Key_S, None, "scissors"), (Qt.Key.Key_W, None, "watershed"),
                           (Qt.Key.Key_K, None, "superpixels"), (Qt.Key.Key_F, SHIFT, "wand"),
                           (Qt.Key.Key_F, None, "fill")):
        qtbot.keyClick(canvas, key, mod or Qt.KeyboardModifier.NoModifier)
        assert ed.tool is ed.tools[name], name
        assert ed.ui.tool_actions[name].isChecked()
