"""Smart tools on a large image, driven through the window: the wand and GrabCut work on
the editing window of the chunked mask, their results land at full resolution in every
level of it, are saved chunk by chunk, and undo takes them back."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt

from segstudio.core import edits, large_store, pyramid
from segstudio.core.chunked_mask import ChunkStore
from segstudio.core.grabcut import grabcut_region
from segstudio.core.smart.wand import wand_region
from tests.gui.conftest import open_and_wait
from tests.gui.editor_helpers import CTRL, click, drag, view_point
from tests.large.helpers import structured, write_pyramid_tiff

SIDE = 4096
RECT = (1850, 1850, 2000, 1950)   # x0, y0, x1, y1 (end-exclusive): a red block
DISC = ((2150, 2050), 60)         # centre (x, y), radius: a blue disc
FOCUS = (2075, 2000)              # the view's centre (x, y), full resolution


@pytest.fixture(autouse=True)
def small_large_threshold():
    old = pyramid.large_pixels()
    pyramid.set_large_pixels(1024 * 1024)
    yield
    pyramid.set_large_pixels(old)


@pytest.fixture()
def shapes_slide(tmp_path):
    """A 4096 x 4096 pyramidal TIFF: a dull textured ground, a red block, a blue disc."""
    folder = tmp_path / "slides"
    folder.mkdir()
    image = structured(SIDE, SIDE) // 5 + 70
    x0, y0, x1, y1 = RECT
    image[y0:y1, x0:x1] = (210, 30, 30)
    cv2.circle(image, DISC[0], DISC[1], (30, 40, 220), -1)
    write_pyramid_tiff(folder / "slide.tif", image, levels=3)
    return folder


def full_point(canvas, x: float, y: float):
    """The viewport pixel over full-resolution position (x, y)."""
    oy, ox = canvas.window_origin()
    return view_point(canvas, x - ox, y - oy)


def place(want: np.ndarray, origin, y0: int, x0: int, sel: np.ndarray, value: int) -> None:
    """A region found in the window (window coordinates) painted into the full mask."""
    oy, ox = origin
    window = want[oy:oy + 2048, ox:ox + 2048]
    assert edits.paint_region(window, y0, x0, sel, value) is not None


def test_wand_and_grabcut_edit_a_large_image_at_full_resolution(qtbot, window, shapes_slide):
    open_and_wait(qtbot, window, shapes_slide)
    canvas, ed = window.canvas, window.editor
    doc = canvas.document()
    assert doc.large is not None
    canvas.set_zoom(1.0)
    oy, ox = canvas.window_origin()
    canvas.centerOn(FOCUS[0] - ox, FOCUS[1] - oy)
    canvas.setFocus()
    table = window.controller.project.classes
    unl = table.unlabelled_value()
    red, blue = [c.id for c in table.classes if not c.ignore][:2]
    want = np.full((SIDE, SIDE), unl, np.uint8)

    # the wand: a click previews the red block, Enter fills it
    ed.set_tolerance(10)
    ed.set_tool("wand")
    tool = ed.tool
    window.class_panel.set_active_class(red)
    # a quarter pixel in: a half would round either way (round half to even) with the
    # view's whole-pixel offset, which the window's size decides
    x, y = click(qtbot, canvas, full_point(canvas, 1900.25, 1900.25))  # window coordinates
    qtbot.waitUntil(lambda: tool.preview is not None and tool.computing is None, timeout=20000)
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    session = ed.current_session()
    assert session is not None and session.stack.count() == 1
    origin = session.origin
    assert (int(x) + origin[1], int(y) + origin[0]) == (1900, 1900)
    y0, x0, sel = wand_region(canvas.document().display, x, y, 10)
    place(want, origin, y0, x0, sel, red)
    rx0, ry0, rx1, ry1 = RECT
    block = np.zeros((SIDE, SIDE), bool)
    block[ry0:ry1, rx0:rx1] = True
    assert np.array_equal(want == red, block)  # the red block, exactly
    np.testing.assert_array_equal(session.chunked.to_array(), want)

    # GrabCut: a rectangle round the disc, Enter runs it on a worker
    ed.set_tool("grabcut")
    window.class_panel.set_active_class(blue)
    (cx, cy), r = DISC
    got = drag(qtbot, canvas, [full_point(canvas, cx - r - 25.5, cy - r - 25.5),
                               full_point(canvas, cx + r + 25.5, cy + r + 25.5)])
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: session.stack.count() == 2, timeout=30000)
    assert session.origin == origin  # the window does not move under a pending tool
    y0, x0, sel = grabcut_region(canvas.document().display, got[0], got[-1])
    place(want, origin, y0, x0, sel, blue)
    disc = np.zeros((SIDE, SIDE), np.uint8)
    cv2.circle(disc, DISC[0], DISC[1], 1, -1)
    found = want == blue
    assert (found & (disc == 1)).sum() / (disc == 1).sum() > 0.95  # GrabCut found the disc
    assert not (found & (disc == 0)).any()
    mask = session.chunked
    np.testing.assert_array_equal(mask.to_array(), want)
    for level in range(1, len(mask.levels)):  # every level follows, nearest samples
        h, w = mask.levels[level]
        np.testing.assert_array_equal(mask.read(level, 0, 0, h, w),
                                      want[::1 << level, ::1 << level])

    # saved chunk by chunk: the store on disk holds it, every level
    assert not ed.saver.flush()
    project = window.controller.project
    store = ChunkStore(large_store.mask_store_path(project, project.images()[0]))
    np.testing.assert_array_equal(store.read_level(0), want)
    np.testing.assert_array_equal(store.read_level(2), want[::4, ::4])

    # undo takes both back, in every level
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert session.stack.index() == 0
    np.testing.assert_array_equal(mask.read(0, 0, 0, SIDE, SIDE), unl)
    np.testing.assert_array_equal(mask.read(1, 0, 0, SIDE // 2, SIDE // 2), unl)
