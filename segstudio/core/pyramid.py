"""Large images as resolution pyramids: a region at a level, reading only its tiles.

An image is *large* when it has more than :func:`large_pixels` pixels (default
8192 x 8192; ``SEGSTUDIO_LARGE_PIXELS`` or :func:`set_large_pixels` change it).
Large images are never decoded whole for viewing, editing or training: they are
read as a :class:`PyramidSource`, level 0 at full resolution and each next level
half as wide and high, one region at a time.

* A tiled TIFF / BigTIFF / OME-TIFF / SVS with a pyramid (``tifffile`` finds the
  levels: SubIFDs, reduced pages, SVS / NDPI series) is read in place: a region
  decodes only the TIFF tiles under it (:class:`TiffPyramid`).  A level stored as
  one tiled page (the usual case) has its tiles read with ``os.pread`` and decoded
  by the page's own codec (``TiffPage.decode``, which runs in imagecodecs without
  the GIL); any other layout goes through ``tifffile``'s zarr store
  (``TiffFile.aszarr``), whose asyncio machinery holds the GIL for most of a
  tile's time and so stalls the window's thread while the viewer's workers decode.
* Any other large image (PNG, JPEG, a plain or strip TIFF, a tiled TIFF without
  coarse levels) gets a pyramid cache built once (:mod:`.pyramid_cache`), itself a
  tiled pyramidal TIFF read the same way.

Pixels come back as the display's ``uint8``, as :func:`.imageio.read_image` gives
them: gray ``(h, w)`` or RGB ``(h, w, 3)``, alpha dropped; 16-bit and wider are
mapped linearly between the 0.1st and 99.9th percentile, here of the coarsest
level (the whole image at a glance, so one range serves every tile).

A tiled TIFF is not subject to the decompression-bomb limit (nothing decodes it
whole); a flat image still is, since its cache is built from a full decode.
"""

from __future__ import annotations

import math
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ImageReadError
from .imageio import ImageInfo, display_range, scale_to_uint8

DEFAULT_LARGE_PIXELS = 8192 * 8192
TIFF_SUFFIXES = (".tif", ".tiff", ".svs", ".ome.tif", ".ome.tiff")
COARSEST_SIDE = 2048
"""A pyramid is usable in place when its coarsest level's long side is at most this
(the whole image fits a view without decoding thousands of tiles)."""


def _env_large() -> int:
    raw = os.environ.get("SEGSTUDIO_LARGE_PIXELS", "").strip().replace("_", "")
    try:
        value = int(raw)
    except ValueError:
        return DEFAULT_LARGE_PIXELS
    return value if value > 0 else DEFAULT_LARGE_PIXELS


_large_pixels = _env_large()


def large_pixels() -> int:
    """Images with more pixels than this are read, shown and stored as pyramids."""
    return _large_pixels


def set_large_pixels(limit: int) -> None:
    global _large_pixels
    if limit <= 0:
        raise ValueError("the large-image threshold must be positive")
    _large_pixels = int(limit)


def is_large(width: int | None, height: int | None) -> bool:
    return width is not None and height is not None and width * height > _large_pixels


def level_shapes(height: int, width: int, smallest: int = 512) -> list[tuple[int, int]]:
    """(h, w) of level 0 and each halved level until the long side is <= ``smallest``
    (rounding up, as tifffile and OME-Zarr writers do)."""
    shapes = [(height, width)]
    while max(shapes[-1]) > smallest:
        h, w = shapes[-1]
        shapes.append(((h + 1) // 2, (w + 1) // 2))
    return shapes


def level_for_zoom(levels: list[tuple[int, int]], zoom: float) -> int:
    """The coarsest level that still has at least one pixel per screen pixel at
    ``zoom`` (screen pixels per full-resolution pixel)."""
    if zoom <= 0:
        return len(levels) - 1
    width = levels[0][1]
    best = 0
    for i, (_h, w) in enumerate(levels):
        if w / width >= zoom * 0.999:  # the level still holds a pixel per screen pixel
            best = i
    return best


class PyramidSource:
    """A large image as levels; subclasses implement :meth:`_read`."""

    def __init__(self, path: Path, levels: list[tuple[int, int]], channels: int,
                 bit_depth: int) -> None:
        self.path = path
        self.levels = levels
        self.channels = channels
        self.bit_depth = bit_depth

    @property
    def width(self) -> int:
        return self.levels[0][1]

    @property
    def height(self) -> int:
        return self.levels[0][0]

    @property
    def is_gray(self) -> bool:
        return self.channels == 1

    def scale(self, level: int) -> float:
        """Full-resolution pixels per pixel of ``level`` (along x)."""
        return self.width / self.levels[level][1]

    def level_for(self, zoom: float) -> int:
        return level_for_zoom(self.levels, zoom)

    def read(self, level: int, y0: int, x0: int, y1: int, x1: int) -> np.ndarray:
        """The display pixels of rows y0..y1-1, columns x0..x1-1 of ``level``
        (clipped to the level), uint8 (h, w) or (h, w, 3)."""
        if not 0 <= level < len(self.levels):
            raise ValueError(f"{self.path}: no level {level} (it has {len(self.levels)})")
        h, w = self.levels[level]
        y0, x0, y1, x1 = max(0, y0), max(0, x0), min(h, y1), min(w, x1)
        if y1 <= y0 or x1 <= x0:
            shape = (0, 0) if self.channels == 1 else (0, 0, 3)
            return np.zeros(shape, np.uint8)
        return self._read(level, y0, x0, y1, x1)

    def _read(self, level: int, y0: int, x0: int, y1: int, x1: int) -> np.ndarray:
        raise NotImplementedError

    def read_full(self, y0: int, x0: int, y1: int, x1: int) -> np.ndarray:
        """A region of level 0 (training crops, the editor's image window)."""
        return self.read(0, y0, x0, y1, x1)

    def info(self, fmt: str) -> ImageInfo:
        return ImageInfo(self.width, self.height, self.channels, self.bit_depth, 1, fmt)

    def close(self) -> None:
        pass

    def __enter__(self) -> PyramidSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- TIFF pyramids ------------------------------------------------------------------------


def is_tiff_name(path: str | os.PathLike[str]) -> bool:
    return str(path).lower().endswith(TIFF_SUFFIXES)


def _axes_plan(axes: str, shape: tuple[int, ...]) -> tuple[int, int, int | None]:
    """(Y axis, X axis, channel axis or None) of a series: S or C of 2 to 4 samples is
    the colour (alpha dropped later); every other axis is read at index 0."""
    if "Y" not in axes or "X" not in axes:
        raise ValueError(f"no Y and X axes in {axes!r}")
    channel = None
    for i, (ax, n) in enumerate(zip(axes, shape, strict=True)):
        if ax in "SC" and 1 < n <= 4 and channel is None:
            channel = i
    return axes.index("Y"), axes.index("X"), channel


def _direct_pages(series: Any) -> list[Any] | None:
    """The one tiled page of each level, when every level is such a page (Y, X and
    contiguous samples): then tiles are decoded straight from the file."""
    pages = []
    for lv in series.levels:
        page = lv.keyframe
        if (len(lv.pages) != 1 or not page.is_tiled or page.tiledepth != 1
                or page.imagedepth != 1 or lv.axes not in ("YX", "YXS")
                or (page.samplesperpixel > 1 and page.planarconfig != 1)
                or tuple(lv.shape) != tuple(page.shape)):
            return None
        pages.append(page)
    return pages


def decode_tile(page: Any, index: int, read: Any) -> np.ndarray:
    """Tile ``index`` of a tiled ``page`` as (tile length, tile width[, samples]);
    ``read(offset, count)`` gives the file's bytes.  Empty tiles are the page's nodata."""
    count = int(page.databytecounts[index])
    data = read(int(page.dataoffsets[index]), count) if count else None
    tile, _indices, shape = page.decode(data, index, jpegtables=page.jpegtables)
    if tile is None:
        tile = np.full(shape, page.nodata, page.dtype)
    tile = tile.reshape(shape[1:])  # (depth 1, length, width, samples) -> drop depth
    out: np.ndarray = tile[:, :, 0] if tile.shape[2] == 1 else tile
    return out


class TiffPyramid(PyramidSource):
    """A tiled pyramidal TIFF, read by tiles (see the module's notes)."""

    def __init__(self, path: Path) -> None:
        import tifffile

        self._tif = tifffile.TiffFile(path)
        self._fd: int | None = None
        self._io_lock = threading.Lock()
        try:
            series = self._tif.series[0]
            levels = list(series.levels)
            y_axis, x_axis, c_axis = _axes_plan(series.axes, tuple(series.shape))
            channels = 1 if c_axis is None else int(series.shape[c_axis])
            shapes = [(int(lv.shape[y_axis]), int(lv.shape[x_axis])) for lv in levels]
            self._pages = _direct_pages(series)
            arrays: list[Any] = []
            if self._pages is not None:
                self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
            else:
                arrays = self._zarr_levels(len(shapes))
                shapes = shapes[:len(arrays)]
        except Exception:
            self.close()
            raise
        self._arrays = arrays
        self._axes = (y_axis, x_axis, c_axis)
        dtype = np.dtype(series.dtype)
        bits = 8 if dtype == np.uint8 else (16 if dtype.itemsize == 2 else 32)
        super().__init__(path, shapes, 1 if channels <= 2 else 3, bits)
        self._range: tuple[float, float] | None = None
        self._lock = threading.Lock()
        self.dtype = dtype

    def _zarr_levels(self, count: int) -> list[Any]:
        import zarr

        root = zarr.open(self._tif.aszarr(series=0), mode="r")
        if isinstance(root, zarr.Array):
            return [root]
        return [root[str(i)] for i in range(count)]

    def _pread(self, offset: int, count: int) -> bytes:
        assert self._fd is not None
        if hasattr(os, "pread"):
            return os.pread(self._fd, count, offset)
        with self._io_lock:  # pragma: no cover - platforms without pread
            os.lseek(self._fd, offset, os.SEEK_SET)
            return os.read(self._fd, count)

    def _raw_direct(self, level: int, y0: int, x0: int, y1: int, x1: int) -> np.ndarray:
        assert self._pages is not None
        page = self._pages[level]
        th, tw = int(page.tilelength), int(page.tilewidth)
        across = -(-int(page.imagewidth) // tw)
        samples = int(page.samplesperpixel)
        out = np.empty((y1 - y0, x1 - x0) + ((samples,) if samples > 1 else ()), page.dtype)
        for ty in range(y0 // th, (y1 - 1) // th + 1):
            for tx in range(x0 // tw, (x1 - 1) // tw + 1):
                tile = decode_tile(page, ty * across + tx, self._pread)
                sy0, sx0 = max(y0, ty * th), max(x0, tx * tw)
                sy1, sx1 = min(y1, (ty + 1) * th), min(x1, (tx + 1) * tw)
                out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = tile[sy0 - ty * th:sy1 - ty * th,
                                                                 sx0 - tx * tw:sx1 - tx * tw]
        return out

    def _raw(self, level: int, y0: int, x0: int, y1: int, x1: int) -> np.ndarray:
        if self._pages is not None:
            arr = self._raw_direct(level, y0, x0, y1, x1)
            if arr.ndim == 3 and arr.shape[2] == 2:  # gray + alpha
                return arr[:, :, 0]
            if arr.ndim == 3 and arr.shape[2] > 3:
                return arr[:, :, :3]
            return arr
        y_axis, x_axis, c_axis = self._axes
        index: list[Any] = [0] * self._arrays[level].ndim
        index[y_axis], index[x_axis] = slice(y0, y1), slice(x0, x1)
        if c_axis is not None:
            index[c_axis] = slice(None)
        arr = np.asarray(self._arrays[level][tuple(index)])
        if c_axis is not None and c_axis < y_axis:
            arr = np.moveaxis(arr, 0, -1)  # channels first (OME planar) -> last
        if arr.ndim == 3:
            if arr.shape[2] == 2:  # gray + alpha
                arr = arr[:, :, 0]
            elif arr.shape[2] == 4:
                arr = arr[:, :, :3]
        return arr

    def display_range(self) -> tuple[float, float]:
        """The 0.1 / 99.9 percentiles of the coarsest level (for images wider than 8 bits)."""
        with self._lock:
            if self._range is None:
                lv = len(self.levels) - 1
                h, w = self.levels[lv]
                self._range = display_range(self._raw(lv, 0, 0, h, w))
            return self._range

    def _read(self, level: int, y0: int, x0: int, y1: int, x1: int) -> np.ndarray:
        arr = self._raw(level, y0, x0, y1, x1)
        if arr.dtype != np.uint8:
            lo, hi = self.display_range()
            arr = scale_to_uint8(arr, lo, hi)
        return np.ascontiguousarray(arr)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._tif.close()


def tiff_layout(path: str | os.PathLike[str]) -> tuple[bool, list[tuple[int, int]]] | None:
    """(tiled, level shapes) of a TIFF's first series, or None when tifffile cannot
    read it (then Pillow's answer stands)."""
    import tifffile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with tifffile.TiffFile(path) as tif:
                series = tif.series[0]
                axes = series.axes
                if "Y" not in axes or "X" not in axes:
                    return None
                y_axis, x_axis = axes.index("Y"), axes.index("X")
                shapes = [(int(lv.shape[y_axis]), int(lv.shape[x_axis])) for lv in series.levels]
                page = series.levels[0].keyframe
                return bool(page.is_tiled), shapes
    except Exception:  # noqa: BLE001 - not a TIFF tifffile reads: Pillow decides
        return None


def usable_pyramid(layout: tuple[bool, list[tuple[int, int]]] | None) -> bool:
    """A tiled TIFF whose levels reach down to a view-sized one: read it in place."""
    if layout is None:
        return False
    tiled, shapes = layout
    return tiled and max(shapes[-1]) <= COARSEST_SIDE


def tiff_info(path: str | os.PathLike[str]) -> ImageInfo | None:
    """The header of a tiled pyramidal TIFF (no pixel limit: it is read by tiles), or
    None for any other file."""
    layout = tiff_layout(path)
    if not usable_pyramid(layout):
        return None
    try:
        with open_tiff_pyramid(Path(path)) as src:
            return src.info("TIFF")
    except ImageReadError:
        return None


def pyramid_thumbnail(path: Path, size: int) -> np.ndarray | None:
    """A thumbnail (RGB, at most ``size`` on its long side) from the coarsest level of a
    tiled pyramidal TIFF; None for any other file."""
    import cv2

    if not is_tiff_name(path) or not usable_pyramid(tiff_layout(path)):
        return None
    with open_tiff_pyramid(path) as src:
        level = len(src.levels) - 1
        h, w = src.levels[level]
        arr = src.read(level, 0, 0, h, w)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    f = size / max(h, w)
    if f < 1:
        arr = cv2.resize(arr, (max(1, round(w * f)), max(1, round(h * f))),
                         interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(arr)


def open_tiff_pyramid(path: Path) -> TiffPyramid:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return TiffPyramid(path)
    except FileNotFoundError as exc:
        raise ImageReadError(f"{path}: file not found (was it moved or deleted?)") from exc
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        first = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        raise ImageReadError(f"{path}: cannot read this TIFF as a pyramid ({first}); "
                             "convert it to a tiled pyramidal TIFF or remove it") from exc


def tiles_for(levels: list[tuple[int, int]], level: int, rect: tuple[float, float, float, float],
              tile: int) -> list[tuple[int, int]]:
    """(ty, tx) of the ``tile``-sized tiles of ``level`` that cover ``rect`` (x0, y0, x1,
    y1 in full-resolution pixels)."""
    h, w = levels[level]
    s = levels[0][1] / w
    x0, y0, x1, y1 = rect
    tx0, ty0 = max(0, math.floor(x0 / s / tile)), max(0, math.floor(y0 / s / tile))
    tx1 = min((w - 1) // tile, math.floor((x1 / s - 1e-9) / tile))
    ty1 = min((h - 1) // tile, math.floor((y1 / s - 1e-9) / tile))
    return [(ty, tx) for ty in range(ty0, ty1 + 1) for tx in range(tx0, tx1 + 1)]
