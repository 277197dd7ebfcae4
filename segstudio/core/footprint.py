"""Exact pixel footprints of brush strokes.

Coordinates.  Mouse positions are image coordinates (x, y) as floats, with
pixel (row i, column j) covering x in [j, j+1) and y in [i, i+1) (Qt's scene
coordinates with the image item at the origin).  A position stands for the
pixel under it: ``pixel_of(x, y) = (floor(x), floor(y))``.  Pixel centres are
the integer points; all geometry below is on those integer points.

Footprint of a round brush of radius r (an int >= 0) along a polyline of
pixel points p0, p1, ..., pn:

* r >= 1: every pixel whose centre lies within Euclidean distance r of the
  polyline (a union of "capsules", one per segment).  Decided in exact
  integer arithmetic, so there are no ties to argue about.  For a single
  point this is exactly OpenCV's filled disc
  ``cv2.circle(canvas, p, r, 1, thickness=-1, lineType=cv2.LINE_8)``.
  (OpenCV's thick ``cv2.line`` is not used: its round caps have radius r+1
  for thickness 2r+1 and its sides are about half a pixel wider than the
  disc, so a stroke would not match a click.)
* r == 0: the 8-connected one-pixel line through the points: along the major
  axis of each segment, every step takes the minor coordinate rounded half
  up, with the segment oriented towards increasing major coordinate (so a
  segment gives the same pixels in both directions).  For r >= 1 these line
  pixels are always inside the capsule.

Strokes are continuous at any mouse speed because consecutive positions are
joined by segments.  Everything is computed in the segment's bounding box
clipped to the image; each pixel's membership does not depend on the image
border or the box, so clipping never changes a pixel inside the image.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

Point = tuple[int, int]
_BIG = 1 << 40
LIMIT = 1 << 24
"""Positions are clamped to +-LIMIT pixels (keeps the integer maths in int64)."""


def pixel_of(x: float, y: float) -> Point:
    """The pixel (column, row) under image position (x, y)."""
    return (min(max(math.floor(x), -LIMIT), LIMIT), min(max(math.floor(y), -LIMIT), LIMIT))


def pixel_points(points: Iterable[Sequence[float]]) -> np.ndarray:
    """(N, 2) int64 array of the pixels (x, y) under the given positions."""
    arr = np.asarray(points if isinstance(points, np.ndarray) else list(points),
                     dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"points must be (x, y) pairs, got an array of shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("points must be finite numbers")
    return np.clip(np.floor(arr), -LIMIT, LIMIT).astype(np.int64)


def _isqrt(v: np.ndarray) -> np.ndarray:
    """floor(sqrt(v)) for int64 v >= 0, exact."""
    s = np.floor(np.sqrt(v.astype(np.float64))).astype(np.int64)
    s += (s + 1) * (s + 1) <= v
    s -= s * s > v
    return s


def _solve(a: int, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer u with lo <= a*u <= hi, as (first, last) per element (first >
    last: none)."""
    if a == 0:
        ok = (lo <= 0) & (hi >= 0)
        return np.where(ok, -_BIG, _BIG), np.where(ok, _BIG, -_BIG)
    if a < 0:
        a, lo, hi = -a, -hi, -lo
    return -((-lo) // a), hi // a


def line_pixels(p0: Point, p1: Point) -> tuple[np.ndarray, np.ndarray]:
    """(xs, ys) of the one-pixel line from p0 to p1 (the r == 0 rule)."""
    (ax, ay), (bx, by) = p0, p1
    dx, dy = bx - ax, by - ay
    if abs(dx) >= abs(dy):
        if dx < 0:
            ax, ay, dx, dy = bx, by, -dx, -dy
        xs = np.arange(ax, ax + dx + 1, dtype=np.int64)
        ys = ay + (2 * (xs - ax) * dy + dx) // (2 * dx) if dx else np.full(1, ay, np.int64)
    else:
        if dy < 0:
            ax, ay, dx, dy = bx, by, -dx, -dy
        ys = np.arange(ay, ay + dy + 1, dtype=np.int64)
        xs = ax + (2 * (ys - ay) * dx + dy) // (2 * dy)
    return xs, ys


def segment_bounds(p0: Point, p1: Point, radius: int,
                   shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """(y0, x0, y1, x1) of the segment's footprint box clipped to the image."""
    h, w = shape
    y0 = max(min(p0[1], p1[1]) - radius, 0)
    y1 = min(max(p0[1], p1[1]) + radius + 1, h)
    x0 = max(min(p0[0], p1[0]) - radius, 0)
    x1 = min(max(p0[0], p1[0]) + radius + 1, w)
    if y1 <= y0 or x1 <= x0:
        return None
    return (y0, x0, y1, x1)


def segment_footprint(p0: Point, p1: Point, radius: int,
                      shape: tuple[int, int]) -> tuple[int, int, np.ndarray] | None:
    """The footprint of a brush of ``radius`` along the segment p0-p1 (pixel
    points (x, y); p0 == p1 is a single dab), inside an image of ``shape``.

    Returns (y0, x0, sel): ``sel`` is a bool array over rows y0.. and columns
    x0.. of the image, or None when no pixel of the image is covered."""
    r = int(radius)
    if r < 0:
        raise ValueError(f"the brush radius must be >= 0, got {radius}")
    ax, ay = int(p0[0]), int(p0[1])
    bx, by = int(p1[0]), int(p1[1])
    box = segment_bounds((ax, ay), (bx, by), r, shape)
    if box is None:
        return None
    y0, x0, y1, x1 = box
    ys = np.arange(y0, y1, dtype=np.int64)
    lo = np.full(ys.shape, _BIG, dtype=np.int64)
    hi = np.full(ys.shape, -_BIG, dtype=np.int64)
    r2 = r * r
    for cx, cy in {(ax, ay), (bx, by)}:
        v = r2 - (ys - cy) ** 2
        ok = v >= 0
        s = _isqrt(np.maximum(v, 0))
        lo = np.where(ok, np.minimum(lo, cx - s), lo)
        hi = np.where(ok, np.maximum(hi, cx + s), hi)
    dx, dy = bx - ax, by - ay
    l2 = dx * dx + dy * dy
    if l2 > 0 and r > 0:
        # centre q = (ax + u, ay + w): projection t = u*dx + w*dy in [0, l2]
        # and |cross| = |u*dy - w*dx| <= sqrt(r^2 * l2), i.e. <= isqrt(r^2 * l2)
        wv = ys - ay
        big_r = math.isqrt(r2 * l2)
        t_lo, t_hi = _solve(dx, -wv * dy, l2 - wv * dy)
        c_lo, c_hi = _solve(dy, wv * dx - big_r, wv * dx + big_r)
        b_lo = np.maximum(t_lo, c_lo) + ax
        b_hi = np.minimum(t_hi, c_hi) + ax
        ok = b_lo <= b_hi
        lo = np.where(ok, np.minimum(lo, b_lo), lo)
        hi = np.where(ok, np.maximum(hi, b_hi), hi)
    cols = np.arange(x0, x1, dtype=np.int64)
    sel = (cols >= lo[:, None]) & (cols <= hi[:, None])
    if r == 0 and l2 > 0:
        xs, yv = line_pixels((ax, ay), (bx, by))
        inside = (xs >= x0) & (xs < x1) & (yv >= y0) & (yv < y1)
        sel[yv[inside] - y0, xs[inside] - x0] = True
    return y0, x0, sel


def stroke_footprint(points: Iterable[Sequence[float]], radius: int,
                     shape: tuple[int, int]) -> np.ndarray:
    """The whole-image bool footprint of a stroke through ``points`` (image
    positions).  For previews and tests; painting works segment by segment."""
    out = np.zeros(shape, dtype=bool)
    for a, b in stroke_segments(pixel_points(points)):
        fp = segment_footprint(a, b, radius, shape)
        if fp is not None:
            y0, x0, sel = fp
            out[y0:y0 + sel.shape[0], x0:x0 + sel.shape[1]] |= sel
    return out


def stroke_segments(pts: np.ndarray) -> list[tuple[Point, Point]]:
    """The segments a brush paints for pixel points ``pts``: a dab (p0, p0),
    then one segment per move to a different pixel."""
    segs: list[tuple[Point, Point]] = []
    prev: Point | None = None
    for p in pts:
        q = (int(p[0]), int(p[1]))
        if prev is None:
            segs.append((q, q))
        elif q != prev:
            segs.append((prev, q))
        prev = q
    return segs
