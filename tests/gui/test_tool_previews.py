"""GrabCut and watershed show what Enter would paint before it is painted, stay open to
be refined, and Enter paints exactly the preview in one undo step: driven through the
canvas of a real window, the preview checked pixel for pixel as the canvas draws it."""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import Qt

from segstudio.core import edits
from segstudio.core.grabcut import grabcut_region
from segstudio.core.sample import CAR, IGNORE, SAMPLE_CLASSES, TREE
from segstudio.core.smart.wand import EDGE, INSIDE, preview_array
from segstudio.core.smart.watershed import paint_labels, preview_labels, watershed_labels
from segstudio.gui.editor import grabcut_tool
from segstudio.gui.editor.grabcut_tool import STROKE_RADIUS as GRABCUT_RADIUS
from segstudio.gui.editor.smart_overlay import TINT_ALPHA
from segstudio.gui.editor.watershed_tool import STROKE_RADIUS as WATERSHED_RADIUS

from .conftest import expected_over, qimage_rgb
from .editor_helpers import CTRL, click, drag, open_editor, view_point
from .test_smart_tools import SHAPE, disc_pixels, rect_pixels, shapes_project  # noqa: F401

RIGHT = Qt.MouseButton.RightButton
WHITE_EDGE = ((255, 255, 255), 235)


def _settled(qtbot, tool) -> None:
    qtbot.waitUntil(lambda: tool.running is None, timeout=15000)


def _steps(window) -> int:
    session = window.editor.current_session()
    return 0 if session is None else session.stack.count()


def _drawn(canvas, image, y0, x0, shown, tints) -> np.ndarray:
    """What the canvas should draw: ``shown`` (a preview array at y0, x0) over ``image``,
    region k tinted ``tints[k]``, the edges light."""
    want = image.copy()
    h, w = shown.shape
    crop = want[y0:y0 + h, x0:x0 + w]
    for k, rgb in enumerate(tints):
        sel = shown == k + 1
        crop[sel] = expected_over(crop[sel], rgb, TINT_ALPHA)
    edge = shown == len(tints) + 1
    crop[edge] = expected_over(crop[edge], *WHITE_EDGE)
    return want


def test_grabcut_previews_stays_open_to_refine_and_enter_paints_the_preview(
        qtbot, window, shapes_project, monkeypatch):  # noqa: F811
    folder, images = shapes_project
    canvas = open_editor(qtbot, window, folder, relpath="shapes_1.png", center=(60, 40))
    ed = window.editor
    qtbot.keyClick(canvas, Qt.Key.Key_G)
    tool = ed.tool
    window.class_panel.set_active_class(TREE)
    click(qtbot, canvas, view_point(canvas, 20.5, 30.5))    # a click is no rectangle ...
    assert tool.corners is None and tool.running is None
    assert canvas.hint() == "GrabCut: drag a rectangle round the object"  # ... the next drag is
    # a rectangle round the bright rectangle and a part of the disc
    box = drag(qtbot, canvas, [view_point(canvas, 6.5, 11.5), view_point(canvas, 80.5, 55.5)])
    assert tool.running is not None                      # the preview runs on its own
    _settled(qtbot, tool)
    want = grabcut_region(images[0], box[0], box[-1], stroke_radius=GRABCUT_RADIUS)
    y0, x0, sel = want
    assert np.array_equal(np.zeros(SHAPE, bool) | _full(want), rect_pixels())
    assert tool.preview[:2] == (y0, x0) and np.array_equal(tool.preview[2], sel)
    assert canvas.mask() is None and _steps(window) == 0  # a preview, nothing painted
    assert tool.corners is not None                       # the tool stays open
    assert canvas.hint().startswith("GrabCut: Enter fills the preview with Tree")
    # what the user sees: the object tinted Tree, its edge light, the rest the photo
    got = qimage_rgb(canvas.render_scene())
    shown = preview_array(sel)
    drawn = _drawn(canvas, images[0], y0, x0, shown, [SAMPLE_CLASSES.by_id(TREE).color])
    assert (shown == INSIDE).sum() > 900 and (shown == EDGE).sum() > 100
    inside = np.zeros(SHAPE, bool)
    inside[y0:y0 + sel.shape[0], x0:x0 + sel.shape[1]] = shown > 0
    assert np.array_equal(got[inside], drawn[inside])
    assert np.array_equal(got[60:], images[0][60:])   # below the rectangle: the photo

    # refine: an object stroke on the disc's part; the preview follows
    fg = drag(qtbot, canvas, [view_point(canvas, 75.5, 30.5), view_point(canvas, 75.5, 50.5)])
    _settled(qtbot, tool)
    refined = grabcut_region(images[0], box[0], box[-1], fg_strokes=[fg],
                             stroke_radius=GRABCUT_RADIUS)
    assert tool.preview[:2] == refined[:2] and np.array_equal(tool.preview[2], refined[2])
    gained = _full(refined) & ~_full(want)
    assert gained.sum() > 200 and np.array_equal(gained, _full(refined) & disc_pixels())
    assert canvas.mask() is None and tool.corners is not None

    # Enter paints exactly the preview, as one undo step; the tool is ready for the next
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    expect = np.full(SHAPE, IGNORE, np.uint8)
    assert edits.paint_region(expect, *refined, TREE) is not None
    assert np.array_equal(canvas.mask(), expect) and _steps(window) == 1
    assert ed.ui.undo.text() == "Undo GrabCut"
    assert tool.corners is None and tool.preview is None and not tool.overlay.isVisible()
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert np.array_equal(ed.current_session().mask, np.full(SHAPE, IGNORE, np.uint8))

    # Enter while the preview is still computing (held here) paints it once it arrives
    go = threading.Event()
    monkeypatch.setattr(grabcut_tool, "grabcut_region",
                        lambda *a, **k: go.wait(30) and grabcut_region(*a, **k))
    try:
        drag(qtbot, canvas, [view_point(canvas, 6.5, 11.5), view_point(canvas, 80.5, 55.5)])
        qtbot.keyClick(canvas, Qt.Key.Key_Return)
        assert tool.running is not None and ed.current_session().stack.index() == 0
        go.set()
        qtbot.waitUntil(lambda: ed.current_session().stack.index() == 1, timeout=15000)
    finally:
        go.set()
    assert np.array_equal(canvas.mask(), np.where(_full(want), TREE, IGNORE))


def _full(region) -> np.ndarray:
    y0, x0, sel = region
    out = np.zeros(SHAPE, bool)
    out[y0:y0 + sel.shape[0], x0:x0 + sel.shape[1]] = sel
    return out


def test_watershed_previews_each_class_stays_open_and_enter_paints_the_preview(
        qtbot, window, shapes_project):  # noqa: F811
    folder, images = shapes_project
    canvas = open_editor(qtbot, window, folder, relpath="shapes_1.png", center=(60, 40))
    ed = window.editor
    qtbot.keyClick(canvas, Qt.Key.Key_W)
    tool = ed.tool
    window.class_panel.set_active_class(TREE)
    s1 = drag(qtbot, canvas, [view_point(canvas, 20.5, 30.5), view_point(canvas, 34.5, 33.5)])
    window.class_panel.set_active_class(CAR)
    s2 = drag(qtbot, canvas, [view_point(canvas, 80.5, 40.5), view_point(canvas, 90.5, 42.5)])
    s3 = drag(qtbot, canvas, [view_point(canvas, 3.5, 5.5), view_point(canvas, 115.5, 5.5),
                              view_point(canvas, 115.5, 75.5)], button=RIGHT)
    _settled(qtbot, tool)
    strokes = [(TREE, s1), (CAR, s2), (None, s3)]
    want = watershed_labels(images[0], strokes, radius=WATERSHED_RADIUS)
    y0, x0, labels = want
    assert tool.preview[:2] == (y0, x0) and np.array_equal(tool.preview[2], labels)
    assert canvas.mask() is None and _steps(window) == 0 and len(tool.strokes) == 3
    assert canvas.hint().startswith("Watershed: Enter fills the previewed regions")
    # each class tinted in its own colour, the edges light
    got = qimage_rgb(canvas.render_scene())
    shown, ids = preview_labels(labels)
    assert ids == [TREE, CAR]
    drawn = _drawn(canvas, images[0], y0, x0, shown,
                   [SAMPLE_CLASSES.by_id(c).color for c in ids])
    for k in (1, 2, 3):
        sel = np.zeros(SHAPE, bool)
        sel[y0:y0 + shown.shape[0], x0:x0 + shown.shape[1]] = shown == k
        far = sel & ~_near_strokes(strokes)
        assert far.sum() > 50
        assert np.array_equal(got[far], drawn[far])

    # refine: one more Tree stroke is previewed too; Enter paints exactly the preview
    window.class_panel.set_active_class(TREE)
    s4 = drag(qtbot, canvas, [view_point(canvas, 40.5, 20.5), view_point(canvas, 42.5, 40.5)])
    _settled(qtbot, tool)
    strokes.append((TREE, s4))
    want = watershed_labels(images[0], strokes, radius=WATERSHED_RADIUS)
    assert np.array_equal(tool.preview[2], want[2])
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    expect = np.full(SHAPE, IGNORE, np.uint8)
    assert paint_labels(expect, *want) is not None
    assert np.array_equal(expect == TREE, rect_pixels())
    assert np.array_equal(expect == CAR, disc_pixels())
    assert np.array_equal(canvas.mask(), expect) and _steps(window) == 1
    assert tool.strokes == [] and tool.preview is None and not tool.overlay.isVisible()


def _near_strokes(strokes, reach: int = 6) -> np.ndarray:
    """Pixels within ``reach`` of a stroke's polyline (the stroke lines are drawn there)."""
    import cv2

    out = np.zeros(SHAPE, np.uint8)
    for _cid, pts in strokes:
        p = np.array([(int(x), int(y)) for x, y in pts], np.int32)
        cv2.polylines(out, [p], False, 1, thickness=2 * reach + 1)
    return out.astype(bool)
