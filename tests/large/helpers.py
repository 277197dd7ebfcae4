"""Small real pyramid files for the large-image tests, made with tifffile."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def structured(h: int, w: int, channels: int = 3, dtype=np.uint8, seed: int = 0) -> np.ndarray:
    """An image with structure (gradients and blocks), different at every position."""
    yy, xx = np.mgrid[0:h, 0:w]
    base = (xx * 7 + yy * 3 + (xx // 64) * 31 + (yy // 48) * 17 + seed) % 251
    if dtype == np.uint16:
        base = base.astype(np.uint32) * 200 + 1000
    planes = [np.roll(base, 13 * c, axis=1) for c in range(channels)]
    arr = np.stack(planes, -1) if channels > 1 else planes[0]
    return arr.astype(dtype)


def halve(arr: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(arr[::2, ::2])


def write_pyramid_tiff(path: Path, image: np.ndarray, levels: int = 3, tile: int = 256,
                       compression: str = "zlib") -> list[np.ndarray]:
    """A tiled pyramidal (SubIFD) TIFF of ``image`` and ``levels - 1`` halvings; returns
    the arrays of every level as written."""
    import tifffile

    arrays = [image]
    for _ in range(levels - 1):
        arrays.append(halve(arrays[-1]))
    photometric = "rgb" if image.ndim == 3 else "minisblack"
    with tifffile.TiffWriter(path, bigtiff=True) as tw:
        for i, arr in enumerate(arrays):
            extra = {"subifds": levels - 1} if i == 0 else {"subfiletype": 1}
            tw.write(arr, tile=(tile, tile), photometric=photometric, compression=compression,
                     **extra)
    return arrays
