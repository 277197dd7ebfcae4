"""The pyramid cache of a large flat image (PNG, JPEG, a plain TIFF).

Such a file can only be decoded whole, so it is decoded once, on a worker, into a
tiled pyramidal TIFF under ``.segstudio/cache/pyramids/`` (zstd tiles of 512 x 512,
lossless, written atomically: temp file, fsync, rename), which
:class:`~.pyramid.TiffPyramid` then reads by tiles like any pyramid.  The cache
file's name holds the source's size and modification time, so a changed file gets
a new cache and the old one is removed when the new one is written.

Until the cache exists the viewer shows :func:`preview`: a JPEG decoded at 1/8
scale by its DCT (Pillow's draft mode, a fraction of a full decode), another
format decoded and reduced; :class:`PreviewSource` serves it as every level.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .atomic import atomic_write
from .errors import ImageReadError
from .imageio import (
    _open,
    _orient_array,
    _orientation,
    _to_array,
    check_size,
    read_image,
    stretch_to_uint8,
)
from .pyramid import (
    PyramidSource,
    level_shapes,
    open_tiff_pyramid,
    tiff_layout,
    usable_pyramid,
)

TILE = 512
PREVIEW_SIDE = 2048
Progress = Callable[[int, int], None]


def cache_dir(project_cache: Path) -> Path:
    return project_cache / "pyramids"


def _stem(image_path: Path) -> str:
    return hashlib.sha1(str(image_path.resolve()).encode("utf-8")).hexdigest()[:16]


def cache_path(project_cache: Path, image_path: Path) -> Path:
    """Where the pyramid of ``image_path`` as it is now goes (size and mtime in the name)."""
    st = image_path.stat()
    return cache_dir(project_cache) / f"{_stem(image_path)}-{st.st_size}-{st.st_mtime_ns}.tif"


def needs_cache(image_path: Path) -> bool:
    """True unless the file is a tiled TIFF whose own levels can be read in place."""
    return not usable_pyramid(tiff_layout(image_path))


def open_large(image_path: Path, project_cache: Path) -> PyramidSource | None:
    """The pyramid of a large image: the file itself, or its cache; None while the cache
    is still to be built (:func:`build_cache`)."""
    if not needs_cache(image_path):
        return open_tiff_pyramid(image_path)
    try:
        cached = cache_path(project_cache, image_path)
    except FileNotFoundError as exc:
        raise ImageReadError(f"{image_path}: file not found (was it moved or deleted?)") from exc
    if not cached.is_file():
        return None
    try:
        return open_tiff_pyramid(cached)
    except ImageReadError:
        cached.unlink(missing_ok=True)  # a broken cache is rebuilt
        return None


def _tiles(arr: np.ndarray, tile: int, progress: Callable[[], None]) -> Iterator[np.ndarray]:
    h, w = arr.shape[:2]
    for y in range(0, h, tile):
        for x in range(0, w, tile):
            progress()  # tifffile takes no more than it needs: count a tile as handed over
            yield arr[y:y + tile, x:x + tile]


def write_pyramid(fh: Any, image: np.ndarray, progress: Progress | None = None,
                  tile: int = TILE, compression: str = "zstd") -> None:
    """Write ``image`` (uint8 gray or RGB) and its halved levels as a tiled pyramidal
    BigTIFF (SubIFDs, as OME-TIFF and QuPath use) to the open file ``fh``."""
    import tifffile

    shapes = level_shapes(image.shape[0], image.shape[1])
    total = sum(-(-h // tile) * -(-w // tile) for h, w in shapes)
    done = [0]

    def step() -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0], total)

    kw: dict[str, Any] = dict(tile=(tile, tile), photometric="rgb" if image.ndim == 3
                              else "minisblack", compression=compression, predictor=True)
    if compression == "zstd":
        kw["compressionargs"] = {"level": 1}
    level = image
    with tifffile.TiffWriter(fh, bigtiff=True) as tw:
        for i in range(len(shapes)):
            if i:
                h, w = shapes[i]
                level = cv2.resize(level, (w, h), interpolation=cv2.INTER_AREA)
            extra: dict[str, Any] = {"subifds": len(shapes) - 1} if i == 0 else {"subfiletype": 1}
            tw.write(_tiles(level, tile, step), shape=level.shape, dtype=np.uint8, **kw, **extra)


def build_cache(image_path: Path, project_cache: Path,
                progress: Progress | None = None) -> Path:
    """Decode ``image_path`` whole and write its pyramid cache (atomically); older
    caches of the same file are removed.  Returns the cache file."""
    dest = cache_path(project_cache, image_path)
    layout = tiff_layout(image_path)
    if layout is not None and layout[0]:
        image = _read_tiled_whole(image_path)
    else:
        image = read_image(image_path)
    atomic_write(dest, lambda fh: write_pyramid(fh, image, progress))
    stem = _stem(image_path)
    for old in cache_dir(project_cache).glob(f"{stem}-*.tif"):
        if old != dest:
            old.unlink(missing_ok=True)
    return dest


def _read_tiled_whole(path: Path) -> np.ndarray:
    """A tiled TIFF without coarse levels, read by tiles into one array."""
    with open_tiff_pyramid(path) as src:
        check_size(path, src.width, src.height)
        return src.read(0, 0, 0, src.height, src.width)


def preview(image_path: Path, side: int = PREVIEW_SIDE) -> np.ndarray:
    """A quick, coarse decode of a large flat image, about ``side`` pixels on its long
    side (uint8 gray or RGB, oriented): JPEG DCT scaling where it applies."""
    im = _open(image_path)
    with im:
        width, height = im.size
        check_size(image_path, width, height)
        orientation = _orientation(im)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if im.format == "JPEG":
                    scale = max(1, min(8, max(width, height) // side))
                    im.draft(im.mode, (max(1, width // scale), max(1, height // scale)))
                im.load()
                arr = _to_array(im, image_path)
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise ImageReadError(f"{image_path}: cannot decode ({exc}); replace or remove it"
                                 ) from exc
    arr = stretch_to_uint8(arr)
    arr = _orient_array(arr, orientation)
    h, w = arr.shape[:2]
    f = side / max(h, w)
    if f < 1:
        arr = cv2.resize(np.ascontiguousarray(arr), (max(1, round(w * f)), max(1, round(h * f))),
                         interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(arr)


class PreviewSource(PyramidSource):
    """A coarse preview standing in for every level until the cache is built (finer
    levels are the preview enlarged)."""

    def __init__(self, path: Path, width: int, height: int, image: np.ndarray) -> None:
        super().__init__(path, level_shapes(height, width), 1 if image.ndim == 2 else 3, 8)
        self.image = image

    def _read(self, level: int, y0: int, x0: int, y1: int, x1: int) -> np.ndarray:
        lh, lw = self.levels[level]
        ph, pw = self.image.shape[:2]
        fy, fx = ph / lh, pw / lw
        sy0, sx0 = int(y0 * fy), int(x0 * fx)
        sy1, sx1 = max(sy0 + 1, min(ph, -int(-y1 * fy))), max(sx0 + 1, min(pw, -int(-x1 * fx)))
        part = np.ascontiguousarray(self.image[sy0:sy1, sx0:sx1])
        return cv2.resize(part, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)


def cache_files(project_cache: Path) -> list[Path]:
    folder = cache_dir(project_cache)
    return sorted(folder.glob("*.tif")) if folder.is_dir() else []

