"""Graphics items that draw a large image and its label layers as tiles of a pyramid.

One item per layer covers the whole image (item coordinates are full-resolution
pixels).  Painting draws only the tiles of the exposed area, at the level the zoom
needs (one level pixel per screen pixel or more), from a cache; it never decodes
nor converts.  A tile not in the cache yet is drawn from the nearest coarser level
that is (the coarsest level is asked for first, so something is always there) and
asked for: the missing tiles of a paint go to the worker service's "tiles" lane as
one batch under the layer's key, so a newer batch (the user panned on) cancels the
older one and its tiles are never decoded.  The batch is submitted just after the
paint (a zero timer), so a worker starting to decode never competes with the rest
of the frame for the GIL.  Decoded tiles come back one by one (``ctx.item``) and
repaint their own rectangle.

* :class:`TiledImageLayer` draws a :class:`~segstudio.core.pyramid.PyramidSource`;
  its tiles are converted once, on the worker, to ``RGB32`` (what the screen
  uses, so a draw is a plain scaled blit), through the display adjustment's
  lookup table (brightness, contrast, gamma, range).  A tile keeps its decoded
  pixels, so a new adjustment redoes each tile from them when it is next drawn
  (about a millisecond a tile, on the GUI thread) without decoding again.
* :class:`~.tiled_labels.TiledLabelLayer` draws a chunked label pyramid the same
  way (its own module).

The cache keeps tiles within a byte budget, least recently drawn dropped first.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QObject, QRectF, QTimer, Signal
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem

from ...core.display import DisplayAdjust
from ...core.pyramid import PyramidSource, level_for_zoom
from ..workers import WorkerService
from .layers import wrap_array

TILE = 512
IMAGE_BUDGET = 192 << 20   # decoded image tiles kept (RGB32: 1 MiB a tile)
Key = tuple[int, int, int]  # (level, ty, tx)


class TileCache:
    """Tiles by key within a byte budget; the least recently used go first.  A tile is
    an image (None: a tile the layer draws without one) and what must stay alive
    under it."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.nbytes = 0
        self._items: OrderedDict[Key, tuple[QImage | None, object, int]] = OrderedDict()

    def get(self, key: Key) -> QImage | None:
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        return item[0]

    def entry(self, key: Key) -> tuple[QImage | None, object] | None:
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        return item[0], item[1]

    def __contains__(self, key: Key) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def put(self, key: Key, image: QImage | None, keep: object = None,
            nbytes: int | None = None) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self.nbytes -= old[2]
        size = nbytes if nbytes is not None else (image.sizeInBytes() if image is not None
                                                  else 0)
        self._items[key] = (image, keep, size)
        self.nbytes += size
        while self.nbytes > self.budget and len(self._items) > 1:
            _k, (_img, _keep, n) = self._items.popitem(last=False)
            self.nbytes -= n

    def discard(self, key: Key) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self.nbytes -= old[2]

    def clear(self) -> None:
        self._items.clear()
        self.nbytes = 0

    def cached(self) -> list[Key]:
        return list(self._items)


class _Signals(QObject):
    tile_arrived = Signal(object)  # key


class TiledLayer(QGraphicsItem):
    """Base of the tiled layers: geometry of the levels, the cache, the requests."""

    lane_name = "tiles"

    def __init__(self, z: float, workers: WorkerService, key: str,
                 parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.setZValue(z)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self.workers = workers
        self.key = key
        self.levels: list[tuple[int, int]] = []
        self.cache = TileCache(IMAGE_BUDGET)
        self._pending: set[Key] = set()
        self._generation = 0
        self.signals = _Signals()
        self.requests = 0      # batches submitted (tests, benchmarks)
        self.last_level = -1   # the level the last paint wanted
        self._asks: tuple[list[Key], tuple[float, float]] | None = None
        self._ask_timer = QTimer()
        self._ask_timer.setSingleShot(True)
        self._ask_timer.setInterval(0)
        self._ask_timer.timeout.connect(self._ask_now)

    # -- geometry ------------------------------------------------------------------------
    @property
    def size(self) -> tuple[int, int]:
        return (self.levels[0][1], self.levels[0][0]) if self.levels else (0, 0)

    def boundingRect(self) -> QRectF:
        w, h = self.size
        return QRectF(0, 0, w, h)

    def level_scale(self, level: int) -> tuple[float, float]:
        """Full-resolution pixels per pixel of ``level`` (x, y)."""
        h0, w0 = self.levels[0]
        h, w = self.levels[level]
        return w0 / w, h0 / h

    def tile_rect(self, key: Key) -> QRectF:
        level, ty, tx = key
        sx, sy = self.level_scale(level)
        h, w = self.levels[level]
        x0, y0 = tx * TILE, ty * TILE
        x1, y1 = min(w, x0 + TILE), min(h, y0 + TILE)
        return QRectF(x0 * sx, y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy)

    def tiles_in(self, level: int, rect: QRectF) -> list[Key]:
        sx, sy = self.level_scale(level)
        h, w = self.levels[level]
        tx0 = max(0, math.floor(rect.left() / sx / TILE))
        ty0 = max(0, math.floor(rect.top() / sy / TILE))
        tx1 = min((w - 1) // TILE, math.floor((rect.right() / sx - 1e-6) / TILE))
        ty1 = min((h - 1) // TILE, math.floor((rect.bottom() / sy - 1e-6) / TILE))
        return [(level, ty, tx) for ty in range(ty0, ty1 + 1) for tx in range(tx0, tx1 + 1)]

    def level_for(self, scale: float) -> int:
        return level_for_zoom(self.levels, scale)

    def coarsest(self) -> int:
        return len(self.levels) - 1

    # -- loading ------------------------------------------------------------------------
    def load_tile(self, key: Key) -> tuple[QImage | None, object]:
        """Decode one tile (on a worker): the image and what must stay alive under it."""
        raise NotImplementedError

    def store_tile(self, key: Key, tile: tuple[QImage | None, object]) -> None:
        """Put a decoded tile into the cache (on the GUI thread)."""
        self.cache.put(key, tile[0], tile[1])

    def reset(self) -> None:
        """Forget every tile and request (another image, another source)."""
        self._generation += 1
        self.cache.clear()
        self._pending.clear()
        self._asks = None
        self.workers.lane(self.lane_name).cancel(self.key)
        self.update()

    def request(self, keys: list[Key], centre: tuple[float, float] | None = None) -> None:
        """Ask for ``keys`` not cached or asked for yet; the batch replaces the
        layer's previous one (whose tiles not decoded yet are dropped)."""
        missing = [k for k in keys if k not in self.cache and k not in self._pending]
        if not missing:
            return
        # still wanted: the older batch's tiles in this paint, asked for again
        wanted = [k for k in keys if k not in self.cache]
        if centre is not None:
            cx, cy = centre
            wanted.sort(key=lambda k: (-k[0], abs(self.tile_rect(k).center().x() - cx)
                                       + abs(self.tile_rect(k).center().y() - cy)))
        self._pending = set(wanted)
        generation = self._generation
        self.requests += 1

        def job(ctx) -> None:
            for key in wanted:
                ctx.check()
                ctx.item((generation, key, self.load_tile(key)))

        def arrived(value) -> None:
            gen, key, tile = value
            self._pending.discard(key)
            if gen != self._generation:
                return
            self.store_tile(key, tile)
            self.update(self.tile_rect(key))
            self.signals.tile_arrived.emit(key)

        def finished(_cancelled: bool) -> None:
            if generation == self._generation:
                self._pending.difference_update(wanted)

        self.workers.lane(self.lane_name).submit(job, key=self.key, on_item=arrived,
                                                 on_finished=finished)

    def _ask_now(self) -> None:
        asks, self._asks = self._asks, None
        if asks is not None and self.levels:
            self.request(*asks)

    def pending(self) -> int:
        """Tiles asked for and not in yet (those a paint will ask for included)."""
        return len(self._pending) + (len(self._asks[0]) if self._asks is not None else 0)

    # -- painting -------------------------------------------------------------------------
    def visible_keys(self, rect: QRectF, scale: float) -> list[Key]:
        return self.tiles_in(self.level_for(scale), rect)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if not self.levels:
            return
        exposed = option.exposedRect.intersected(self.boundingRect())
        if exposed.isEmpty():
            return
        scale = abs(painter.worldTransform().m11())
        level = self.level_for(scale)
        self.last_level = level
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.smooth(scale))
        wanted = self.tiles_in(level, exposed)
        missing: list[Key] = []
        for key in wanted:
            if not self.draw_tile(painter, key, self.tile_rect(key)):
                missing.append(key)
                self._draw_fallback(painter, key)
        coarse = self.coarsest()
        if missing:
            # the coarsest level too, so the next frame has something to show
            asks = self.tiles_in(coarse, exposed) + missing if level != coarse else missing
            centre = exposed.center()
            if self._asks is not None:  # another exposed part of the same frame
                asks = self._asks[0] + [k for k in asks if k not in self._asks[0]]
            self._asks = (asks, (centre.x(), centre.y()))
            self._ask_timer.start()

    def smooth(self, scale: float) -> bool:
        return False

    def draw_tile(self, painter: QPainter, key: Key, target: QRectF,
                  source: QRectF | None = None) -> bool:
        """Draw the cached tile ``key`` (its ``source`` part, in tile pixels) into
        ``target``; False when it is not cached."""
        image = self.cache.get(key)
        if image is None:
            return False
        if source is None:
            painter.drawImage(target, image)
        else:
            painter.drawImage(target, image, source)
        return True

    def _draw_fallback(self, painter: QPainter, key: Key) -> None:
        """Draw the part of a coarser cached tile that covers ``key``'s area."""
        target = self.tile_rect(key)
        for level in range(key[0] + 1, len(self.levels)):
            for ck in self.tiles_in(level, target):
                if ck not in self.cache:
                    break
                crect = self.tile_rect(ck)
                part = crect.intersected(target)
                sx, sy = self.level_scale(level)
                src = QRectF((part.left() - crect.left()) / sx, (part.top() - crect.top()) / sy,
                             part.width() / sx, part.height() / sy)
                self.draw_tile(painter, ck, part, src)
            else:
                return


class TiledImageLayer(TiledLayer):
    """The photo of a large image, from its pyramid."""

    def __init__(self, z: float, workers: WorkerService) -> None:
        super().__init__(z, workers, "image-tiles")
        self.source: PyramidSource | None = None
        self._lut: np.ndarray | None = None  # the display adjustment (None: as decoded)
        self._version = 0
        self.adjusted = 0  # tiles redone for a new adjustment (tests)

    def set_source(self, source: PyramidSource | None) -> None:
        self.prepareGeometryChange()
        self.source = source
        self.levels = list(source.levels) if source is not None else []
        self.reset()

    def set_adjust(self, adjust: DisplayAdjust) -> None:
        """Show the tiles through ``adjust`` (the cached ones are redone when drawn)."""
        lut = None if adjust.identity else adjust.lut()
        if (lut is None) != (self._lut is None) or (
                lut is not None and self._lut is not None and not np.array_equal(lut, self._lut)):
            self._lut = lut
            self._version += 1
            self.update()

    def smooth(self, scale: float) -> bool:
        return scale < 1.0

    def _image(self, raw: np.ndarray, lut: np.ndarray | None) -> QImage:
        shown = raw if lut is None else lut[raw]
        image = wrap_array(np.ascontiguousarray(shown), "gray" if raw.ndim == 2 else "rgb")
        return image.convertToFormat(QImage.Format.Format_RGB32)

    def load_tile(self, key: Key) -> tuple[QImage | None, object]:
        source = self.source
        assert source is not None
        level, ty, tx = key
        raw = np.ascontiguousarray(source.read(level, ty * TILE, tx * TILE, (ty + 1) * TILE,
                                               (tx + 1) * TILE))
        lut, version = self._lut, self._version
        return self._image(raw, lut), (raw, version)

    def store_tile(self, key: Key, tile: tuple[QImage | None, object]) -> None:
        image, (raw, _version) = tile  # type: ignore[misc]
        assert image is not None
        self.cache.put(key, image, tile[1], image.sizeInBytes() + raw.nbytes)

    def draw_tile(self, painter: QPainter, key: Key, target: QRectF,
                  source: QRectF | None = None) -> bool:
        entry = self.cache.entry(key)
        if entry is None:
            return False
        raw, version = entry[1]  # type: ignore[misc]
        if version != self._version:  # a new display adjustment since it was made
            self.adjusted += 1
            image = self._image(raw, self._lut)
            self.cache.put(key, image, (raw, self._version), image.sizeInBytes() + raw.nbytes)
        return super().draw_tile(painter, key, target, source)
