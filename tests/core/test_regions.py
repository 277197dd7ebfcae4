"""Region proposals without a model: statistics per superpixel, ranking, answers."""

from __future__ import annotations

import numpy as np
import pytest

from segstudio.core.regions import (
    Region,
    candidates,
    dominant_class,
    label_region,
    rank,
    rarity,
    region_stats,
)
from segstudio.core.smart.superpixels import SuperpixelMap

U = 255  # the unlabelled value of these masks


def _grid(h: int = 8, w: int = 12, side: int = 4) -> np.ndarray:
    """Square superpixels of ``side``: ids row by row."""
    rows = np.arange(h)[:, None] // side
    cols = np.arange(w)[None, :] // side
    return (rows * (w // side) + cols).astype(np.int32)


def test_region_stats_average_each_superpixel():
    seg = _grid()  # 2 x 3 squares of 16 pixels
    score = np.zeros((8, 12), np.float32)
    score[0:4, 4:8] = 0.5
    score[0, 4] = 1.0  # one pixel more: the mean of segment 1 is (15 * 0.5 + 1) / 16
    probs = np.zeros((2, 8, 12), np.float32)
    probs[0] = 0.25
    probs[1] = 0.75
    pred = np.zeros((8, 12), np.uint8)
    pred[4:8, 8:12] = 7
    pred[4, 8] = 3  # segment 5: 15 pixels of 7, one of 3
    mask = np.full((8, 12), U, np.uint8)
    mask[0:2, 0:4] = 1  # half of segment 0 labelled
    st = region_stats(seg, score, probs, pred, mask, U)
    assert st.count == 6 and st.pixels.tolist() == [16] * 6
    assert st.score[1] == pytest.approx((15 * 0.5 + 1.0) / 16)
    assert st.score[0] == 0.0
    assert st.predicted.tolist() == [0, 0, 0, 0, 0, 7]
    assert st.labelled.tolist() == [0.5, 0, 0, 0, 0, 0]
    assert np.allclose(st.probs, [[0.25, 0.75]] * 6)
    assert st.centre[5].tolist() == [5.5, 9.5]


def test_a_wrong_uncertain_region_ranks_above_a_correct_confident_one():
    seg = _grid()
    truth = np.zeros((8, 12), np.uint8)
    truth[4:8, 4:8] = 1  # segment 4 is class 1
    probs = np.zeros((2, 8, 12), np.float32)
    probs[0], probs[1] = 0.98, 0.02  # class 0 everywhere, sure of it ...
    probs[0, 4:8, 4:8], probs[1, 4:8, 4:8] = 0.6, 0.4  # ... but not on segment 4
    pred = probs.argmax(0).astype(np.uint8)
    ent = -(probs * np.log(probs)).sum(0) / np.log(2)
    st = region_stats(seg, ent.astype(np.float32), probs, pred, None, U)
    order = rank(candidates({"a.png": st}), 6)
    assert order[0].segment == 4  # the wrong prediction first
    assert (pred[truth == 1] != 1).all() and order[0].predicted == 0
    assert all(r.score < order[0].score for r in order[1:])


def test_labelled_regions_are_not_proposed():
    seg = _grid()
    st = region_stats(seg, np.ones((8, 12), np.float32), np.ones((1, 8, 12), np.float32),
                      np.zeros((8, 12), np.uint8),
                      np.where(seg == 2, 0, U).astype(np.uint8), U)
    assert sorted(r.segment for r in candidates({"a.png": st})) == [0, 1, 3, 4, 5]


def test_rarity_lifts_regions_whose_probability_lies_on_rare_classes():
    probs = np.array([[0.5, 0.5, 0.0], [0.5, 0.0, 0.5]], np.float32)  # 2 regions, 3 classes
    f = rarity(probs, [1.0, 1.0, 4.0])  # class 2 is rare
    assert f[1] > f[0]
    assert f[0] == pytest.approx((0.5 * 0.25 + 0.5 * 0.25) ** 0.5)
    assert rarity(probs, None).tolist() == [1.0, 1.0]


def _region(rel: str, seg: int, score: float, y: float, x: float) -> Region:
    return Region(rel, seg, score, score, 0, 16, (y, x))


def test_diversity_spreads_the_queue_over_images_and_places():
    regs = [_region("a", i, 1.0 - i * 0.01, 0.0, 10.0 * i) for i in range(10)]  # neighbours
    regs += [_region("b", 0, 0.95, 0.0, 0.0), _region("a", 50, 0.5, 500.0, 500.0)]
    plain = rank(regs, 4)
    assert [(r.relpath, r.segment) for r in plain] == [("a", 0), ("a", 1), ("a", 2), ("a", 3)]
    spread = rank(regs, 4, diversity=0.5, radius=25.0)
    # a0 first; a1 and a2 lie within 25 px of it (their scores halved), a3 (30 px away)
    # does not; then a4 and a5 lie near a3, so b0 (0.95) and a6 (60 px: near none) follow
    assert [(r.relpath, r.segment) for r in spread] == [("a", 0), ("a", 3), ("b", 0),
                                                        ("a", 6)]


def test_an_answer_writes_exactly_the_superpixel():
    seg = _grid()
    spmap = SuperpixelMap(seg, seg.shape)
    mask = np.full(seg.shape, U, np.uint8)
    patch = label_region(mask, spmap, 4, 3)
    assert patch is not None
    assert np.array_equal(mask == 3, seg == 4)
    pred = np.arange(96, dtype=np.uint8).reshape(8, 12) % 5
    mask2 = np.full(seg.shape, U, np.uint8)
    label_region(mask2, spmap, 1, source=pred)  # accept the prediction there
    assert np.array_equal(mask2[seg == 1], pred[seg == 1])
    assert (mask2[seg != 1] == U).all()


def test_dominant_class_is_the_most_common_value_of_the_superpixel():
    seg = _grid()
    spmap = SuperpixelMap(seg, seg.shape)
    gt = np.zeros(seg.shape, np.uint8)
    gt[0:4, 0:4] = 2
    gt[0, 0:3] = 9  # 3 of 16 pixels another class
    assert dominant_class(gt, spmap, 0) == 2
    assert dominant_class(gt, spmap, 1) == 0
