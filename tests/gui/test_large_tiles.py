"""The tiled label layer draws premultiplied ARGB tiles looked up once (Qt converted an
Indexed8 tile at every draw), redoes only an edit's rectangle, follows a colour change,
and asks for missing tiles after the paint, not during it."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QGraphicsScene, QStyleOptionGraphicsItem

from segstudio.core.chunked_mask import ChunkedMask
from segstudio.gui.widgets.tiled_labels import LabelTile, TiledLabelLayer, premultiplied
from segstudio.gui.workers import WorkerService

UNL = 255


@pytest.fixture()
def service():
    s = WorkerService()
    yield s
    s.shutdown()


def colours(alpha: int = 255) -> list[int]:
    table = [0] * 256  # unlabelled and unknown ids: transparent
    table[1] = QColor(255, 0, 0, alpha).rgba()
    table[2] = QColor(0, 0, 255, alpha).rgba()
    return table


def render(layer: TiledLabelLayer, w: int, h: int) -> np.ndarray:
    """The layer painted at 100 % over black: (h, w, 3) RGB."""
    out = QImage(w, h, QImage.Format.Format_RGB32)
    out.fill(QColor(0, 0, 0))
    painter = QPainter(out)
    option = QStyleOptionGraphicsItem()
    option.exposedRect = QRectF(0, 0, w, h)
    layer.paint(painter, option)
    painter.end()
    arr = np.frombuffer(out.constBits(), np.uint8).reshape(h, out.bytesPerLine() // 4, 4)
    return arr[:, :w, [2, 1, 0]].copy()


def loaded(qtbot, layer: TiledLabelLayer, w: int, h: int) -> np.ndarray:
    render(layer, w, h)
    qtbot.waitUntil(lambda: layer.pending() == 0, timeout=10000)
    return render(layer, w, h)


def test_premultiplied_lut():
    lut = premultiplied([QColor(200, 100, 50, 128).rgba(), QColor(1, 2, 3, 0).rgba()] + [0] * 254)
    a = 128
    assert lut[0] == (a << 24 | (200 * a + 127) // 255 << 16 | (100 * a + 127) // 255 << 8
                      | (50 * a + 127) // 255)
    assert lut[1] == 0


def test_label_tiles_are_argb_looked_up_once_and_edits_redo_their_rectangle(qtbot, tmp_path,
                                                                          service):
    mask = ChunkedMask(tmp_path / "m.zarr", (1024, 1024), UNL)
    ids = np.full((1024, 1024), UNL, np.uint8)
    ids[100:300, 600:900] = 1
    mask.write(0, 0, ids)
    scene = QGraphicsScene()
    layer = TiledLabelLayer(20, service, "mask-tiles")
    scene.addItem(layer)
    layer.set_color_table(colours())
    layer.set_mask(mask)
    shown = loaded(qtbot, layer, 1024, 1024)
    want = np.zeros((1024, 1024, 3), np.uint8)
    want[100:300, 600:900] = (255, 0, 0)
    np.testing.assert_array_equal(shown, want)
    tiles = {k: layer.cache.entry(k) for k in layer.cache.cached() if k[0] == 0}
    assert len(tiles) == 4
    one_class = [k for k, (img, t) in tiles.items() if isinstance(t, LabelTile) and img is None]
    assert sorted(one_class) == [(0, 0, 0), (0, 1, 0), (0, 1, 1)]  # unlabelled: not drawn
    image = tiles[(0, 0, 1)][0]
    assert image is not None and image.format() == QImage.Format.Format_ARGB32_Premultiplied
    # an edit: the same tile array, only its rectangle looked up again
    lookups = layer.lookups
    mask.write(200, 700, np.full((50, 60), 2, np.uint8))
    want[200:250, 700:760] = (0, 0, 255)
    np.testing.assert_array_equal(render(layer, 1024, 1024), want)
    assert layer.cache.entry((0, 0, 1))[0] is image and layer.lookups == lookups
    # an edit on a one-class tile makes it a full tile
    mask.write(10, 10, np.full((5, 5), 1, np.uint8))
    want[10:15, 10:15] = (255, 0, 0)
    np.testing.assert_array_equal(render(layer, 1024, 1024), want)
    # a colour change: every tile drawn is looked up again
    half = colours(128)
    layer.set_color_table(half)
    shown = render(layer, 1024, 1024)
    assert tuple(shown[150, 650]) == (128, 0, 0) and tuple(shown[220, 720]) == (0, 0, 128)
    assert tuple(shown[500, 500]) == (0, 0, 0)


def test_a_tile_read_before_an_edit_is_looked_up_again_when_it_arrives(qtbot, tmp_path,
                                                                       service):
    mask = ChunkedMask(tmp_path / "m.zarr", (512, 1024), UNL)
    layer = TiledLabelLayer(20, service, "mask-tiles")
    layer.set_color_table(colours())
    layer.set_mask(mask)
    early = layer.load_tile((0, 0, 0))  # read on a worker, before the edit
    other = layer.load_tile((0, 0, 1))  # a tile the edit does not reach
    mask.write(0, 0, np.full((8, 8), 1, np.uint8))
    layer.store_tile((0, 0, 0), early)
    assert layer.lookups == 1
    layer.store_tile((0, 0, 1), other)
    assert layer.lookups == 1  # not looked up again on the GUI thread
    shown = render(layer, 1024, 512)
    assert tuple(shown[4, 4]) == (255, 0, 0) and tuple(shown[100, 100]) == (0, 0, 0)


def test_missing_tiles_are_asked_for_after_the_paint(qtbot, tmp_path, service):
    mask = ChunkedMask(tmp_path / "m.zarr", (1024, 1024), UNL)
    layer = TiledLabelLayer(20, service, "mask-tiles")
    layer.set_color_table(colours())
    layer.set_mask(mask)
    render(layer, 1024, 1024)
    assert layer.requests == 0 and layer.pending() > 0  # asked for, not yet submitted
    qtbot.waitUntil(lambda: layer.requests == 1, timeout=5000)
    qtbot.waitUntil(lambda: layer.pending() == 0, timeout=10000)
    assert len(layer.cache) > 0


def test_outline_and_difference_are_drawn_per_level_and_follow_edits(qtbot, tmp_path,
                                                                     service):
    from segstudio.core.derived_maps import boundaries, disagreement
    from segstudio.gui.widgets.tiled_labels import DIFFERENCE, OUTLINE

    mask = ChunkedMask(tmp_path / "m.zarr", (1024, 1024), UNL)
    ids = np.full((1024, 1024), UNL, np.uint8)
    ids[100:700, 400:900] = 1  # crosses the tile seams at 512
    mask.write(0, 0, ids)
    pred = ChunkedMask(tmp_path / "p.zarr", (1024, 1024), UNL)
    guess = np.full((1024, 1024), 1, np.uint8)
    guess[:, :600] = 2
    pred.write(0, 0, guess)
    outline = TiledLabelLayer(20, service, "mask-tiles")
    outline.set_color_table(colours())
    outline.set_mask(mask)
    outline.set_mode(OUTLINE, hole=UNL)
    diff = TiledLabelLayer(40, service, "difference-tiles")
    table = [0] * 256
    table[1] = QColor(255, 0, 255).rgba()
    diff.set_color_table(table)
    diff.set_mask(mask)
    diff.set_mode(DIFFERENCE, ignore=UNL, other=pred)

    def want_outline(full):
        edge = boundaries(full, UNL)
        out = np.zeros(full.shape + (3,), np.uint8)
        out[edge == 1] = (255, 0, 0)
        out[edge == 2] = (0, 0, 255)
        return out

    def want_diff(full):
        out = np.zeros(full.shape + (3,), np.uint8)
        out[disagreement(full, guess, UNL) == 1] = (255, 0, 255)
        return out

    np.testing.assert_array_equal(loaded(qtbot, outline, 1024, 1024), want_outline(ids))
    np.testing.assert_array_equal(loaded(qtbot, diff, 1024, 1024), want_diff(ids))
    # an edit across a tile seam redoes the outline one pixel around it, on both sides
    mask.write(500, 505, np.full((30, 20), 2, np.uint8))
    ids[500:530, 505:525] = 2
    np.testing.assert_array_equal(render(outline, 1024, 1024), want_outline(ids))
    np.testing.assert_array_equal(render(diff, 1024, 1024), want_diff(ids))
    # a coarser level outlines its own pixels (every second pixel of level 0)
    level1 = outline.ids(1, 0, 0, 512, 512)
    np.testing.assert_array_equal(level1, boundaries(ids[::2, ::2], UNL))


def test_the_display_adjustment_redoes_image_tiles_from_their_pixels(qtbot, tmp_path, service):
    from segstudio.core.display import DisplayAdjust
    from segstudio.core.pyramid import open_tiff_pyramid
    from segstudio.gui.widgets.tiled_layers import TiledImageLayer
    from tests.large.helpers import structured, write_pyramid_tiff

    path = tmp_path / "s.tif"
    arrays = write_pyramid_tiff(path, structured(1024, 1024), levels=2)
    layer = TiledImageLayer(0, service)
    with open_tiff_pyramid(path) as src:
        layer.set_source(src)
        np.testing.assert_array_equal(loaded(qtbot, layer, 1024, 1024), arrays[0])
        requests = layer.requests
        adjust = DisplayAdjust(brightness=0.1, contrast=1.5, gamma=0.8)
        layer.set_adjust(adjust)
        shown = render(layer, 1024, 1024)
        np.testing.assert_array_equal(shown, adjust.apply(arrays[0]))
        assert layer.adjusted == 4 and layer.requests == requests  # redone, not decoded
        layer.set_adjust(DisplayAdjust())
        np.testing.assert_array_equal(render(layer, 1024, 1024), arrays[0])
        layer.set_source(None)
