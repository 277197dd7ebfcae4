"""Training on large images: a sample reads one region, never the whole image.

:class:`~.data.SampleLoader` hands a large item (:func:`segstudio.core.pyramid.is_large`)
here: the sample is a ``REGION`` x ``REGION`` part of the image (at a place drawn from
the sample's seed, a central one for validation) read from its pyramid at full
resolution, with the same part of its chunked mask; augmentation then rescales and
crops inside that region as it does for a small image.  Only the TIFF tiles and mask
chunks under the region are decoded.  A flat large image gets its pyramid cache built
first, once (:mod:`segstudio.core.pyramid_cache`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ...core import pyramid_cache
from ...core.chunked_mask import ChunkStore
from ...core.errors import MaskError, SegStudioError
from ...core.pyramid import PyramidSource, is_large

if TYPE_CHECKING:
    from ..train.data import Item

U8 = npt.NDArray[np.uint8]
REGION = 2048
_OPEN = 4  # pyramids kept open per process

_sources: OrderedDict[tuple[str, str], PyramidSource] = OrderedDict()
_lock = threading.Lock()


def item_is_large(item: Item) -> bool:
    return is_large(item.width, item.height)


def project_dir_of(item: Item) -> Path:
    """The project directory (``mask_path`` is ``<project>/masks/<relpath>.png``)."""
    suffix = "masks/" + item.relpath + ".png"
    text = Path(item.mask_path).as_posix()
    if not text.endswith(suffix):
        raise SegStudioError(f"{item.mask_path}: not a project mask path")
    return Path(text[: -len(suffix)])


def store_path(item: Item) -> Path:
    return Path(item.mask_path[: -len(".png")] + ".zarr")


def source_of(item: Item) -> PyramidSource:
    """The image's pyramid (its cache built now when it has none yet)."""
    image = Path(item.image_path)
    cache = project_dir_of(item) / "cache"
    key = (item.image_path, str(item.key))
    with _lock:
        src = _sources.get(key)
        if src is not None:
            _sources.move_to_end(key)
            return src
    src = pyramid_cache.open_large(image, cache)
    if src is None:
        pyramid_cache.build_cache(image, cache)
        src = pyramid_cache.open_large(image, cache)
        if src is None:
            raise SegStudioError(f"{image}: its pyramid could not be built")
    with _lock:
        _sources[key] = src
        while len(_sources) > _OPEN:
            _sources.popitem(last=False)[1].close()
    return src


def region_of(item: Item, seed: int | None, size: int = REGION) -> tuple[int, int, int, int]:
    """(y0, x0, y1, x1) of the sample's region: random with a seed, central without."""
    h, w = min(size, item.height), min(size, item.width)
    if seed is None:
        y0, x0 = (item.height - h) // 2, (item.width - w) // 2
    else:
        rng = np.random.default_rng([seed, 0x1A46E])
        y0 = int(rng.integers(0, item.height - h + 1))
        x0 = int(rng.integers(0, item.width - w + 1))
    return y0, x0, y0 + h, x0 + w


def load_region(item: Item, seed: int | None, lut: U8,
                size: int = REGION) -> tuple[U8, U8]:
    """(image, target) of the sample's region; the target in model channels."""
    path = store_path(item)
    if not path.is_dir():
        raise MaskError(f"{path}: the mask was removed")
    store = ChunkStore(path)
    if store.shape != (item.height, item.width):
        raise MaskError(f"{path}: the mask does not fit the image; re-save the mask")
    y0, x0, y1, x1 = region_of(item, seed, size)
    image = source_of(item).read(0, y0, x0, y1, x1)
    return image, lut[read_store_region(store, y0, x0, y1, x1)]


def read_store_region(store: ChunkStore, y0: int, x0: int, y1: int, x1: int) -> U8:
    """Level 0 of a chunked mask between (y0, x0) and (y1, x1), reading only its chunks."""
    ch, cw = store.chunks[0]
    out = np.full((y1 - y0, x1 - x0), store.fill, np.uint8)
    for cy in range(y0 // ch, (y1 - 1) // ch + 1):
        for cx in range(x0 // cw, (x1 - 1) // cw + 1):
            block = store.read_chunk(0, cy, cx)
            if block is None:
                continue
            by0, bx0 = cy * ch, cx * cw
            sy0, sx0 = max(y0, by0), max(x0, bx0)
            sy1, sx1 = min(y1, by0 + block.shape[0]), min(x1, bx0 + block.shape[1])
            out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = block[sy0 - by0:sy1 - by0,
                                                              sx0 - bx0:sx1 - bx0]
    return out
