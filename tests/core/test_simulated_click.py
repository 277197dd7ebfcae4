"""The correction-loop benchmark's annotator: one click labels one superpixel with its
dominant ground-truth class (Cai et al. 2021), and nothing else."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from segstudio.core.smart.superpixels import compute_superpixels

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_loop.py"
VOID = 11  # CamVid's unlabelled value, as the benchmark's projects have it


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_loop_under_test", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    saved, nobytecode = list(sys.path), sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # no __pycache__ in the repo's benchmarks/
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.path[:] = saved  # the benchmark puts its folder on the path; leave it as it was
        sys.dont_write_bytecode = nobytecode
    return mod


def _scene() -> np.ndarray:
    """Four flat quadrants, so SLIC's superpixels follow them."""
    img = np.zeros((64, 64, 3), np.uint8)
    img[:32, 32:] = (200, 40, 40)
    img[32:, :32] = (40, 200, 40)
    img[32:, 32:] = (40, 40, 200)
    return img


def test_a_click_labels_the_superpixel_with_its_dominant_class(bench):
    spmap = compute_superpixels(_scene(), 16)
    seg = spmap.full_labels()
    target = int(seg[40, 40])  # a superpixel of the blue quadrant
    sel = seg == target
    truth = np.zeros(seg.shape, np.uint8)
    truth[sel] = 3
    ys, xs = np.nonzero(sel)
    truth[ys[: len(ys) // 4], xs[: len(xs) // 4]] = 5  # a quarter of it another class
    assert (truth[sel] == 5).any()
    mask = np.full(seg.shape, VOID, np.uint8)

    assert bench.simulated_click(mask, truth, spmap, target, VOID) == 3

    assert (mask[sel] == 3).all()  # the whole superpixel, its minority pixels included
    assert (mask[~sel] == VOID).all()  # and nothing outside it


def test_a_click_on_a_void_superpixel_writes_nothing(bench):
    spmap = compute_superpixels(_scene(), 16)
    seg = spmap.full_labels()
    target = int(seg[8, 8])
    truth = np.zeros(seg.shape, np.uint8)
    truth[seg == target] = VOID
    truth[(seg == target) & (np.arange(64)[None, :] % 5 == 0)] = 2  # a minority of class 2
    mask = np.full(seg.shape, VOID, np.uint8)

    assert bench.simulated_click(mask, truth, spmap, target, VOID) is None
    assert (mask == VOID).all()
