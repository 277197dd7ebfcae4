"""grabcut_refine: a model's rough probabilities snap to the image's edges; confident
pixels and the clicks' disks are kept; huge crops are shrunk and still exact."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from segstudio.core.errors import MaskError
from segstudio.core.grabcut import grabcut_refine


def _scene(h=90, w=120, noise=6, seed=0):
    """A textured background with a rectangle of another colour: (image, object)."""
    rng = np.random.default_rng(seed)
    img = np.empty((h, w, 3), np.uint8)
    img[:] = (40, 120, 60)
    obj = np.zeros((h, w), bool)
    obj[25:65, 30:95] = True
    img[obj] = (220, 60, 50)
    img = np.clip(img.astype(np.int16) + rng.integers(-noise, noise + 1, img.shape), 0, 255)
    return img.astype(np.uint8), obj


def _rough(obj, shift=(2, -3), blur=21):
    """A model's guess: the object moved by a few pixels and blurred, so that it is
    unsure along the true edges and confident (and right) away from them."""
    moved = np.roll(obj, shift, axis=(0, 1)).astype(np.float32)
    return cv2.GaussianBlur(moved, (blur, blur), 0)


def test_rough_probabilities_snap_to_the_object_edges():
    img, obj = _scene()
    prob = _rough(obj)
    assert ((prob >= 0.5) != obj).sum() > 300          # the guess is off by hundreds
    out = grabcut_refine(img, prob)
    assert out.dtype == bool and out.shape == obj.shape
    assert np.array_equal(out, obj)


def test_clicks_win_and_confident_pixels_stay():
    img, obj = _scene()
    prob = _rough(obj)
    out = grabcut_refine(img, prob, fg_points=[(10, 10)], bg_points=[(60, 45)], radius=3)
    yy, xx = np.ogrid[:obj.shape[0], :obj.shape[1]]
    fg_disk = (xx - 10) ** 2 + (yy - 10) ** 2 <= 9
    bg_disk = (xx - 60) ** 2 + (yy - 45) ** 2 <= 9
    assert out[fg_disk].all() and not out[bg_disk].any()
    rest = ~(fg_disk | bg_disk)
    assert np.array_equal(out[rest], obj[rest])


def test_large_crops_are_shrunk_and_still_follow_the_edges():
    img, obj = _scene()
    big = cv2.resize(img, (960, 720), interpolation=cv2.INTER_NEAREST)
    big_obj = cv2.resize(obj.astype(np.uint8), (960, 720),
                         interpolation=cv2.INTER_NEAREST).astype(bool)
    prob = _rough(big_obj, shift=(16, -24), blur=161)
    out = grabcut_refine(big, prob, max_side=240)
    # shrunk 4x for the optimisation: at most the pixels along the edge differ
    edge = cv2.morphologyEx(big_obj.astype(np.uint8), cv2.MORPH_GRADIENT,
                            np.ones((9, 9), np.uint8)).astype(bool)
    assert not (out != big_obj)[~edge].any()


def test_nothing_to_optimise_gives_the_threshold():
    img, obj = _scene()
    prob = np.where(obj, 0.99, 0.01).astype(np.float32)  # all confident
    assert np.array_equal(grabcut_refine(img, prob), obj)
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    assert np.array_equal(grabcut_refine(gray, _rough(obj)), obj)
    with pytest.raises(MaskError, match="probabilities"):
        grabcut_refine(img, prob[:10])
