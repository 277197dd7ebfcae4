"""Mask edit operations: exact pixels against OpenCV and brute-force references."""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np
import pytest

from segstudio.core import edits
from segstudio.core.errors import MaskError
from segstudio.core.footprint import pixel_of, stroke_footprint
from segstudio.core.grabcut import grabcut_fill, grabcut_region

IGNORE, BG = 11, 0


# -- independent references ----------------------------------------------------


def ref_line(a, b):
    """The r == 0 rule, pixel by pixel: round half up along the major axis,
    segment oriented towards increasing major coordinate."""
    (ax, ay), (bx, by) = a, b
    out = []
    if abs(bx - ax) >= abs(by - ay):
        if bx < ax:
            ax, ay, bx, by = bx, by, ax, ay
        for x in range(ax, bx + 1):
            y = ay if bx == ax else ay + ((2 * (x - ax) * (by - ay) + (bx - ax))
                                          // (2 * (bx - ax)))
            out.append((x, y))
    else:
        if by < ay:
            ax, ay, bx, by = bx, by, ax, ay
        for y in range(ay, by + 1):
            out.append((ax + ((2 * (y - ay) * (bx - ax) + (by - ay)) // (2 * (by - ay))), y))
    return out


def ref_stroke(points, r, shape):
    """Brute force over the whole canvas: pixel centres within distance r of
    any segment (integer arithmetic), plus the one-pixel line."""
    h, w = shape
    yy, xx = np.mgrid[:h, :w].astype(np.int64)
    pts = [(int(np.floor(x)), int(np.floor(y))) for x, y in points]
    out = np.zeros(shape, bool)
    segs = [(pts[0], pts[0])] + list(zip(pts[:-1], pts[1:], strict=True))
    for (ax, ay), (bx, by) in segs:
        dx, dy = bx - ax, by - ay
        l2 = dx * dx + dy * dy
        out |= (xx - ax) ** 2 + (yy - ay) ** 2 <= r * r
        out |= (xx - bx) ** 2 + (yy - by) ** 2 <= r * r
        if l2:
            t = (xx - ax) * dx + (yy - ay) * dy
            c = (xx - ax) * dy - (yy - ay) * dx
            out |= (t >= 0) & (t <= l2) & (c * c <= r * r * l2)
        for x, y in ref_line((ax, ay), (bx, by)):
            if 0 <= x < w and 0 <= y < h:
                out[y, x] = True
    return out


def ref_poly(points, shape):
    canvas = np.zeros(shape, np.uint8)
    pts = np.floor(np.asarray(points, float)).astype(np.int32)
    cv2.fillPoly(canvas, [pts], 1, lineType=cv2.LINE_8)
    return canvas.astype(bool)


def ref_colour_region(img, seed, tol):
    """Plain BFS, 4-connected, every channel within tol of the seed pixel."""
    h, w = img.shape[:2]
    x0, y0 = seed
    s = img[y0, x0].astype(int)
    ok = (np.abs(img.astype(int) - s) <= tol).all(axis=-1)
    out = np.zeros((h, w), bool)
    out[y0, x0] = True
    q = deque([(y0, x0)])
    while q:
        y, x = q.popleft()
        for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
            if 0 <= ny < h and 0 <= nx < w and ok[ny, nx] and not out[ny, nx]:
                out[ny, nx] = True
                q.append((ny, nx))
    return out


@pytest.fixture()
def labels():
    """A 96x128 label map: class blocks, a diagonal-only contact and noise."""
    rng = np.random.default_rng(5)
    m = np.full((96, 128), IGNORE, np.uint8)
    m[:48, :64] = 1
    m[48:, 64:] = 1          # touches the first block only at a corner
    m[:48, 64:] = 2
    m[48:, :64] = BG
    m[60:70, 10:20] = 3
    m[80:90, 100:120] = IGNORE
    m[5:15, 70:90] = IGNORE
    m[rng.random(m.shape) < 0.03] = 4
    m[40:48, 56:64] = 1      # clean blocks around the corner contact
    m[48:56, 64:72] = 1
    return m


def check_undo(mask, original, patch):
    """Undo restores, redo reproduces, both exactly."""
    edited = mask.copy()
    patch.revert(mask)
    assert np.array_equal(mask, original)
    patch.apply(mask)
    assert np.array_equal(mask, edited)


# -- brush ------------------------------------------------------------------------


STROKES = {
    "fast diagonal": ([(3.2, 4.7), (120.9, 90.1)], 4),
    "single point": ([(50.5, 40.5)], 7),
    "radius 0 zigzag": ([(5, 5), (60, 17), (61, 80), (2, 90), (2.9, 90.9)], 0),
    "radius 1 zigzag": ([(5, 5), (60, 17), (61, 80), (2, 90)], 1),
    "touching border": ([(-30.0, 10.0), (20.0, -5.5), (140.0, 50.0), (127.5, 95.9)], 6),
    "outside image": ([(-50, -50), (-10, -60)], 5),
    "slow drag": ([(30 + 0.3 * i, 30 + 0.2 * i) for i in range(60)], 3),
}


@pytest.mark.parametrize("name", list(STROKES))
def test_brush_stroke_equals_reference(labels, name):
    points, r = STROKES[name]
    mask = labels.copy()
    patch = edits.paint_stroke(mask, points, r, 5)
    fp = ref_stroke(points, r, mask.shape)
    assert np.array_equal(mask, np.where(fp, 5, labels))
    assert np.array_equal(stroke_footprint(points, r, mask.shape), fp)
    if name == "outside image":
        assert patch is None and not fp.any()
        return
    changed = fp & (labels != 5)
    ys, xs = np.nonzero(changed)
    assert patch.count == changed.sum()
    assert patch.bbox == (ys.min(), xs.min(), ys.max() + 1, xs.max() + 1)
    check_undo(mask, labels, patch)


@pytest.mark.parametrize("r", [0, 1, 2, 5, 25])
@pytest.mark.parametrize("centre", [(40, 30), (0, 0), (127, 95), (-3, 50), (130, 20)])
def test_click_is_exactly_the_opencv_disc(labels, r, centre):
    mask = labels.copy()
    stroke = edits.BrushStroke(mask, r, 9)
    stroke.add_point(centre[0] + 0.99, centre[1] + 0.01)
    disc = np.zeros(mask.shape, np.uint8)
    cv2.circle(disc, centre, r, 1, thickness=-1, lineType=cv2.LINE_8)
    assert np.array_equal(mask, np.where(disc > 0, 9, labels))
    patch = stroke.finish()
    if disc.any():
        check_undo(mask, labels, patch)


def test_random_strokes_equal_reference():
    rng = np.random.default_rng(11)
    base = rng.integers(0, 4, (70, 90)).astype(np.uint8)
    for _ in range(12):
        r = int(rng.integers(0, 9))
        n = int(rng.integers(1, 8))
        pts = rng.uniform(-20, 110, (n, 2))
        mask = base.copy()
        edits.paint_stroke(mask, pts, r, 7)
        assert np.array_equal(mask, np.where(ref_stroke(pts, r, mask.shape), 7, base)), (r, pts)


def test_dab_dirty_rects_cover_changes_and_skip_repeats(labels):
    mask = labels.copy()
    stroke = edits.BrushStroke(mask, 3, 6)
    rects = [stroke.add_point(10.2, 10.7), stroke.add_point(10.9, 10.1), stroke.add_point(30, 12)]
    assert rects[1] is None                    # same pixel: nothing new to paint
    assert rects[0] == (7, 7, 14, 14)
    assert rects[2] == (7, 7, 16, 34)
    assert stroke.points == [(10, 10), (30, 12)]
    union = np.zeros(mask.shape, bool)
    for y0, x0, y1, x1 in (r for r in rects if r):
        union[y0:y1, x0:x1] = True
    assert not ((mask != labels) & ~union).any()
    assert stroke.dirty == (7, 7, 16, 34)
    patch = stroke.finish()
    check_undo(mask, labels, patch)


def test_cancel_restores_the_mask(labels):
    mask = labels.copy()
    stroke = edits.BrushStroke(mask, 10, 3)
    stroke.add_points([(5, 5), (100, 80), (120, 10)])
    assert (mask != labels).any()
    rect = stroke.cancel()
    assert rect is not None and np.array_equal(mask, labels)


def test_eraser_writes_the_ignore_id_not_background(labels):
    mask = labels.copy()
    pts = [(0, 0), (127, 95)]
    stroke = edits.eraser_stroke(mask, 5, IGNORE)
    stroke.add_points(pts)
    patch = stroke.finish()
    fp = ref_stroke(pts, 5, mask.shape)
    assert np.array_equal(mask, np.where(fp, IGNORE, labels))
    assert not (mask[fp] == BG).any()
    assert patch.name == "Eraser"
    check_undo(mask, labels, patch)
    with pytest.raises(ValueError, match="unlabelled"):
        edits.eraser_stroke(mask, 5, None)


def test_accept_prediction_and_replace_class_under_the_brush(labels):
    rng = np.random.default_rng(2)
    pred = rng.integers(0, 5, labels.shape).astype(np.uint8)
    pts = [(10, 80), (60, 40), (120, 45)]
    fp = ref_stroke(pts, 8, labels.shape)

    mask = labels.copy()
    stroke = edits.accept_prediction_stroke(mask, 8, pred)
    stroke.add_points(pts)
    patch = stroke.finish()
    assert np.array_equal(mask, np.where(fp, pred, labels))
    check_undo(mask, labels, patch)

    mask = labels.copy()
    stroke = edits.replace_class_stroke(mask, 8, 1, 3)
    stroke.add_points(pts)
    patch = stroke.finish()
    assert np.array_equal(mask, np.where(fp & (labels == 1), 3, labels))
    check_undo(mask, labels, patch)

    with pytest.raises(MaskError, match="prediction"):
        edits.accept_prediction_stroke(mask, 8, pred[:10])


def test_preserve_other_classes_for_every_tool(labels):
    keep = edits.preserve_others(IGNORE, BG)
    may = np.isin(labels, [IGNORE, BG])
    pred = np.full(labels.shape, 2, np.uint8)
    img = np.zeros((*labels.shape, 3), np.uint8)   # one colour: colour fill takes all
    poly = [(5, 5), (120, 10), (100, 90), (10, 70)]
    ops = {
        "brush": (lambda m: edits.paint_stroke(m, [(0, 50), (127, 50)], 20, 3, allowed=keep),
                  ref_stroke([(0, 50), (127, 50)], 20, labels.shape), 3),
        "accept": (lambda m: edits.paint_stroke(m, [(0, 50), (127, 50)], 20, source=pred,
                                                allowed=keep),
                   ref_stroke([(0, 50), (127, 50)], 20, labels.shape), 2),
        "polygon": (lambda m: edits.fill_polygon(m, poly, 3, allowed=keep),
                    ref_poly(poly, labels.shape), 3),
        "rect": (lambda m: edits.fill_rect(m, (0, 0), (127, 95), 3, allowed=keep),
                 np.ones(labels.shape, bool), 3),
        "colour fill": (lambda m: edits.flood_fill(m, 0, 0, 3, image=img, tolerance=0,
                                                   allowed=keep),
                        np.ones(labels.shape, bool), 3),
    }
    for name, (op, region, val) in ops.items():
        mask = labels.copy()
        patch = op(mask)
        assert np.array_equal(mask, np.where(region & may, val, labels)), name
        assert np.array_equal(mask[~may], labels[~may]), name
        check_undo(mask, labels, patch)
    # a class fill seeded on a protected class changes nothing
    mask = labels.copy()
    assert edits.flood_fill(mask, 5, 5, 3, allowed=keep) is None
    assert np.array_equal(mask, labels)


# -- fills ---------------------------------------------------------------------------


def test_flood_fill_by_class_is_the_4_connected_component(labels):
    for seed in [(5, 5), (100, 80), (15, 65), (0, 95)]:
        mask = labels.copy()
        patch = edits.flood_fill(mask, seed[0] + 0.5, seed[1] + 0.5, 7)
        cls = labels[seed[1], seed[0]]
        _, comp = cv2.connectedComponents((labels == cls).astype(np.uint8), connectivity=4)
        region = comp == comp[seed[1], seed[0]]
        assert np.array_equal(mask, np.where(region, 7, labels))
        assert patch.count == region.sum()
        check_undo(mask, labels, patch)
    # the two class-1 blocks touch only diagonally: 4-connectivity keeps them apart
    mask = labels.copy()
    edits.flood_fill(mask, 60, 45, 7)
    assert (mask[40:48, 56:64] == 7).all()
    assert np.array_equal(mask[48:, 64:], labels[48:, 64:])
    mask = labels.copy()
    edits.flood_fill(mask, 60, 45, 7, connectivity=8)
    assert (mask[48:56, 64:72] == 7).all()
    # no-ops: same class, outside the image
    assert edits.flood_fill(labels.copy(), 60, 45, 1) is None
    assert edits.flood_fill(labels.copy(), -1, 1, 5) is None


def _check_colour_fills(img, base):
    img_before = img.copy()
    for seed, tol in [((10, 10), 12), ((70, 50), 25), ((40, 30), 0), ((5, 55), 40),
                      ((60, 5), (5, 30, 60))]:
        mask = base.copy()
        patch = edits.flood_fill(mask, *seed, 9, image=img, tolerance=tol)
        region = ref_colour_region(img, seed, np.asarray(tol))
        assert np.array_equal(mask, np.where(region, 9, base)), (seed, tol)
        if patch is not None:
            check_undo(mask, base, patch)
    assert np.array_equal(img, img_before)
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    mask = base.copy()
    edits.flood_fill(mask, 10, 10, 9, image=gray, tolerance=15)
    assert np.array_equal(mask, np.where(ref_colour_region(gray[..., None], (10, 10), 15), 9, base))
    with pytest.raises(MaskError, match="colour fill"):
        edits.flood_fill(mask, 1, 1, 3, image=img[:10])


def test_flood_fill_by_colour_equals_bfs_and_leaves_the_image_alone():
    rng = np.random.default_rng(8)
    yy, xx = np.mgrid[:60, :80]
    img = np.stack([yy * 3, xx * 2, (yy + xx) % 50 * 4], -1) + rng.integers(0, 12, (60, 80, 3))
    base = rng.integers(0, 4, (60, 80)).astype(np.uint8)
    _check_colour_fills(np.clip(img, 0, 255).astype(np.uint8), base)


def test_flood_fill_by_colour_on_a_camvid_image(camvid):
    from segstudio.core.imageio import read_image

    name = sorted((camvid / "train").iterdir())[0].name
    img = read_image(camvid / "train" / name)[100:160, 200:280].copy()
    base = read_image(camvid / "trainannot" / name)[100:160, 200:280].copy()
    _check_colour_fills(img, base)


POLYGONS = {
    "triangle": [(10.2, 5.9), (110.5, 30.1), (40.7, 90.3)],
    "beyond the border": [(-40, -40), (150, 20), (90, 130), (-5, 70)],
    "self-crossing lasso": [(64, 2), (100, 90), (5, 30), (123, 30), (25, 90)],
    "thin sliver": [(5, 5), (120, 6), (5, 6)],
    "two points": [(5, 5), (50, 40)],
    "many points": [(64 + 40 * np.cos(a) * (1 + 0.3 * np.sin(7 * a)), 48 + 30 * np.sin(a))
                    for a in np.linspace(0, 2 * np.pi, 400)],
}


@pytest.mark.parametrize("name", list(POLYGONS))
def test_polygon_and_lasso_equal_fillpoly(labels, name):
    pts = POLYGONS[name]
    mask = labels.copy()
    patch = edits.fill_polygon(mask, pts, 6)
    assert np.array_equal(mask, np.where(ref_poly(pts, labels.shape), 6, labels))
    check_undo(mask, labels, patch)
    mask2 = labels.copy()
    assert edits.fill_lasso(mask2, pts, 6).name == "Lasso"
    assert np.array_equal(mask2, mask)


def test_rectangle_includes_both_corners(labels):
    for a, b in [((10.5, 20.5), (40.2, 30.9)), ((40, 30), (10, 20)), ((-10, -10), (500, 5)),
                 ((7, 7), (7, 7))]:
        mask = labels.copy()
        patch = edits.fill_rect(mask, a, b, 8)
        (ax, ay), (bx, by) = pixel_of(*a), pixel_of(*b)
        ref = ref_poly([(ax, ay), (bx, ay), (bx, by), (ax, by)], labels.shape)
        assert np.array_equal(mask, np.where(ref, 8, labels))
        check_undo(mask, labels, patch)


def test_replace_class_and_accept_prediction_in_a_polygon(labels):
    poly = [(0, 0), (127, 0), (127, 60), (0, 95)]
    region = ref_poly(poly, labels.shape)
    mask = labels.copy()
    patch = edits.replace_class(mask, 1, 4, polygon=poly)
    assert np.array_equal(mask, np.where(region & (labels == 1), 4, labels))
    check_undo(mask, labels, patch)
    mask = labels.copy()
    patch = edits.replace_class(mask, IGNORE, BG)
    assert np.array_equal(mask, np.where(labels == IGNORE, BG, labels))
    check_undo(mask, labels, patch)
    pred = (np.arange(labels.size) % 5).astype(np.uint8).reshape(labels.shape)
    mask = labels.copy()
    patch = edits.accept_prediction(mask, pred, polygon=poly)
    assert np.array_equal(mask, np.where(region, pred, labels))
    check_undo(mask, labels, patch)
    mask = labels.copy()
    edits.accept_prediction(mask, pred)
    assert np.array_equal(mask, pred)


def test_paint_region_takes_a_0_1_footprint_and_clips_it(labels):
    fp = np.zeros((30, 30), np.uint8)
    fp[::2, ::3] = 1
    mask = labels.copy()
    patch = edits.paint_region(mask, -10, 110, fp, 7)
    ref = labels.copy()
    ref[0:20, 110:128][fp[10:30, 0:18] == 1] = 7
    assert np.array_equal(mask, ref)
    check_undo(mask, labels, patch)
    assert edits.paint_region(mask, 200, 200, fp, 7) is None


def test_eyedropper(labels):
    assert edits.pick_class(labels, 70.9, 10.2) == IGNORE
    assert edits.pick_class(labels, 100.9, 20.2) == labels[20, 100]
    assert edits.pick_class(labels, 65.0, 65.0) == labels[65, 65]
    assert edits.pick_class(labels, -0.1, 3) is None
    assert edits.pick_class(labels, 128, 3) is None


# -- GrabCut ---------------------------------------------------------------------------


def disc_image(h=200, w=240, centre=(130, 95), radius=55, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 120, (h, w, 3)).astype(np.uint8)
    img[::7] = (150, 90, 40)                       # stripes: a textured background
    img[:, ::11] = (40, 130, 90)
    yy, xx = np.mgrid[:h, :w]
    disc = (xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 <= radius ** 2
    img[disc] = np.clip(rng.normal(225, 12, (disc.sum(), 3)), 0, 255).astype(np.uint8)
    return img, disc


def test_grabcut_recovers_a_bright_disc():
    img, disc = disc_image()
    base = np.full(disc.shape, IGNORE, np.uint8)
    base[:20] = 2
    mask = base.copy()
    patch = grabcut_fill(mask, img, (60, 25), (205.3, 170.8), 3)
    got = mask == 3
    assert (got & disc).sum() / (got | disc).sum() > 0.95
    assert not got[:25].any() and not got[:, :60].any()     # nothing outside the rectangle
    check_undo(mask, base, patch)


def test_grabcut_with_strokes_and_shrinking():
    img, disc = disc_image(h=300, w=360, centre=(180, 150), radius=90, seed=3)
    base = np.zeros(disc.shape, np.uint8)
    mask = base.copy()
    patch = grabcut_fill(mask, img, (70, 40), (290, 260), 4, max_side=160,
                         fg_strokes=[[(150, 150), (210, 150)]], bg_strokes=[[(75, 45), (280, 45)]])
    got = mask == 4
    assert (got & disc).sum() / (got | disc).sum() > 0.95
    assert got[150, 150:211].all() and not got[45, 75:281].any()
    check_undo(mask, base, patch)
    y0, x0, region = grabcut_region(img, (70, 40), (290, 260), max_side=160)
    assert (y0, x0, region.shape) == (40, 70, (221, 221))
    again = grabcut_region(img, (70, 40), (290, 260), max_side=160)[2]
    assert np.array_equal(region, again)                   # seeded: same input, same region
    assert grabcut_region(img, (-50, -50), (-10, -10)) is None
