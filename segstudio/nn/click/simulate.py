"""Clicks for interactive segmentation (RITM, Sofiiuk et al. 2022; DEXTR-style crops).

Free of torch and Qt: numpy and OpenCV only.

* Objects: the connected regions (8-connected) of each class of a label map, without
  the ignore id and without regions below ``min_area`` pixels (:func:`find_objects`).
* Click encoding: a positive and a negative map holding the clicks' clipped distance
  maps (255 at a click, falling linearly to 0 at a quarter of the model's input size;
  Xu et al. 2016 and DEXTR use such ramps), and the previous mask (0 / 255) -- three
  extra input channels.  A ramp rather than RITM's small disks: every pixel within
  reach knows how far the click is from the first layer on, so a model trained from
  scratch on a CPU learns from it sooner (disks are kept as :func:`draw_disks`); a
  click still only changes the pixels near it.
* Click simulation (RITM's protocol): the next click lies in the largest error region
  (false negative: a positive click; false positive: a negative one), at its pixel
  farthest from the region's boundary (``cv2.distanceTransform``; the image border
  counts as boundary).  The first click is the same rule with an empty prediction:
  the object's deepest interior point.
* Zoom-in (RITM): the model sees a square box around the clicks and the previous mask
  (with a margin, at least a minimum size), resized to its input size; a lone first
  click gets a window of a fixed share of the image's short side.  The box's result is
  pasted back into the previous mask.

Clicks are ``(x, y)`` integer pixel positions (column, row).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

CLICK_CHANNELS = 3  # positive clicks, negative clicks, previous mask
MIN_AREA = 64  # objects smaller than this many pixels are not clicked (nor trained on)
FIRST_WINDOW = 0.4  # a lone first click: a window of this share of the image's short side
EXPAND = 1.4  # the zoom-in box: the clicks' and previous mask's extent times this
MIN_BOX = 0.15  # the zoom-in box is at least this share of the image's short side

Click = tuple[int, int]  # (x, y)
Box = tuple[int, int, int, int]  # (y0, x0, y1, x1), end exclusive
Mask = npt.NDArray[np.bool_]
MaskLike = npt.NDArray[np.bool_ | np.integer[Any]]  # a mask as bool or 0 / 1


@dataclass(frozen=True)
class ClickObject:
    """One connected region of one class."""

    cls: int
    mask: Mask  # (H, W)
    area: int
    bbox: Box


def find_objects(labels: npt.NDArray[np.integer[Any]], ignore: Sequence[int] = (255,),
                 min_area: int = MIN_AREA, classes: Sequence[int] | None = None
                 ) -> list[ClickObject]:
    """The 8-connected regions of each class of ``labels`` (ids in ``ignore`` are never
    objects; with ``classes`` only those ids) of at least ``min_area`` pixels, by class
    id then in OpenCV's component order (raster order of each region's first pixel)."""
    out: list[ClickObject] = []
    ids = np.unique(labels)
    skip = {int(i) for i in ignore}
    for c in ids.tolist():
        if c in skip or (classes is not None and c not in classes):
            continue
        n, comp, stats, _ = cv2.connectedComponentsWithStats((labels == c).astype(np.uint8),
                                                             connectivity=8)
        for k in range(1, n):
            x, y, w, h, area = (int(v) for v in stats[k])
            if area < min_area:
                continue
            out.append(ClickObject(int(c), comp == k, area, (y, x, y + h, x + w)))
    return out


# -- encoding -------------------------------------------------------------------------

def draw_disks(plane: npt.NDArray[np.uint8], centres: Sequence[tuple[float, float]], radius: float,
               value: int = 1) -> None:
    """Set to ``value`` the pixels of ``plane`` whose centre (integer (x, y)) lies within
    ``radius`` of a centre ``(x, y)`` (float allowed: a click mapped into a zoomed frame)."""
    h, w = plane.shape[:2]
    r2 = radius * radius
    for cx, cy in centres:
        x0, x1 = max(int(np.floor(cx - radius)), 0), min(int(np.ceil(cx + radius)) + 1, w)
        y0, y1 = max(int(np.floor(cy - radius)), 0), min(int(np.ceil(cy + radius)) + 1, h)
        if x1 <= x0 or y1 <= y0:
            continue
        yy, xx = np.ogrid[y0:y1, x0:x1]
        disk = (xx - cx) ** 2 + (yy - cy) ** 2 <= r2
        plane[y0:y1, x0:x1][disk] = value


def click_maps(shape: tuple[int, int], pos: Sequence[tuple[float, float]],
               neg: Sequence[tuple[float, float]], radius: float) -> npt.NDArray[np.uint8]:
    """(H, W, 2) uint8: disks (1) of ``radius`` round the positive and negative clicks."""
    maps = np.zeros((shape[0], shape[1], 2), np.uint8)
    draw_disks(maps[:, :, 0], pos, radius)
    draw_disks(maps[:, :, 1], neg, radius)
    return maps


def disk_radius(size: int) -> float:
    """The click disks' radius in a model frame of ``size`` pixels (5 at 160)."""
    return max(3.0, size / 32.0)


def click_reach(size: int) -> float:
    """How far a click's distance map reaches in a model frame of ``size`` (40 at 160)."""
    return size / 4.0


def draw_cones(plane: npt.NDArray[np.uint8], centres: Sequence[tuple[float, float]],
               reach: float) -> None:
    """The clipped distance map of the clicks, in place: each pixel holds
    ``round(255 * (1 - d / reach))`` for its distance ``d`` to the nearest centre
    (integer pixel centres; 0 beyond ``reach``; the larger value where maps meet)."""
    h, w = plane.shape[:2]
    for cx, cy in centres:
        x0, x1 = max(int(np.floor(cx - reach)), 0), min(int(np.ceil(cx + reach)) + 1, w)
        y0, y1 = max(int(np.floor(cy - reach)), 0), min(int(np.ceil(cy + reach)) + 1, h)
        if x1 <= x0 or y1 <= y0:
            continue
        yy, xx = np.ogrid[y0:y1, x0:x1]
        d = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
        v = np.rint(255.0 * np.clip(1.0 - d / reach, 0.0, 1.0)).astype(np.uint8)
        np.maximum(plane[y0:y1, x0:x1], v, out=plane[y0:y1, x0:x1])


# -- simulation -----------------------------------------------------------------------

def deepest_point(region: Mask) -> tuple[int, int, float]:
    """(x, y, distance) of the pixel of bool ``region`` farthest from its boundary (the
    image border counts as boundary); the first such pixel in raster order."""
    padded = np.pad(region.astype(np.uint8), 1)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
    idx = int(np.argmax(dist))
    y, x = divmod(idx, region.shape[1])
    return x, y, float(dist[y, x])


def _largest_component(region: Mask) -> tuple[Mask | None, int]:
    n, comp, stats, _ = cv2.connectedComponentsWithStats(region.astype(np.uint8), connectivity=8)
    if n <= 1:
        return None, 0
    k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return comp == k, int(stats[k, cv2.CC_STAT_AREA])


def error_click(gt: MaskLike, pred: MaskLike, valid: Mask | None = None
                ) -> tuple[int, int, bool] | None:
    """The next simulated click ``(x, y, positive)``: at the deepest point of the largest
    error region (8-connected; a false-negative region gives a positive click, a
    false-positive one a negative click; on a tie in area the false negative), or None
    when the prediction has no error on the ``valid`` pixels."""
    g, p = gt.astype(bool), pred.astype(bool)
    fn, fp = g & ~p, p & ~g
    if valid is not None:
        fn &= valid
        fp &= valid
    fn_reg, fn_area = _largest_component(fn)
    fp_reg, fp_area = _largest_component(fp)
    if fn_reg is None and fp_reg is None:
        return None
    positive = fn_area >= fp_area
    region = fn_reg if positive else fp_reg
    assert region is not None  # the larger region (a missing one has area 0)
    x, y, _ = deepest_point(region)
    return x, y, positive


def first_click(gt: MaskLike) -> tuple[int, int]:
    """The object's interior point farthest from its boundary."""
    x, y, _ = deepest_point(gt.astype(bool))
    return x, y


def iou(gt: MaskLike, pred: MaskLike, valid: Mask | None = None) -> float:
    g, p = gt.astype(bool), pred.astype(bool)
    if valid is not None:
        g, p = g & valid, p & valid
    union = int((g | p).sum())
    return 1.0 if union == 0 else int((g & p).sum()) / union


# (positive clicks, negative clicks, previous mask or None) -> the mask after them
Predict = Callable[[list[Click], list[Click], Mask | None], MaskLike]


def simulate(predict: Predict, gt: MaskLike, valid: Mask | None = None,
             max_clicks: int = 20, stop_iou: float | None = None,
             min_clicks: int = 0) -> list[float]:
    """A simulated user clicking the largest error each time (the NoC protocol).
    ``predict(pos, neg, prev)`` returns the bool mask after the clicks so far; returns
    the IoU after each click (stopping early once ``stop_iou`` is reached after at least
    ``min_clicks`` clicks)."""
    pos: list[Click] = []
    neg: list[Click] = []
    prev: Mask | None = None
    ious: list[float] = []
    pred = np.zeros(gt.shape, bool)
    for _ in range(max_clicks):
        c = error_click(gt, pred, valid)
        if c is None:  # nothing left to correct: the IoU stays
            ious.append(ious[-1] if ious else 1.0)
            continue
        (pos if c[2] else neg).append((c[0], c[1]))
        pred = np.asarray(predict(list(pos), list(neg), prev), bool)
        prev = pred
        ious.append(iou(gt, pred, valid))
        if stop_iou is not None and ious[-1] >= stop_iou and len(ious) >= min_clicks:
            break
    return ious


def noc(ious: Sequence[float], threshold: float, max_clicks: int = 20) -> int:
    """Clicks needed to reach ``threshold`` IoU (``max_clicks`` when never reached)."""
    for k, v in enumerate(ious[:max_clicks], 1):
        if v >= threshold:
            return k
    return max_clicks


# -- zoom-in ------------------------------------------------------------------------------

def square_box(shape: tuple[int, int], cy: float, cx: float, side: float) -> Box:
    """A square box of ``side`` centred at (cx, cy), moved inside the image and cut to it."""
    h, w = shape
    s = max(1, int(round(side)))
    y0 = int(round(cy - s / 2))
    x0 = int(round(cx - s / 2))
    y0 = min(max(y0, 0), max(h - s, 0))
    x0 = min(max(x0, 0), max(w - s, 0))
    return y0, x0, min(y0 + s, h), min(x0 + s, w)


def extent_box(shape: tuple[int, int], y0: int, x0: int, y1: int, x1: int,
               expand: float = EXPAND, min_share: float = MIN_BOX) -> Box:
    """The square zoom-in box round the extent ``[y0, y1) x [x0, x1)``: its longer side
    times ``expand``, at least ``min_share`` of the image's short side."""
    side = max(y1 - y0, x1 - x0) * expand
    side = max(side, min_share * min(shape))
    return square_box(shape, (y0 + y1) / 2, (x0 + x1) / 2, side)


def click_box(shape: tuple[int, int], pos: Sequence[Click], neg: Sequence[Click],
              prev: MaskLike | None = None, box: Box | None = None) -> Box:
    """Where the model looks: round ``box`` (a dragged rectangle) when given; a window
    of :data:`FIRST_WINDOW` of the short side round a lone click; else round the
    clicks and the previous mask (see :func:`extent_box`).  Every click lies inside."""
    pts = list(pos) + list(neg)
    ys = [p[1] for p in pts]
    xs = [p[0] for p in pts]
    if box is not None:
        ys += [box[0], box[2] - 1]
        xs += [box[1], box[3] - 1]
    has_prev = False
    if prev is not None and bool(prev.any()):
        has_prev = True
        rows = np.flatnonzero(prev.any(axis=1))
        cols = np.flatnonzero(prev.any(axis=0))
        ys += [int(rows[0]), int(rows[-1])]
        xs += [int(cols[0]), int(cols[-1])]
    if not ys:
        raise ValueError("a click or a box is needed")
    if box is None and not has_prev and len(pts) == 1:
        return square_box(shape, ys[0] + 0.5, xs[0] + 0.5, FIRST_WINDOW * min(shape))
    return extent_box(shape, min(ys), min(xs), max(ys) + 1, max(xs) + 1)


def to_frame(box: Box, size: int, clicks: Sequence[Click]) -> list[tuple[float, float]]:
    """Click pixel centres in the model frame of ``size`` x ``size`` (pixel centres)."""
    y0, x0, y1, x1 = box
    sy, sx = size / (y1 - y0), size / (x1 - x0)
    return [((x + 0.5 - x0) * sx - 0.5, (y + 0.5 - y0) * sy - 0.5) for x, y in clicks]


def model_input(image: npt.NDArray[np.uint8], box: Box, size: int, pos: Sequence[Click],
                neg: Sequence[Click], prev: MaskLike | None = None) -> npt.NDArray[np.uint8]:
    """(size, size, C + 3) uint8: the box of ``image`` resized, the clicks' distance maps
    (:func:`draw_cones`) and the previous mask (0 / 255) in the same frame."""
    y0, x0, y1, x1 = box
    img = image if image.ndim == 3 else image[:, :, None]
    crop = img[y0:y1, x0:x1]
    interp = cv2.INTER_AREA if (y1 - y0) > size else cv2.INTER_LINEAR
    small = cv2.resize(crop, (size, size), interpolation=interp)
    if small.ndim == 2:
        small = small[:, :, None]
    c = small.shape[2]
    out = np.zeros((size, size, c + CLICK_CHANNELS), np.uint8)
    out[:, :, :c] = small
    reach = click_reach(size)
    draw_cones(out[:, :, c], to_frame(box, size, pos), reach)
    draw_cones(out[:, :, c + 1], to_frame(box, size, neg), reach)
    if prev is not None:
        p = cv2.resize(prev[y0:y1, x0:x1].astype(np.uint8), (size, size),
                       interpolation=cv2.INTER_NEAREST)
        out[:, :, c + 2] = p * 255
    return out


def paste(prob: npt.NDArray[np.floating[Any]], box: Box, shape: tuple[int, int],
          prev: MaskLike | None = None, threshold: float = 0.5) -> Mask:
    """The full-size bool mask: the previous mask with the box replaced by the model's
    probabilities (size x size) resized to the box and cut at ``threshold``."""
    y0, x0, y1, x1 = box
    out = np.zeros(shape, bool) if prev is None else prev.astype(bool).copy()
    up = cv2.resize(prob.astype(np.float32), (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    out[y0:y1, x0:x1] = up >= threshold
    return out


def paste_region(region: Mask, box: Box, shape: tuple[int, int],
                 prev: MaskLike | None = None) -> Mask:
    """The full-size bool mask: the previous mask with the box replaced by ``region``
    (bool, the box's size)."""
    y0, x0, y1, x1 = box
    out = np.zeros(shape, bool) if prev is None else prev.astype(bool).copy()
    out[y0:y1, x0:x1] = region
    return out
