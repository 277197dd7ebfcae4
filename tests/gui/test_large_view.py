"""A large image in the window: drawn by tiles of the level the zoom needs, painted at
full resolution through the editing window, saved chunk by chunk."""

from __future__ import annotations

import numpy as np
import pytest

from segstudio.core import edits, large_store, pyramid
from segstudio.core.project import Project
from tests.gui.conftest import open_and_wait
from tests.gui.editor_helpers import drag, view_point
from tests.large.helpers import structured, write_pyramid_tiff


@pytest.fixture(autouse=True)
def small_large_threshold():
    old = pyramid.large_pixels()
    pyramid.set_large_pixels(1024 * 1024)
    yield
    pyramid.set_large_pixels(old)


@pytest.fixture()
def slide_folder(tmp_path):
    folder = tmp_path / "slides"
    folder.mkdir()
    image = structured(4096, 4096)
    image[1000:3000, 1000:1500] = (200, 40, 40)
    write_pyramid_tiff(folder / "slide.tif", image, levels=3)
    return folder


def wait_tiles(qtbot, layer):
    qtbot.waitUntil(lambda: layer.pending() == 0 and len(layer.cache) > 0, timeout=10000)


def test_the_view_reads_the_level_of_its_zoom_and_only_visible_tiles(qtbot, window,
                                                                     slide_folder):
    open_and_wait(qtbot, window, slide_folder)
    canvas = window.canvas
    doc = canvas.document()
    assert doc.large is not None and (doc.width, doc.height) == (4096, 4096)
    layer = canvas.large_view().image
    canvas.fit()
    canvas.viewport().repaint()
    wait_tiles(qtbot, layer)
    assert layer.last_level == pyramid.level_for_zoom(layer.levels, canvas.zoom()) == 2
    assert {k[0] for k in layer.cache.cached()} == {2}
    canvas.set_zoom(1.0)
    canvas.centerOn(0, 0)
    canvas.viewport().repaint()
    wait_tiles(qtbot, layer)
    canvas.viewport().repaint()
    assert layer.last_level == 0
    fine = [k for k in layer.cache.cached() if k[0] == 0]
    vp = canvas.viewport().rect()
    tiles_across = -(-vp.width() // 512) + 1
    tiles_down = -(-vp.height() // 512) + 1
    assert 0 < len(fine) <= tiles_across * tiles_down  # the view's tiles, not all 64
    canvas.grab().save(str(slide_folder.parent / "large-view.png"))


def test_a_brush_stroke_at_full_resolution_lands_in_the_chunked_mask(qtbot, window,
                                                                     slide_folder):
    open_and_wait(qtbot, window, slide_folder)
    canvas = window.canvas
    editor = window.editor
    canvas.set_zoom(1.0)
    oy, ox = canvas.window_origin()
    canvas.centerOn(2500 - ox, 2400 - oy)  # scene coordinates are the window's
    editor.set_tool("brush")
    editor.set_radius(6)
    pts = [view_point(canvas, x - ox, 2400 - oy) for x in (2400, 2450, 2500, 2560)]
    positions = drag(qtbot, canvas, pts)
    session = editor.current_session()
    assert session is not None and session.chunked.dirty()
    oy, ox = session.origin
    # the same stroke on a plain array, at the full-resolution positions
    want = np.full((4096, 4096), window.controller.project.classes.unlabelled_value(),
                   np.uint8)
    value = editor.require_class()
    assert value is not None
    stroke = edits.BrushStroke(want, 6, value)
    for x, y in positions:
        stroke.add_point(x + ox, y + oy)
    np.testing.assert_array_equal(session.chunked.to_array(), want)
    assert not editor.saver.flush()
    project = window.controller.project
    rec = project.images()[0]
    np.testing.assert_array_equal(large_store.load_full_mask(project, rec), want)
    assert rec.status == "corrected"
    window.controller.close_project()
    with Project.open(slide_folder) as again:
        np.testing.assert_array_equal(large_store.load_full_mask(again, again.images()[0]),
                                      want)


def test_outline_difference_and_display_adjustment_reach_the_tiled_layers(qtbot, window,
                                                                         slide_folder):
    from dataclasses import replace

    from segstudio.core.chunked_mask import write_full
    from segstudio.core.display import DisplayAdjust
    from segstudio.gui.widgets.tiled_labels import DIFFERENCE, FILL, OUTLINE

    with Project.open(slide_folder) as project:
        rec = project.images()[0]
        unl = project.classes.unlabelled_value()
        ids = [c.id for c in project.classes.classes if not c.ignore]
        mask = np.full((4096, 4096), unl, np.uint8)
        mask[1000:3000, 1000:1500] = ids[0]
        project.save_mask(rec, mask)
        write_full(large_store.prediction_store_path(project, rec),
                   np.full((4096, 4096), ids[1], np.uint8), unl)
    open_and_wait(qtbot, window, slide_folder)
    canvas = window.canvas
    lv = canvas.large_view()
    assert lv.mask.isVisible() and lv.mask.mode == FILL and not lv.difference.isVisible()
    canvas.set_style(replace(canvas.style(), outline=True, difference=True))
    assert lv.mask.mode == OUTLINE and lv.prediction.mode == OUTLINE
    assert lv.difference.isVisible() and lv.difference.mode == DIFFERENCE
    assert lv.difference.other is lv.prediction.mask is not None
    canvas.fit()
    canvas.viewport().repaint()
    qtbot.waitUntil(lambda: lv.difference.pending() == 0 and len(lv.difference.cache) > 0,
                    timeout=10000)
    level = lv.difference.coarsest()
    h, w = lv.difference.levels[level]
    np.testing.assert_array_equal(lv.difference.ids(level, 0, 0, h, w),
                                  (mask[::1 << level, ::1 << level] != unl).astype(np.uint8))
    canvas.set_display(DisplayAdjust(brightness=0.2))
    assert lv.image._lut is not None
    canvas.set_display(DisplayAdjust())
    assert lv.image._lut is None
