"""Predictor: outputs, tiling with blending, bounded-memory bands."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from segstudio.core.classes import ClassInfo, ClassTable
from segstudio.core.imageio import read_image
from segstudio.nn.inference import Predictor, _ramp, _starts
from segstudio.nn.models.segnet import IMAGENET_MEAN, IMAGENET_STD, SegNet, SegNetBasic

CLASSES = ClassTable((ClassInfo(0, "bg", (0, 0, 0)), ClassInfo(3, "road", (255, 0, 0)),
                      ClassInfo(7, "car", (0, 0, 255)),
                      ClassInfo(11, "void", (9, 9, 9), ignore=True)))


def _model(arch=SegNetBasic, seed=0, in_channels=3):
    torch.manual_seed(seed)
    return arch(3, in_channels, width=0.25).eval()


@pytest.fixture(scope="module")
def street(camvid):
    return read_image(camvid / "train" / sorted(p.name for p in (camvid / "train").iterdir())[0])


def test_labels_are_class_ids_and_uniform_scores_give_full_entropy():
    model = _model()
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.zero_()
    pred = Predictor(model, CLASSES, IMAGENET_MEAN, IMAGENET_STD, device="cpu")
    img = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    res = pred.predict(img)
    assert res.labels.dtype == np.uint8 and res.labels.shape == (37, 53)
    assert np.all(res.labels == 0)  # argmax of equal scores: first channel -> class id 0
    assert np.all(res.entropy == 255) and res.uncertainty == pytest.approx(1.0, abs=1e-6)
    with torch.no_grad():
        model.classifier.bias.copy_(torch.tensor([0.0, 0.0, 50.0]))
    res = Predictor(model, CLASSES, IMAGENET_MEAN, IMAGENET_STD, device="cpu").predict(img)
    assert np.all(res.labels == 7)  # channel 2 -> class id 7
    assert np.all(res.entropy == 0) and res.uncertainty < 1e-6


def test_entropy_map_and_uncertainty_agree(street):
    pred = Predictor(_model(SegNet), CLASSES, IMAGENET_MEAN, IMAGENET_STD, device="cpu")
    res = pred.predict(street)
    assert set(np.unique(res.labels)) <= {0, 3, 7}
    assert res.uncertainty == pytest.approx(res.entropy.mean() / 255, abs=2 / 255)
    assert 0 < res.uncertainty < 1


def test_small_and_grayscale_images():
    gray = Predictor(_model(in_channels=1), CLASSES, (0.5,), (0.25,), device="cpu")
    res = gray.predict(np.full((9, 21), 128, np.uint8))  # below the 16-pixel pooling stride
    assert res.labels.shape == (9, 21)
    rgb = Predictor(_model(), CLASSES, IMAGENET_MEAN, IMAGENET_STD, device="cpu")
    assert rgb.predict(np.zeros((40, 40), np.uint8)).labels.shape == (40, 40)  # gray -> RGB
    with pytest.raises(Exception, match="grayscale"):
        gray.predict(np.zeros((40, 40, 3), np.uint8))


def test_tile_grid_and_blending_weights():
    assert _starts(480, 256, 192) == [0, 192, 384]
    assert _starts(256, 256, 192) == [0]
    left, right = _ramp(256, 64, False, True), _ramp(96, 64, True, False)
    assert np.allclose(left[192:] + right[:64], 1.0)  # a partition of unity in the overlap
    assert np.all(left[:192] == 1) and np.all(right[64:] == 1)


def test_tiled_equals_whole_image_away_from_seams(street):
    """360x480, tiles 256 with overlap 64: tile rows [0,256) [192,360), columns [0,256)
    [192,448) [384,480).  SegNet-Basic's receptive field reaches ~98 px, so pixels covered by
    a single tile and >= 100 px from its inner edges must match the whole-image pass."""
    pred = Predictor(_model(), CLASSES, IMAGENET_MEAN, IMAGENET_STD, device="cpu", tile=256,
                     overlap=64)
    whole = pred.predict(street)
    tiled = pred.predict_tiled(street)
    assert whole.tiles == 1 and tiled.tiles == 6
    rows = np.r_[0:156, 292:360]
    cols = np.r_[0:156, 292:348]
    region = np.ix_(rows, cols)
    assert np.array_equal(tiled.labels[region], whole.labels[region])
    assert np.abs(tiled.entropy[region].astype(int) - whole.entropy[region]).max() <= 1
    # nearer the seams, context cut off by the tile edge changes the scores
    near = np.ix_(np.r_[156:192], np.r_[0:192])
    assert not np.array_equal(tiled.entropy[near], whole.entropy[near])
    assert tiled.uncertainty == pytest.approx(whole.uncertainty, abs=0.05)


def test_band_memory_budget_does_not_change_the_result(street):
    """With a budget too small for one band, each strip holds one tile column."""
    kw = dict(device="cpu", tile=128, overlap=32)
    big = Predictor(_model(), CLASSES, IMAGENET_MEAN, IMAGENET_STD, **kw)
    small = Predictor(_model(), CLASSES, IMAGENET_MEAN, IMAGENET_STD, memory_budget_mb=0, **kw)
    a, b = big.predict_tiled(street), small.predict_tiled(street)
    assert b.tiles > a.tiles  # strips recompute the column left of them
    assert np.array_equal(a.labels, b.labels)
    assert np.array_equal(a.entropy, b.entropy)
    assert a.uncertainty == pytest.approx(b.uncertainty, rel=1e-9)


def test_large_images_are_tiled_automatically():
    pred = Predictor(_model(), CLASSES, IMAGENET_MEAN, IMAGENET_STD, device="cpu", tile=128,
                     overlap=32, max_whole_pixels=100 * 100)
    img = np.random.default_rng(1).integers(0, 256, (150, 301, 3), dtype=np.uint8)
    res = pred.predict(img)
    assert res.tiles == math.ceil((150 - 32) / 96) * math.ceil((301 - 32) / 96)
    assert res.labels.shape == (150, 301)
