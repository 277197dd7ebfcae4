"""Classical smart tools (scissors, watershed, superpixels, wand) on images with known
edges: exact regions, exact one-step undo."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from segstudio.core import edits
from segstudio.core.errors import MaskError
from segstudio.core.imageio import read_image
from segstudio.core.smart.scissors import (
    PathMap,
    join_paths,
    scissors_fill,
    scissors_region,
    straight_path,
)
from segstudio.core.smart.sides import assign_by_colour
from segstudio.core.smart.superpixels import (
    SuperpixelMap,
    SuperpixelStroke,
    compute_size,
    compute_superpixels,
    superpixel_fill,
)
from segstudio.core.smart.wand import EDGE, INSIDE, preview_array, wand_fill, wand_region
from segstudio.core.smart.watershed import (
    BACKGROUND,
    paint_labels,
    preview_labels,
    watershed_crop,
    watershed_fill,
    watershed_labels,
)

IGNORE, ROAD, CAR, TREE = 11, 3, 8, 5
H, W = 120, 160


def dark(h: int = H, w: int = W) -> np.ndarray:
    return np.full((h, w, 3), 30, np.uint8)


def rect_scene(h: int = H, w: int = W, box=(40, 30, 110, 80)):
    """A bright rectangle (x0, y0, x1, y1 end-exclusive) on a dark ground, and its pixels."""
    x0, y0, x1, y1 = box
    img = dark(h, w)
    img[y0:y1, x0:x1] = (220, 200, 180)
    want = np.zeros((h, w), bool)
    want[y0:y1, x0:x1] = True
    return img, want


def disc_scene(noise: float = 0.0, seed: int = 0):
    img = dark()
    cv2.circle(img, (80, 60), 30, (220, 200, 180), -1)
    want = img[..., 0] > 100
    if noise:
        rng = np.random.default_rng(seed)
        img = np.clip(img + rng.normal(0, noise, img.shape), 0, 255).astype(np.uint8)
    return img, want


def mixed_mask(shape=(H, W), seed: int = 3) -> np.ndarray:
    """A mask of several classes (so undo has varied values to restore)."""
    rng = np.random.default_rng(seed)
    small = rng.choice([IGNORE, ROAD, CAR, 0], size=(shape[0] // 8 + 1, shape[1] // 8 + 1))
    return np.ascontiguousarray(np.kron(small, np.ones((8, 8), np.uint8))[:shape[0], :shape[1]]
                                .astype(np.uint8))


def placed(shape, region) -> np.ndarray:
    out = np.zeros(shape, bool)
    if region is not None:
        y0, x0, sel = region
        out[y0:y0 + sel.shape[0], x0:x0 + sel.shape[1]] = sel
    return out


def outline_through(image, anchors, window=1024) -> np.ndarray:
    """The closed scissors outline: each anchor's map to the next, the last back to the first."""
    maps = [PathMap(image, a, window) for a in anchors]
    return join_paths([m.path_to(*anchors[(i + 1) % len(anchors)]) for i, m in enumerate(maps)])


def assert_undo_exact(mask_before: np.ndarray, mask_after: np.ndarray, patch) -> None:
    m = mask_after.copy()
    patch.revert(m)
    assert np.array_equal(m, mask_before)
    patch.apply(m)
    assert np.array_equal(m, mask_after)


# -- intelligent scissors --------------------------------------------------------------


def test_scissors_from_the_corners_of_a_rectangle_give_exactly_the_rectangle():
    img, want = rect_scene()
    corners = [(40, 30), (109, 30), (109, 79), (40, 79)]
    outline = outline_through(img, corners)
    # the path hugs the edges: every outline pixel is a rectangle edge pixel or its
    # outside neighbour (OpenCV's Canny keeps either pixel of the pair)
    ring = cv2.dilate(want.view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)
    inner = cv2.erode(want.view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)
    assert all(ring[y, x] and not inner[y, x] for x, y in outline)
    assert np.array_equal(placed(want.shape, scissors_region(img, outline)), want)
    # filling the outline with its own pixels (the polygon rule) takes a row of the
    # dark ground too: deciding the edge pixels by colour is what makes it exact
    raw = placed(want.shape, scissors_region(img, outline, decide_edge=False))
    assert (raw & want).sum() == want.sum() and (raw & ~want).sum() > 0


def test_scissors_round_a_noisy_disc_give_exactly_the_disc():
    img, want = disc_scene(noise=15.0)
    outline = outline_through(img, [(80, 30), (110, 60), (80, 90), (50, 60)])
    assert np.array_equal(placed(want.shape, scissors_region(img, outline)), want)


def test_scissors_window_reaches_beyond_with_a_straight_segment():
    img, want = rect_scene(300, 320, box=(40, 40, 281, 261))
    m = PathMap(img, (40.7, 40.2), window=128)
    assert m.window == (0, 0, 128, 128) and m.anchor == (40, 40)
    path = m.path_to(280.5, 40.5)
    assert tuple(path[0]) == (40, 40) and tuple(path[-1]) == (280, 40)
    # beyond the window (x >= 128) the path is the straight line along row 40
    beyond = path[path[:, 0] >= 128]
    assert len(beyond) and (beyond[:, 1] == 40).all()
    assert np.array_equal(straight_path((3, 4), (7, 6)),
                          [[3, 4], [4, 5], [5, 5], [6, 6], [7, 6]])
    outline = outline_through(img, [(40, 40), (280, 40), (280, 260), (40, 260)], window=128)
    assert np.array_equal(placed(want.shape, scissors_region(img, outline)), want)


def test_scissors_fill_paints_the_region_and_undoes_bit_exactly():
    img, want = rect_scene()
    outline = outline_through(img, [(40, 30), (109, 30), (109, 79), (40, 79)])
    mask = mixed_mask()
    before = mask.copy()
    patch = scissors_fill(mask, img, outline, TREE)
    expect = before.copy()
    expect[want] = TREE
    assert np.array_equal(mask, expect) and patch.name == "Scissors"
    assert_undo_exact(before, mask, patch)
    # preserve other classes: only unlabelled pixels change
    mask2 = before.copy()
    scissors_fill(mask2, img, outline, TREE, allowed=[IGNORE])
    assert np.array_equal(mask2, np.where(want & (before == IGNORE), TREE, before))
    assert scissors_region(img, [(5, 5), (6, 6), (5, 5)]) is None
    with pytest.raises(MaskError):
        scissors_fill(np.zeros((10, 10), np.uint8), img, outline, TREE)


def test_assign_by_colour_takes_the_side_the_pixel_resembles():
    img = np.zeros((3, 5), np.uint8)
    img[:, 3:] = 200
    img[1, 2] = 190  # the pending pixel, bright like the right side
    labels = np.array([[0, 0, 0, 1, 1]] * 3)
    pending = np.zeros((3, 5), bool)
    pending[1, 2] = True
    assert assign_by_colour(img, labels, pending)[1, 2] == 1
    img[1, 2] = 10
    assert assign_by_colour(img, labels, pending)[1, 2] == 0


# -- watershed ---------------------------------------------------------------------------


def test_watershed_with_a_stroke_inside_and_one_outside_gives_exactly_the_disc():
    img, want = disc_scene(noise=10.0, seed=1)
    strokes = [(CAR, [(70.5, 60.5), (90.2, 61.0)]), (None, [(10.5, 8.5), (150.5, 8.5)])]
    y0, x0, labels = watershed_labels(img, strokes)
    assert (y0, x0) == (0, 0) and labels.shape == (H, W)  # strokes + margin cover it all
    assert set(np.unique(labels).tolist()) == {BACKGROUND, CAR}
    assert np.array_equal(labels == CAR, want)
    mask = mixed_mask()
    before = mask.copy()
    patch = watershed_fill(mask, img, strokes)
    assert np.array_equal(mask, np.where(want, CAR, before)) and patch.name == "Watershed"
    assert_undo_exact(before, mask, patch)


def test_watershed_object_stroke_alone_uses_the_crop_frame_as_background():
    img, want = disc_scene()
    y0, x0, labels = watershed_labels(img, [(CAR, [(80.5, 60.5)])], margin=40)
    assert (y0, x0) == (60 - 2 - 40, 80 - 2 - 40)  # a radius-2 dot plus 40 px
    assert watershed_crop(img.shape, [[(80.5, 60.5)]], 2, 40) == (
        x0, y0, x0 + labels.shape[1], y0 + labels.shape[0])
    assert np.array_equal(placed(want.shape, (y0, x0, labels == CAR)), want)


def test_watershed_paints_one_region_per_class_in_one_step():
    img = dark()
    cv2.circle(img, (40, 60), 22, (220, 200, 180), -1)
    cv2.rectangle(img, (90, 30), (140, 90), (90, 200, 90), -1)
    disc = (img[..., 0] > 200)
    box = (img[..., 1] > 150) & ~disc
    strokes = [(TREE, [(35.5, 60.5), (45.5, 60.5)]), (CAR, [(110.5, 50.5), (120.5, 70.5)]),
               (None, [(2.5, 2.5), (157.5, 2.5), (157.5, 117.5), (2.5, 117.5), (2.5, 2.5)])]
    mask = mixed_mask()
    before = mask.copy()
    patch = watershed_fill(mask, img, strokes)
    expect = before.copy()
    expect[disc] = TREE
    expect[box] = CAR
    assert np.array_equal(mask, expect)
    assert_undo_exact(before, mask, patch)
    # allowed: only unlabelled pixels change
    mask3 = before.copy()
    y0, x0, labels = watershed_labels(img, strokes)
    paint_labels(mask3, y0, x0, labels, allowed=[IGNORE])
    assert np.array_equal(mask3, np.where(before == IGNORE, expect, before))


def test_watershed_needs_two_kinds_of_marks():
    img, _ = disc_scene()
    whole = [(CAR, [(0.5, 0.5), (159.5, 119.5)])]  # the crop is the whole image: no frame
    with pytest.raises(MaskError, match="two kinds of marks"):
        watershed_labels(img, whole)
    assert watershed_labels(img, []) is None
    assert watershed_labels(img, [(CAR, [])]) is None


# -- superpixels ---------------------------------------------------------------------


def test_superpixel_click_picks_the_superpixel_containing_the_point():
    img, _ = disc_scene(noise=8.0)
    sp = compute_superpixels(img, 16)
    assert not sp.downscaled and sp.count > 20
    full = sp.full_labels()
    assert np.array_equal(full, sp.labels)
    for x, y in ((80.5, 60.5), (3.2, 117.9), (159.9, 0.1), (110.4, 60.6)):
        label = sp.label_at(x, y)
        assert label == full[int(y), int(x)]
        assert np.array_equal(placed(full.shape, sp.region(label)), full == label)
    assert sp.label_at(-0.5, 3) is None and sp.label_at(160.0, 3) is None
    # no superpixel crosses the disc's sharp edge (with the disc's noise free ground)
    clean, want = disc_scene()
    lab = compute_superpixels(clean, 16).full_labels()
    for label in np.unique(lab):
        inside = want[lab == label]
        assert inside.all() or not inside.any()


def test_superpixels_on_a_downscaled_copy_map_back_by_nearest_pixel():
    img, _ = disc_scene(noise=8.0)
    sp = compute_superpixels(img, 12, max_side=64)
    assert sp.downscaled and sp.labels.shape == compute_size(img.shape, 64) == (48, 64)
    iy = np.arange(H) * 48 // H
    ix = np.arange(W) * 64 // W
    full = sp.full_labels()
    assert np.array_equal(full, sp.labels[iy][:, ix])
    for label in (0, sp.count // 2, sp.count - 1):
        assert np.array_equal(placed(full.shape, sp.region(label)), full == label)
    b = sp.boundaries()
    assert b.shape == (48, 64) and b.dtype == np.uint8 and 0 < b.sum() < b.size


def test_superpixel_drag_adds_each_once_removal_takes_only_the_class_and_undo_is_exact():
    img, _ = disc_scene(noise=8.0)
    sp = compute_superpixels(img, 16)
    full = sp.full_labels()
    mask = mixed_mask()
    before = mask.copy()
    pts = [(20.5, 20.5), (21.5, 20.5), (60.5, 60.5), (100.5, 90.5)]
    patch = superpixel_fill(mask, sp, pts, TREE)
    picked = np.isin(full, [full[int(y), int(x)] for x, y in pts])
    assert np.array_equal(mask, np.where(picked, TREE, before))
    assert_undo_exact(before, mask, patch)
    # remove: the superpixel's pixels of the active class go back to unlabelled
    one = full == full[60, 60]
    painted = mask.copy()
    stroke = SuperpixelStroke(mask, sp, IGNORE, allowed=[TREE], name="Superpixels")
    rect = stroke.add_point(60.5, 60.5)
    assert stroke.add_point(60.7, 60.2) is None  # same superpixel: once per drag
    removed = stroke.finish()
    y0, x0, y1, x1 = rect
    assert one[y0:y1, x0:x1].sum() == one.sum()
    assert np.array_equal(mask, np.where(one & (painted == TREE), IGNORE, painted))
    assert_undo_exact(painted, mask, removed)
    # cancel restores the mask
    state = mask.copy()
    stroke = SuperpixelStroke(mask, sp, CAR)
    assert stroke.add_point(100.5, 30.5) is not None
    assert not np.array_equal(mask, state)
    stroke.cancel()
    assert np.array_equal(mask, state)
    with pytest.raises(MaskError):
        SuperpixelStroke(np.zeros((5, 5), np.uint8), sp, CAR)


def test_superpixel_map_of_given_labels():
    labels = np.array([[0, 0, 1], [2, 2, 1]], np.int32)
    sp = SuperpixelMap(labels, (4, 6))
    assert np.array_equal(sp.full_labels(), np.kron(labels, np.ones((2, 2), np.int32)))
    y0, x0, sel = sp.region(1)
    assert (y0, x0) == (0, 4) and sel.shape == (4, 2) and sel.all()
    assert sp.region(7) is None


# -- magic wand -----------------------------------------------------------------------


def test_wand_region_is_the_colour_flood_region_and_fills_like_the_fill_tool(camvid):
    name = sorted((camvid / "train").iterdir())[0].name
    img = read_image(camvid / "train" / name)
    base = read_image(camvid / "trainannot" / name).astype(np.uint8)
    for x, y, tol in ((240.5, 100.5, 12), (20.5, 300.5, 5), (400.2, 200.9, 0)):
        got = wand_region(img, x, y, tol)
        ref = edits.flood_region(base, x, y, image=img, tolerance=tol)
        assert got[:2] == ref[:2] and np.array_equal(got[2], ref[2])
        mask, ref_mask = base.copy(), base.copy()
        patch = wand_fill(mask, got, ROAD, allowed=[IGNORE, 0])
        edits.flood_fill(ref_mask, x, y, ROAD, image=img, tolerance=tol, allowed=[IGNORE, 0])
        assert np.array_equal(mask, ref_mask)
        if patch is not None:
            assert patch.name == "Wand"
            assert_undo_exact(base, mask, patch)
    assert wand_region(img, -1, 5, 10) is None


def test_wand_preview_marks_the_inside_and_the_edge():
    sel = np.zeros((5, 6), bool)
    sel[1:4, 1:5] = True
    p = preview_array(sel)
    want = np.zeros((5, 6), np.uint8)
    want[1:4, 1:5] = EDGE
    want[2, 2:4] = INSIDE
    assert np.array_equal(p, want)
    full = np.ones((3, 3), bool)  # the box border counts as outside
    assert np.array_equal(preview_array(full), [[2, 2, 2], [2, 1, 2], [2, 2, 2]])


def test_watershed_preview_numbers_the_classes_and_marks_every_region_edge():
    b = BACKGROUND
    labels = np.array([[b, b, b, b, b, b],
                       [b, 7, 7, 7, 2, 2],
                       [b, 7, 7, 7, 2, 2],
                       [b, 7, 7, 7, 2, 2],
                       [b, b, b, b, b, b]], np.int16)
    shown, ids = preview_labels(labels)
    assert ids == [2, 7]                 # class 2 is region 1, class 7 region 2, edge 3
    want = np.array([[0, 0, 0, 0, 0, 0],
                     [0, 3, 3, 3, 3, 3],
                     [0, 3, 2, 3, 3, 3],
                     [0, 3, 3, 3, 3, 3],
                     [0, 0, 0, 0, 0, 0]], np.uint8)
    assert np.array_equal(shown, want)
    # one region is the wand's preview: 1 inside, 2 on the edge (the box border outside)
    sel = np.zeros((5, 6), bool)
    sel[1:4, 1:5] = True
    assert np.array_equal(preview_labels(np.where(sel, 4, b))[0], preview_array(sel))
    assert preview_labels(np.full((2, 2), b, np.int16))[1] == []
