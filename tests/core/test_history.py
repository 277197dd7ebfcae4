"""Undo/redo machinery: patches, the stroke recorder and the bounded stack."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from segstudio.core import edits
from segstudio.core.grabcut import grabcut_fill
from segstudio.core.history import Patch, StrokeRecorder, UndoStack

IGNORE, BG = 11, 0


def test_patch_from_arrays_restores_exactly_and_stores_little():
    rng = np.random.default_rng(0)
    before = rng.integers(0, 6, (50, 70)).astype(np.uint8)
    after = before.copy()
    after[10:20, 30:45] = 9                              # constant new value
    after[30, 5] = 2 if before[30, 5] != 2 else 3         # one odd pixel
    p = Patch.from_arrays("Test", before, after)
    changed = before != after
    assert p.bbox == (10, 5, 31, 45) and p.rect_xywh == (5, 10, 40, 21)
    assert p.count == changed.sum()
    assert np.array_equal(p.changed(), changed[10:31, 5:45])
    m = after.copy()
    p.revert(m)
    assert np.array_equal(m, before)
    p.apply(m)
    p.apply(m)                                           # idempotent
    assert np.array_equal(m, after)
    # bitmap of the box (1 bit/pixel) + old values (1 byte per changed pixel) + overhead
    assert p.nbytes <= (21 * 40 + 7) // 8 + p.count * 2 + 300
    assert Patch.from_arrays("None", before, before.copy()) is None
    with pytest.raises(ValueError, match="mask"):
        p.revert(np.zeros((10, 10), np.uint8))


def test_uniform_values_cost_no_value_bytes():
    before = np.full((300, 400), 1, np.uint8)
    after = before.copy()
    after[50:250, 100:300] = 4
    p = Patch.from_arrays("Fill", before, after)
    assert p.nbytes <= 300                               # whole box changed, one old and one new id
    after2 = before.copy()
    after2[::2, ::3] = 4
    p2 = Patch.from_arrays("Dots", before, after2)
    assert p2.nbytes <= (299 * 400) // 8 + 300           # bitmap only


def test_stroke_recorder_with_partial_edge_tiles():
    rng = np.random.default_rng(1)
    base = rng.integers(0, 3, (100, 150)).astype(np.uint8)  # 100, 150: not multiples of 64
    mask = base.copy()
    rec = StrokeRecorder(mask, tile=64)
    writes = [(90, 140, 100, 150), (0, 0, 5, 5), (60, 60, 70, 70), (95, 0, 100, 150),
              (-5, -5, 3, 200)]
    for k, (y0, x0, y1, x1) in enumerate(writes):
        rec.touch((y0, x0, y1, x1))
        mask[max(y0, 0):y1, max(x0, 0):x1] = 3 + k
    assert rec.dirty == (0, 0, 100, 150)
    p = rec.finish("Brush")
    changed = base != mask
    ys, xs = np.nonzero(changed)
    assert p.bbox == (ys.min(), xs.min(), ys.max() + 1, xs.max() + 1)
    assert p.count == changed.sum()
    y0, x0, y1, x1 = p.bbox
    assert np.array_equal(p.changed(), changed[y0:y1, x0:x1])
    edited = mask.copy()
    p.revert(mask)
    assert np.array_equal(mask, base)
    p.apply(mask)
    assert np.array_equal(mask, edited)
    with pytest.raises(RuntimeError):
        rec.touch((0, 0, 1, 1))


def test_stroke_recorder_returns_none_when_nothing_changed():
    mask = np.zeros((80, 80), np.uint8)
    rec = StrokeRecorder(mask)
    rec.touch((0, 0, 80, 80))
    assert rec.finish("Brush") is None


def test_long_diagonal_stroke_costs_its_area_not_its_box():
    mask = np.zeros((4096, 4096), np.uint8)
    stroke = edits.BrushStroke(mask, 10, 1)
    stroke.add_points([(5, 5), (4090, 4090)])
    p = stroke.finish()
    assert p.bbox == (0, 0, 4096, 4096)
    # the box bitmap alone would be 2 MiB; the tiles along the stroke are ~64 x 512 bytes
    assert p.nbytes < 100_000
    p.revert(mask)
    assert not mask.any()


def test_undo_stack_limit_clean_state_and_redo_truncation():
    mask = np.zeros((20, 20), np.uint8)
    stack = UndoStack(mask, limit=3)
    assert not stack.can_undo() and stack.undo() is None and stack.is_clean()
    states = [mask.copy()]
    for i in range(5):
        assert stack.push(edits.fill_rect(mask, (i, i), (i + 3, i + 3), i + 1))
        states.append(mask.copy())
        if i == 0:
            stack.set_clean()
    assert not stack.push(None)
    assert stack.count() == 3 and stack.index() == 3
    assert stack.clean_index() == -1 and not stack.is_clean()    # the clean patch was dropped
    assert stack.undo_text() == "Rectangle"
    for k in (4, 3, 2):
        p = stack.undo()
        assert p is not None and np.array_equal(mask, states[k])
    assert stack.undo() is None and np.array_equal(mask, states[2])   # oldest dropped
    stack.redo()
    stack.set_clean()
    assert stack.is_clean() and stack.clean_index() == 1
    stack.redo()
    assert not stack.is_clean()
    stack.undo()
    assert stack.is_clean()
    stack.undo()
    stack.push(edits.fill_rect(mask, (0, 0), (1, 1), 9))  # drops the redo side and clean state
    assert stack.count() == 1 and not stack.can_redo() and stack.clean_index() == -1
    stack.undo()
    assert np.array_equal(mask, states[2])
    with pytest.raises(ValueError):
        UndoStack(mask, limit=0)


def test_undo_stack_byte_budget_drops_oldest():
    mask = np.zeros((200, 200), np.uint8)
    rng = np.random.default_rng(0)
    stack = UndoStack(mask, limit=100, max_bytes=20_000)
    states, pushed = [mask.copy()], []
    for i in range(10):  # patches of different sizes, each one told apart by identity
        side = 40 + 15 * (i % 4)
        pred = mask.copy()
        pred[:side, :side] = rng.integers(0, 4, (side, side)).astype(np.uint8)
        patch = edits.accept_prediction(mask, pred)
        assert stack.push(patch)
        pushed.append(patch)
        states.append(mask.copy())
    # what must stay: the newest patches whose bytes fit the budget (at least one)
    keep, total = 0, 0
    for p in reversed(pushed):
        if keep and total + p.nbytes > 20_000:
            break
        keep, total = keep + 1, total + p.nbytes
    assert 1 < keep < 10  # the case really drops some and keeps some
    assert stack.count() == keep and stack.nbytes == total <= 20_000
    for k in range(10, 10 - keep, -1):  # the newest come back in order, the oldest are gone
        assert stack.undo() is pushed[k - 1]
        assert np.array_equal(mask, states[k - 1])
    assert stack.undo() is None and np.array_equal(mask, states[10 - keep])


def _random_op(rng, mask, image, pred, shape):
    h, w = shape
    kind = rng.choice(["brush", "eraser", "accept", "replace_stroke", "fill", "colour_fill",
                       "polygon", "lasso", "rect", "replace", "accept_poly", "grabcut"],
                      p=[0.2, 0.1, 0.06, 0.06, 0.12, 0.1, 0.08, 0.06, 0.08, 0.06, 0.05, 0.03])
    allowed = edits.preserve_others(IGNORE, BG) if rng.random() < 0.25 else None
    val = int(rng.integers(0, 12))
    pts = rng.uniform([-10, -10], [w + 10, h + 10], (int(rng.integers(1, 12)), 2))
    r = int(rng.integers(0, 15))
    if kind in ("brush", "eraser", "accept", "replace_stroke"):
        if kind == "brush":
            s = edits.BrushStroke(mask, r, val, allowed=allowed)
        elif kind == "eraser":
            s = edits.eraser_stroke(mask, r, IGNORE, allowed=allowed)
        elif kind == "accept":
            s = edits.accept_prediction_stroke(mask, r, pred, allowed=allowed)
        else:
            s = edits.replace_class_stroke(mask, r, int(rng.integers(0, 12)), val, allowed=allowed)
        s.add_points(pts)
        return s.finish()
    x, y = rng.uniform(0, w), rng.uniform(0, h)
    if kind == "fill":
        return edits.flood_fill(mask, x, y, val, allowed=allowed)
    if kind == "colour_fill":
        return edits.flood_fill(mask, x, y, val, image=image, tolerance=int(rng.integers(0, 40)),
                                allowed=allowed)
    if kind in ("polygon", "lasso"):
        return edits.fill_polygon(mask, pts, val, allowed=allowed)
    if kind == "rect":
        return edits.fill_rect(mask, pts[0], pts[-1], val, allowed=allowed)
    if kind == "replace":
        return edits.replace_class(mask, int(rng.integers(0, 12)), val,
                                   polygon=pts if len(pts) > 2 else None, allowed=allowed)
    if kind == "accept_poly":
        return edits.accept_prediction(mask, pred, polygon=pts, allowed=allowed)
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    return grabcut_fill(mask, image, (cx - 30, cy - 30), (cx + 30, cy + 30), val, iterations=2,
                        allowed=allowed)


def _run_mixed_sequence(base, image, seed):
    rng = np.random.default_rng(seed)
    pred = rng.integers(0, 12, base.shape).astype(np.uint8)
    mask = base.copy()
    stack = UndoStack(mask, limit=150)
    states = [mask.copy()]
    for _ in range(120):
        before = mask.copy()
        if stack.push(_random_op(rng, mask, image, pred, base.shape)):
            states.append(mask.copy())
        else:
            assert np.array_equal(mask, before)           # no patch means no change
    assert len(states) > 90
    for k in range(len(states) - 2, -1, -1):
        stack.undo()
        assert np.array_equal(mask, states[k])
    assert np.array_equal(mask, base) and not stack.can_undo()
    for k in range(1, len(states)):
        stack.redo()
        assert np.array_equal(mask, states[k])


def test_mixed_sequence_of_120_operations_undoes_exactly():
    rng = np.random.default_rng(7)
    image = rng.integers(0, 255, (90, 120, 3)).astype(np.uint8)
    image = np.repeat(np.repeat(image[::6, ::6], 6, 0), 6, 1)    # flat patches for colour fills
    base = np.repeat(np.repeat(rng.integers(0, 12, (9, 12)), 10, 0), 10, 1).astype(np.uint8)
    _run_mixed_sequence(base, image, seed=1)


def test_mixed_sequence_on_a_camvid_image(camvid):
    from segstudio.core.imageio import read_image

    name = sorted((camvid / "train").iterdir())[3].name
    _run_mixed_sequence(read_image(camvid / "trainannot" / name),
                        read_image(camvid / "train" / name), seed=2)


def test_100_brush_strokes_on_a_4096_mask_stay_under_50_mb():
    rng = np.random.default_rng(3)
    mask = np.zeros((4096, 4096), np.uint8)
    mask[:, 2048:] = 1
    original = mask.copy()
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        stack = UndoStack(mask, limit=100)
        changed = 0
        for i in range(100):
            steps = rng.normal(0, 60, (30, 2)).cumsum(axis=0)
            pts = steps + rng.uniform(200, 3900, 2)
            s = edits.BrushStroke(mask, 25, 2 + i % 8)
            s.add_points(pts)
            p = s.finish()
            assert p is not None and p.nbytes < 2 * p.count + 40_000      # proportional to the area
            changed += p.count
            stack.push(p)
        grown = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert stack.count() == 100 and changed > 5_000_000
    assert stack.nbytes < 50e6
    assert grown < 50e6
    while stack.undo():
        pass
    assert np.array_equal(mask, original)


def test_undo_of_a_full_image_fill_restores_exactly():
    rng = np.random.default_rng(4)
    mask = rng.integers(0, 12, (4096, 4096)).astype(np.uint8)
    original = mask.copy()
    image = np.full((4096, 4096, 3), 77, np.uint8)       # one colour: the fill takes everything
    stack = UndoStack(mask)
    stack.push(edits.flood_fill(mask, 10, 10, 12, image=image, tolerance=0))
    assert (mask == 12).all()
    stack.undo()
    assert np.array_equal(mask, original)
    stack.redo()
    assert (mask == 12).all()
