"""The tiled label layer of a large image: a chunked label pyramid (the human mask, the
prediction) drawn by tiles like the image (:mod:`.tiled_layers`).

A tile is the chunk's class ids looked up once in the layer's 256-entry colour
table into an ``ARGB32_Premultiplied`` array (what the screen blends without a
conversion; Qt converts an Indexed8 image at every draw, about 25 times the cost
of the blit), on the worker that read the chunk.  A tile of one class is kept as
that colour alone and drawn as a filled rectangle, or not at all when the colour
is transparent (the unlabelled parts of a mask, most of a new one).

* An edit (the mask's listeners) looks up only the changed rectangle of the cached
  tiles of each level and repaints it; a tile read before an edit and arriving after
  it is looked up again when it arrives.
* A colour or opacity change keeps the tiles and looks each one up again the next
  time it is drawn (only the visible ones, on the GUI thread, about 1 ms a tile).

The same layer draws what the canvas derives from the labels, tile by tile at each
level's own pixels (so a line stays one screen pixel wide at any zoom): the
*outline* of a mask (:func:`~segstudio.core.derived_maps.boundaries`, read with a pixel
of the neighbouring tiles around each tile) and the *difference* between the human
mask and the prediction (:func:`~segstudio.core.derived_maps.disagreement`).  An edit
redoes its rectangle, one pixel wider for the outline.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem

from ...core.chunked_mask import ChunkedMask
from ...core.derived_maps import boundaries, disagreement
from ..workers import WorkerService
from .tiled_layers import TILE, Key, TiledLayer

LABEL_BUDGET = 128 << 20   # looked-up label tiles kept (ARGB32: 1 MiB a tile)


class LabelTile:
    """A label tile: its colours (``argb`` and the QImage over it), or one class id
    (``uniform``) for a tile of one class; ``version``: the colour table used."""

    __slots__ = ("argb", "image", "uniform", "version")

    def __init__(self, argb: np.ndarray | None, uniform: int | None, version: int) -> None:
        self.argb = argb
        self.uniform = uniform
        self.version = version
        self.image: QImage | None = None
        if argb is not None:
            h, w = argb.shape
            self.image = QImage(argb.data, w, h, w * 4, QImage.Format.Format_ARGB32_Premultiplied)

    @property
    def nbytes(self) -> int:
        return 64 if self.argb is None else int(self.argb.nbytes)


def premultiplied(colors: list[int]) -> np.ndarray:
    """The 256 ``QColor.rgba()`` values of a colour table as premultiplied ARGB32."""
    c = np.asarray(colors, np.uint32)
    a = c >> 24
    out = a << 24
    for shift in (16, 8, 0):
        ch = (c >> shift) & 0xFF
        out |= ((ch * a + 127) // 255) << shift
    return out.astype(np.uint32)


FILL, OUTLINE, DIFFERENCE = "fill", "outline", "difference"


def make_tile(block: np.ndarray, lut: np.ndarray, version: int) -> LabelTile:
    """A label tile of chunk ``block`` (class ids) looked up in ``lut``."""
    first = int(block.flat[0])
    if int(block.min()) == first == int(block.max()):
        return LabelTile(None, first, version)
    return LabelTile(np.ascontiguousarray(lut[block]), None, version)


class TiledLabelLayer(TiledLayer):
    """A chunked label pyramid (human mask or prediction) with a colour table."""

    def __init__(self, z: float, workers: WorkerService, key: str,
                 parent: QGraphicsItem | None = None) -> None:
        super().__init__(z, workers, key, parent)
        self.cache.budget = LABEL_BUDGET
        self.mask: ChunkedMask | None = None
        self.colors: list[int] = [0] * 256
        self._lut = premultiplied(self.colors)
        self._version = 0
        self._edits: dict[Key, int] = {}  # edits of each tile not cached when they landed
        self.hatched = False
        self._listener: Callable[[tuple[int, int, int, int]], None] | None = None
        self.lookups = 0  # tiles looked up on the GUI thread (tests)
        self.mode = FILL
        self.other: ChunkedMask | None = None  # the prediction a difference compares with
        self.hole = 255      # the outline's "no boundary" id
        self.ignore: int | None = None  # the difference's unlabelled id (never a difference)

    def set_mask(self, mask: ChunkedMask | None) -> None:
        if mask is self.mask:
            return
        if self.mask is not None and self._listener in self.mask.listeners:
            self.mask.listeners.remove(self._listener)
        self.prepareGeometryChange()
        self.mask = mask
        self.levels = list(mask.levels) if mask is not None else []
        self._edits = {}
        if mask is not None:
            self._listener = self._changed
            mask.listeners.append(self._listener)
        self.reset()

    def set_color_table(self, colors: list[int]) -> None:
        if colors != self.colors:
            self.colors = list(colors)
            self._lut = premultiplied(self.colors)
            self._version += 1
            self.update()

    def set_mode(self, mode: str, hole: int = 255, ignore: int | None = None,
                 other: ChunkedMask | None = None) -> None:
        """Draw the labels (``FILL``), their ``OUTLINE`` (``hole``: the id of no
        boundary) or their ``DIFFERENCE`` from ``other`` (1 where they disagree, 0 where
        they agree; ``ignore`` never disagrees).  The tiles cached are looked up again
        when next drawn."""
        if (mode, hole, ignore, other) != (self.mode, self.hole, self.ignore, self.other):
            self.mode, self.hole, self.ignore, self.other = mode, hole, ignore, other
            self._version += 1
            self.update()

    def ids(self, level: int, y0: int, x0: int, y1: int, x1: int) -> np.ndarray:
        """What the layer shows of rows y0..y1-1, columns x0..x1-1 of ``level``, as ids
        for the colour table."""
        mask = self.mask
        assert mask is not None
        if self.mode == OUTLINE:
            h, w = mask.levels[level]
            cy0, cx0 = max(0, y0 - 1), max(0, x0 - 1)
            context = mask.read(level, cy0, cx0, min(h, y1 + 1), min(w, x1 + 1))
            rect = (x0 - cx0, y0 - cy0, x1 - cx0, y1 - cy0)
            out = boundaries(context, self.hole, rect, np.full(context.shape, self.hole,
                                                               np.uint8))
            return out[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0]
        if self.mode == DIFFERENCE:
            if self.other is None:
                return np.zeros((y1 - y0, x1 - x0), np.uint8)
            return disagreement(mask.read(level, y0, x0, y1, x1),
                                self.other.read(level, y0, x0, y1, x1), self.ignore)
        if (y1 - y0, x1 - x0) == (TILE, TILE) and y0 % TILE == 0 and x0 % TILE == 0:
            return mask.chunk((level, y0 // TILE, x0 // TILE))  # no copy
        return mask.read(level, y0, x0, y1, x1)

    def _tile_ids(self, key: Key) -> np.ndarray:
        level, ty, tx = key
        if self.mode == FILL:
            assert self.mask is not None
            return self.mask.chunk(key)
        h, w = self.levels[level]
        y0, x0 = ty * TILE, tx * TILE
        return self.ids(level, y0, x0, min(h, y0 + TILE), min(w, x0 + TILE))

    # -- tiles ----------------------------------------------------------------------------
    def load_tile(self, key: Key) -> tuple[QImage | None, object]:
        mask = self.mask
        assert mask is not None
        edits, version = self._edits.get(key, 0), self._version
        tile = make_tile(self._tile_ids(key), self._lut, version)
        return tile.image, (tile, edits)

    def store_tile(self, key: Key, tile: tuple[QImage | None, object]) -> None:
        label, edits = tile[1]  # type: ignore[misc]
        assert isinstance(label, LabelTile)
        if edits != self._edits.get(key, 0):  # edited while it was read: look it up again
            label = self._lookup(key)
        self.cache.put(key, label.image, label, label.nbytes)

    def _lookup(self, key: Key) -> LabelTile:
        self.lookups += 1
        return make_tile(self._tile_ids(key), self._lut, self._version)

    def _current(self, key: Key) -> LabelTile | None:
        """The cached tile ``key`` in the current colours (looked up again if need be)."""
        entry = self.cache.entry(key)
        if entry is None:
            return None
        tile = entry[1]
        assert isinstance(tile, LabelTile)
        if tile.version != self._version:
            tile = self._lookup(key)
            self.cache.put(key, tile.image, tile, tile.nbytes)
        return tile

    def draw_tile(self, painter: QPainter, key: Key, target: QRectF,
                  source: QRectF | None = None) -> bool:
        tile = self._current(key)
        if tile is None:
            return False
        if tile.image is None:
            assert tile.uniform is not None
            argb = int(self._lut[tile.uniform])
            if argb >> 24:
                painter.fillRect(target, QColor.fromRgba(self.colors[tile.uniform]))
        elif source is None:
            painter.drawImage(target, tile.image)
        else:
            painter.drawImage(target, tile.image, source)
        return True

    # -- edits ----------------------------------------------------------------------------
    def _changed(self, rect: tuple[int, int, int, int]) -> None:
        """The mask changed in ``rect`` (y0, x0, y1, x1 at full resolution): look up
        that part of every cached tile of every level again."""
        if self.mask is None:
            return
        y0, x0, y1, x1 = rect
        for level in range(len(self.levels)):
            s = 1 << level
            # the level's pixels whose samples lie in the rectangle (level k holds every
            # 2**k-th pixel of level 0)
            ly0, lx0 = -(-y0 // s), -(-x0 // s)
            ly1, lx1 = -(-y1 // s), -(-x1 // s)
            if ly1 <= ly0 or lx1 <= lx0:
                continue
            g = 1 if self.mode == OUTLINE else 0
            h, w = self.levels[level]
            for ty in range(max(0, ly0 - g) // TILE, (min(h, ly1 + g) - 1) // TILE + 1):
                for tx in range(max(0, lx0 - g) // TILE, (min(w, lx1 + g) - 1) // TILE + 1):
                    self._refresh((level, ty, tx), ly0, lx0, ly1, lx1)
        pad = 2 << max(0, self.last_level)  # two pixels of the level on screen
        self.update(QRectF(x0 - pad, y0 - pad, x1 - x0 + 2 * pad, y1 - y0 + 2 * pad))

    def _refresh(self, key: Key, ly0: int, lx0: int, ly1: int, lx1: int) -> None:
        assert self.mask is not None
        entry = self.cache.entry(key)
        if entry is None:  # on its way, perhaps: its reader looks again if it read before
            self._edits[key] = self._edits.get(key, 0) + 1
            return
        tile = entry[1]
        assert isinstance(tile, LabelTile)
        if tile.version != self._version:
            tile = self._lookup(key)
            self.cache.put(key, tile.image, tile, tile.nbytes)
            return
        if tile.argb is None:  # one class so far: its colour everywhere, then the edit
            assert tile.uniform is not None
            h, w = self.mask.chunk_shape(*key)
            tile = LabelTile(np.full((h, w), self._lut[tile.uniform], np.uint32), None,
                             self._version)
            self.cache.put(key, tile.image, tile, tile.nbytes)
        level, ty, tx = key
        by0, bx0 = ty * TILE, tx * TILE
        h, w = tile.argb.shape
        grow = 1 if self.mode == OUTLINE else 0  # a pixel's boundary depends on its neighbours
        sy0, sx0 = max(ly0 - grow, by0) - by0, max(lx0 - grow, bx0) - bx0
        sy1, sx1 = min(ly1 + grow, by0 + h) - by0, min(lx1 + grow, bx0 + w) - bx0
        if sy1 <= sy0 or sx1 <= sx0:
            return
        ids = self.ids(level, by0 + sy0, bx0 + sx0, by0 + sy1, bx0 + sx1)
        tile.argb[sy0:sy1, sx0:sx1] = self._lut[ids]
