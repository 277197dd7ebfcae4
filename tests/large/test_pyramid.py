"""Reading pyramids: the right level for a zoom, only the tiles a region needs, 16-bit
scaled for display, and the cache of a large flat image."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import tifffile

from segstudio.core import imageio, pyramid, pyramid_cache
from segstudio.core.pyramid import level_for_zoom, open_tiff_pyramid
from tests.large.helpers import structured, write_pyramid_tiff


@pytest.fixture(scope="module")
def rgb_pyramid(tmp_path_factory):
    path = tmp_path_factory.mktemp("pyr") / "slide.tif"
    arrays = write_pyramid_tiff(path, structured(4096, 4096), levels=3)
    return path, arrays


def test_levels_and_regions_match_the_file(rgb_pyramid):
    path, arrays = rgb_pyramid
    with open_tiff_pyramid(path) as src:
        assert src.levels == [(4096, 4096), (2048, 2048), (1024, 1024)]
        assert (src.width, src.height, src.channels, src.bit_depth) == (4096, 4096, 3, 8)
        for level, arr in enumerate(arrays):
            got = src.read(level, 100, 37, 612, 300)
            np.testing.assert_array_equal(got, arr[100:612, 37:300])
        # clipped at the edge
        assert src.read(2, 1000, 1000, 2000, 2000).shape == (24, 24, 3)


@pytest.mark.parametrize("zoom, level", [(4.0, 0), (1.0, 0), (0.75, 0), (0.5, 1), (0.4, 1),
                                         (0.25, 2), (0.05, 2)])
def test_the_level_for_a_zoom(rgb_pyramid, zoom, level):
    path, _ = rgb_pyramid
    with open_tiff_pyramid(path) as src:
        assert src.level_for(zoom) == level
    assert level_for_zoom([(4096, 4096), (2048, 2048), (1024, 1024)], zoom) == level


def test_a_region_decodes_only_its_tiles(rgb_pyramid, monkeypatch):
    path, arrays = rgb_pyramid
    seen: list[tuple[int, int]] = []
    real = pyramid.decode_tile

    def counting(page, index, read):
        seen.append((int(page.imagewidth), index))
        return real(page, index, read)

    monkeypatch.setattr(pyramid, "decode_tile", counting)
    with open_tiff_pyramid(path) as src:
        got = src.read(0, 512, 768, 1024, 1280)  # 2 x 2 tiles of 256 at level 0
        np.testing.assert_array_equal(got, arrays[0][512:1024, 768:1280])
        across = 4096 // 256
        assert sorted(seen) == [(4096, 2 * across + 3), (4096, 2 * across + 4),
                                (4096, 3 * across + 3), (4096, 3 * across + 4)]
        seen.clear()
        src.read(1, 0, 0, 256, 256)  # one tile of level 1
        assert seen == [(2048, 0)]


def test_tiles_decode_without_zarr_and_a_planar_file_through_it(tmp_path, monkeypatch):
    """One tiled page per level: no zarr store is opened (its asyncio work holds the GIL
    and stalled the window's thread).  A planar (channels-first) OME-TIFF is read
    through tifffile's zarr store, with the same pixels."""
    image = structured(1024, 768)
    contig = tmp_path / "contig.tif"
    write_pyramid_tiff(contig, image, levels=2)
    planar = tmp_path / "planar.ome.tif"
    with tifffile.TiffWriter(planar, bigtiff=True) as tw:
        tw.write(np.moveaxis(image, -1, 0), tile=(256, 256), photometric="rgb",
                 planarconfig="separate", subifds=1, metadata={"axes": "CYX"})
        tw.write(np.moveaxis(image[::2, ::2], -1, 0), tile=(256, 256), photometric="rgb",
                 planarconfig="separate", subfiletype=1)
    opened: list[object] = []
    real = tifffile.TiffFile.aszarr
    monkeypatch.setattr(tifffile.TiffFile, "aszarr",
                        lambda self, *a, **k: opened.append(self) or real(self, *a, **k))
    with open_tiff_pyramid(contig) as src:
        np.testing.assert_array_equal(src.read(0, 100, 200, 900, 700), image[100:900, 200:700])
    assert opened == []
    with open_tiff_pyramid(planar) as src:
        assert src.levels == [(1024, 768), (512, 384)]
        np.testing.assert_array_equal(src.read(0, 100, 200, 900, 700), image[100:900, 200:700])
        np.testing.assert_array_equal(src.read(1, 0, 0, 512, 384), image[::2, ::2])
    assert len(opened) == 1


def test_sixteen_bit_is_scaled_like_read_image(tmp_path):
    image = structured(2048, 2048, channels=1, dtype=np.uint16)
    path = tmp_path / "s16.tif"
    arrays = write_pyramid_tiff(path, image, levels=3)
    with open_tiff_pyramid(path) as src:
        assert (src.channels, src.bit_depth) == (1, 16)
        lo, hi = imageio.display_range(arrays[2])
        got = src.read(0, 10, 10, 300, 200)
        want = imageio.scale_to_uint8(image[10:300, 10:200], lo, hi)
        np.testing.assert_array_equal(got, want)
        assert got.dtype == np.uint8 and got.max() == 255


def test_a_tiled_pyramid_skips_the_pixel_limit_a_flat_image_keeps(tmp_path, rgb_pyramid):
    path, _ = rgb_pyramid
    old = imageio.max_pixels()
    imageio.set_max_pixels(1000)
    try:
        info = imageio.read_info(path)
        assert (info.width, info.height, info.channels) == (4096, 4096, 3)
        flat = tmp_path / "flat.tif"
        tifffile.imwrite(flat, structured(64, 64))
        with pytest.raises(imageio.ImageReadError, match="above the limit"):
            imageio.read_info(flat)
    finally:
        imageio.set_max_pixels(old)


def test_the_cache_of_a_flat_image_is_built_once_and_follows_the_file(tmp_path):
    from PIL import Image

    image = structured(1500, 2100)
    src = tmp_path / "big.png"
    Image.fromarray(image).save(src)
    cache = tmp_path / "cache"
    assert pyramid_cache.needs_cache(src)
    assert pyramid_cache.open_large(src, cache) is None
    steps: list[tuple[int, int]] = []
    built = pyramid_cache.build_cache(src, cache, lambda d, t: steps.append((d, t)))
    assert steps[-1][0] == steps[-1][1] and len(steps) == steps[-1][1]
    with pyramid_cache.open_large(src, cache) as pyr:
        assert pyr.levels == pyramid.level_shapes(1500, 2100)
        np.testing.assert_array_equal(pyr.read(0, 0, 0, 1500, 2100), image)  # lossless
    # unchanged file: the same cache; changed file: a new one, the old removed
    assert pyramid_cache.cache_path(cache, src) == built
    time.sleep(0.01)
    Image.fromarray(image[:, ::-1].copy()).save(src)
    os.utime(src, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert pyramid_cache.open_large(src, cache) is None
    rebuilt = pyramid_cache.build_cache(src, cache)
    assert rebuilt != built and not built.exists()
    assert pyramid_cache.cache_files(cache) == [rebuilt]


def test_a_jpeg_preview_is_a_reduced_decode(tmp_path):
    from PIL import Image

    image = structured(4000, 3000)
    src = tmp_path / "big.jpg"
    Image.fromarray(image).save(src, quality=90)
    small = pyramid_cache.preview(src, side=500)
    assert max(small.shape[:2]) == 500 and small.shape[2] == 3
    prev = pyramid_cache.PreviewSource(src, 3000, 4000, small)
    tile = prev.read(0, 0, 0, 512, 512)
    assert tile.shape == (512, 512, 3)
