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
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem

from ...core.chunked_mask import ChunkedMask
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
        self._edits = 0  # edits so far: a tile read before the last one is looked up again
        self.hatched = False
        self._listener: Callable[[tuple[int, int, int, int]], None] | None = None
        self.lookups = 0  # tiles looked up on the GUI thread (tests)

    def set_mask(self, mask: ChunkedMask | None) -> None:
        if mask is self.mask:
            return
        if self.mask is not None and self._listener in self.mask.listeners:
            self.mask.listeners.remove(self._listener)
        self.prepareGeometryChange()
        self.mask = mask
        self.levels = list(mask.levels) if mask is not None else []
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

    # -- tiles ----------------------------------------------------------------------------
    def load_tile(self, key: Key) -> tuple[QImage | None, object]:
        mask = self.mask
        assert mask is not None
        edits = self._edits
        tile = make_tile(mask.chunk(key), self._lut, self._version)
        return tile.image, (tile, edits)

    def store_tile(self, key: Key, tile: tuple[QImage | None, object]) -> None:
        label, edits = tile[1]  # type: ignore[misc]
        assert isinstance(label, LabelTile)
        if edits != self._edits:  # the mask was edited while it was read: look it up again
            label = self._lookup(key)
        self.cache.put(key, label.image, label, label.nbytes)

    def _lookup(self, key: Key) -> LabelTile:
        assert self.mask is not None
        self.lookups += 1
        return make_tile(self.mask.chunk(key), self._lut, self._version)

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
        self._edits += 1
        y0, x0, y1, x1 = rect
        for level in range(len(self.levels)):
            s = 1 << level
            # the level's pixels whose samples lie in the rectangle (level k holds every
            # 2**k-th pixel of level 0)
            ly0, lx0 = -(-y0 // s), -(-x0 // s)
            ly1, lx1 = -(-y1 // s), -(-x1 // s)
            if ly1 <= ly0 or lx1 <= lx0:
                continue
            for ty in range(ly0 // TILE, (ly1 - 1) // TILE + 1):
                for tx in range(lx0 // TILE, (lx1 - 1) // TILE + 1):
                    self._refresh((level, ty, tx), ly0, lx0, ly1, lx1)
        self.update(QRectF(x0 - 1, y0 - 1, x1 - x0 + 2, y1 - y0 + 2))

    def _refresh(self, key: Key, ly0: int, lx0: int, ly1: int, lx1: int) -> None:
        assert self.mask is not None
        entry = self.cache.entry(key)
        if entry is None:
            return
        tile = entry[1]
        assert isinstance(tile, LabelTile)
        if tile.argb is None or tile.version != self._version:
            tile = self._lookup(key)
            self.cache.put(key, tile.image, tile, tile.nbytes)
            return
        _level, ty, tx = key
        by0, bx0 = ty * TILE, tx * TILE
        sy0, sx0 = max(ly0, by0) - by0, max(lx0, bx0) - bx0
        sy1, sx1 = min(ly1, by0 + TILE) - by0, min(lx1, bx0 + TILE) - bx0
        block = self.mask.chunk(key)
        tile.argb[sy0:sy1, sx0:sx1] = self._lut[block[sy0:sy1, sx0:sx1]]
