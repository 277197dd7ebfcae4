"""The Qt-free helpers of the window: label-map boundaries, browsing, thumbnails, sample."""

from __future__ import annotations

import numpy as np
import pytest

from segstudio.core.browse import filter_records, natural_key, sort_records
from segstudio.core.derived_maps import boundaries, disagreement
from segstudio.core.errors import ImageReadError
from segstudio.core.project import ImageRecord
from segstudio.core.sample import draw_scene, ensure_sample
from segstudio.core.thumbs import load_thumbnail, make_thumbnail

from ..conftest import write_png


def test_boundaries_by_rect_equal_full_recompute():
    rng = np.random.default_rng(1)
    lab = (rng.integers(0, 3, (8, 10)) * 0).astype(np.uint8)
    lab[2:5, 3:7] = 4
    full = boundaries(lab, 255)
    assert full[2, 3] == 4 and full[3, 4] == 255 and full[1, 3] == 0 and full[0, 0] == 255
    assert set(np.unique(full)) == {0, 4, 255}
    lab2 = lab.copy()
    lab2[6:8, 0:2] = 9
    out = full.copy()
    boundaries(lab2, 255, (0 - 1, 6 - 1, 2 + 1, 8 + 1), out)
    assert np.array_equal(out, boundaries(lab2, 255))


def test_disagreement_ignores_unlabelled():
    mask = np.array([[1, 1, 255], [2, 2, 2]], np.uint8)
    pred = np.array([[1, 3, 3], [2, 0, 2]], np.uint8)
    assert disagreement(mask, pred, 255).tolist() == [[0, 1, 0], [0, 1, 0]]
    assert disagreement(mask, pred, None).tolist() == [[0, 1, 1], [0, 1, 0]]


def _rec(i, relpath, status="unlabelled", unc=None, iou=None, error=None):
    return ImageRecord(i, relpath, 4, 4, 3, 8, 1, status, None, False, error, None, None,
                       None, None, unc, iou)


def test_filter_and_sort_records():
    recs = [_rec(1, "b/img10.png", "predicted", 0.1, 0.9), _rec(2, "a/img2.png", "reviewed"),
            _rec(3, "img1.png", "predicted", 0.8, 0.2), _rec(4, "bad.png", error="broken")]
    assert natural_key("img2") < natural_key("img10")
    assert [r.id for r in sort_records(recs, "name")] == [2, 1, 4, 3]
    assert [r.id for r in sort_records(recs, "uncertainty")] == [3, 1, 2, 4]
    assert [r.id for r in sort_records(recs, "iou")] == [3, 1, 2, 4]
    assert [r.id for r in filter_records(recs, "predicted")] == [1, 3]
    assert [r.id for r in filter_records(recs, "unreadable")] == [4]
    assert [r.id for r in filter_records(recs, "all", "IMG1")] == [1, 3]
    assert [r.id for r in filter_records(recs, "all", "a/*")] == [2]
    with pytest.raises(ValueError):
        sort_records(recs, "size")


def test_thumbnail_cache(tmp_path):
    img = np.zeros((300, 150, 3), np.uint8)
    img[:, :75] = (255, 0, 0)
    path = write_png(tmp_path / "tall.png", img)
    thumb = make_thumbnail(path, 96)
    assert thumb.shape == (96, 48, 3)
    assert tuple(thumb[48, 10]) == (255, 0, 0) and tuple(thumb[48, 40]) == (0, 0, 0)
    cache = tmp_path / "cache"
    first = load_thumbnail(path, "tall.png", cache, 96)
    files = list(cache.rglob("*.jpg"))
    assert len(files) == 1 and first.shape == (96, 48, 3)
    files[0].write_bytes(b"broken")  # a broken cache file is remade
    again = load_thumbnail(path, "tall.png", cache, 96)
    assert again.shape == (96, 48, 3) and files[0].stat().st_size > 100
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageReadError):
        load_thumbnail(tmp_path / "empty.png", "empty.png", cache)
    # the reader's decompression-bomb guard, with its message
    from segstudio.core import imageio

    old = imageio.max_pixels()
    imageio.set_max_pixels(1000)
    try:
        with pytest.raises(ImageReadError, match=r"tall\.png: 150x300 = 45,000 pixels is above"):
            make_thumbnail(path, 96)
    finally:
        imageio.set_max_pixels(old)


def test_sample_is_drawn_once(tmp_path):
    images = ensure_sample(tmp_path)
    assert sorted(p.name for p in images.glob("*.png"))[:2] == ["street_01.png", "street_02.png"]
    img, lab = draw_scene(1000)
    assert img.shape == (320, 480, 3) and lab.shape == (320, 480)
    assert len(np.unique(lab)) >= 5
    marker = images.parent / ".sample-version"
    before = marker.stat().st_mtime_ns
    assert ensure_sample(tmp_path) == images and marker.stat().st_mtime_ns == before
    assert images.name == "street-scenes"  # names the project; "images" said nothing


def test_a_sample_made_before_keeps_its_folder(tmp_path):
    legacy = tmp_path / "sample" / "images"
    legacy.mkdir(parents=True)
    (legacy.parent / ".sample-version").write_text("1", encoding="utf-8")
    assert ensure_sample(tmp_path) == legacy  # reused as it is, never moved
    assert not (tmp_path / "sample" / "street-scenes").exists()
