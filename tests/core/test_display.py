"""Display adjustment (brightness, contrast, gamma, range, auto-contrast): exact values."""

from __future__ import annotations

import numpy as np
import pytest

from segstudio.core.display import DisplayAdjust, auto_range, range_of_16bit


def test_identity_is_the_image_and_the_source_is_not_changed():
    img = np.arange(256, dtype=np.uint8).reshape(16, 16)
    adj = DisplayAdjust()
    assert adj.identity
    out = adj.apply(img)
    assert np.array_equal(out, img) and out is not img
    rgb = np.dstack([img, 255 - img, img // 2])
    before = rgb.copy()
    DisplayAdjust(brightness=0.2).apply(rgb)
    assert np.array_equal(rgb, before)


def test_lut_values_by_the_formula():
    lut = DisplayAdjust(brightness=0.1).lut()
    assert lut[0] == 26 and lut[100] == 126 and lut[240] == 255   # +0.1 * 255 = 25.5
    lut = DisplayAdjust(contrast=2.0).lut()
    assert lut[64] == 0 and lut[128] == 128 and lut[192] == 255  # 128.5 rounds to even
    assert lut[96] == round(((96 / 255 - 0.5) * 2 + 0.5) * 255)
    lut = DisplayAdjust(gamma=2.0).lut()
    assert lut[64] == round((64 / 255) ** 0.5 * 255) == 128
    lut = DisplayAdjust(low=50, high=150).lut()
    assert lut[50] == 0 and lut[100] == 128 and lut[150] == 255 and lut[10] == 0
    assert lut[75] == round(25 / 100 * 255)


def test_auto_range_uses_percentiles_of_the_image():
    rng = np.random.default_rng(3)
    dark = rng.integers(10, 61, size=(120, 160, 3)).astype(np.uint8)  # a dark frame
    lo, hi = auto_range(dark)
    want = np.percentile(dark.reshape(-1), (0.5, 99.5))
    assert (lo, hi) == (float(want[0]), float(want[1]))
    shown = DisplayAdjust().with_range(lo, hi).apply(dark)
    assert shown.min() == 0 and shown.max() == 255
    flat = np.full((5, 5), 77, np.uint8)
    assert auto_range(flat) == (77.0, 78.0)


def test_dict_round_trip_and_bad_values_fall_back():
    adj = DisplayAdjust(0.25, 1.5, 0.8, 12.0, 200.0)
    assert DisplayAdjust.from_dict(adj.as_dict()) == adj
    bad = DisplayAdjust.from_dict({"brightness": "x", "gamma": float("nan"), "low": 300})
    assert bad.brightness == 0.0 and bad.gamma == 1.0 and bad.low == 254.0 and bad.high == 255.0
    assert DisplayAdjust.from_dict(None) == DisplayAdjust()


def test_16bit_display_range():
    values = np.array([[0, 1000, 2000], [3000, 4095, 65535]], np.uint16)
    out = range_of_16bit(values, 1000, 3000)
    assert out.tolist() == [[0, 0, 128], [255, 255, 255]]
    with pytest.raises(ValueError):
        range_of_16bit(values, 5, 5)
    with pytest.raises(ValueError):
        DisplayAdjust().apply(values)
