"""Mask edit operations (Qt-free): brush, eraser, fills, eyedropper, accept
prediction, replace class.

Every operation changes a uint8 (H, W) mask of class ids in place, only
inside the box of the operation, and returns a :class:`~.history.Patch` of
exactly what changed (None when nothing changed) for the canvas repaint and
for undo.  Brush-like tools work dab by dab through :class:`BrushStroke`,
which returns the dirty rect of each dab and one Patch per stroke.

What a tool writes ("paint"): a class id ``value``, or (accept prediction)
the values of a ``source`` array of the mask's shape under the region.

Preserve other classes: every operation takes ``allowed``, None (everything
may be overwritten) or a 256-entry bool table indexed by the pixel's current
id; only pixels whose current id is allowed change.  ``preserve_others(ignore,
background)`` builds the table of the "preserve other classes" switch
(only unlabelled and background pixels change); ``overwritable(ids)`` any
other set.  Replacing class A by class B is painting B with only A allowed.

Region rules (exact, tested against OpenCV / brute force):

* brush/eraser: see :mod:`.footprint` (pixels within distance r of the
  stroke; a click is exactly ``cv2.circle(p, r, filled)``);
* polygon, lasso, rectangle: ``cv2.fillPoly`` of the pixel points under the
  vertices, boundary pixels included (OpenCV draws the outline too); a
  self-crossing outline follows OpenCV's rule (areas enclosed twice stay
  empty); a rectangle between two corners includes both corner pixels;
* flood fill: 4-connected (``connectivity=8`` if asked) region of the seed's
  class, or of pixels whose every colour channel is within ``tolerance`` of
  the seed pixel's (``cv2.FLOODFILL_FIXED_RANGE``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from .errors import MaskError
from .footprint import pixel_of, pixel_points, segment_footprint
from .history import TILE, Patch, Rect, StrokeRecorder, check_mask, union_rect

# -- which ids may be overwritten ------------------------------------------


def overwritable(ids: Iterable[int | None]) -> np.ndarray:
    """A 256-entry bool table, True for the given ids."""
    lut = np.zeros(256, dtype=bool)
    for i in ids:
        if i is not None:
            lut[int(i)] = True
    return lut


def preserve_others(ignore_id: int | None, background_id: int | None = None) -> np.ndarray:
    """The table of the "preserve other classes" switch: only unlabelled
    (``ignore_id``) and background pixels may change."""
    if ignore_id is None and background_id is None:
        raise ValueError("preserve other classes needs an unlabelled or a background class")
    return overwritable([ignore_id, background_id])


def combine(*tables: np.ndarray | None) -> np.ndarray | None:
    """Pixels allowed by every table (None tables allow everything)."""
    out: np.ndarray | None = None
    for t in tables:
        if t is not None:
            t = _as_table(t)
            assert t is not None  # a table in, a table out
            out = t.copy() if out is None else out & t
    return out


def _as_table(allowed: np.ndarray | Iterable[int] | None) -> np.ndarray | None:
    if allowed is None:
        return None
    if isinstance(allowed, np.ndarray) and allowed.dtype == bool:
        if allowed.shape != (256,):
            raise ValueError(f"an allowed table has 256 entries, got shape {allowed.shape}")
        return allowed
    return overwritable(allowed)


def _allowed_at(table: np.ndarray, region: np.ndarray) -> np.ndarray:
    """table[region] as bool, with cv2.LUT (much faster than numpy indexing)."""
    return cv2.LUT(region, table.astype(np.uint8)).view(bool)


def _check_value(value: int | None) -> int:
    if value is None or not 0 <= int(value) <= 255:
        raise ValueError(f"a class id is 0..255, got {value!r}")
    return int(value)


def _check_source(source: np.ndarray, mask: np.ndarray) -> np.ndarray:
    if source.dtype != np.uint8 or source.shape != mask.shape:
        raise MaskError(f"the prediction is {source.dtype} {source.shape} but the mask is "
                        f"uint8 {mask.shape}; predict this image again")
    return source


# -- the painting primitive --------------------------------------------------


def paint_region(mask: np.ndarray, y0: int, x0: int, footprint: np.ndarray,
                 value: int | None = None, *, source: np.ndarray | None = None,
                 allowed: np.ndarray | Iterable[int] | None = None,
                 name: str = "Paint") -> Patch | None:
    """Paint the pixels where bool ``footprint`` (placed at row y0, column x0;
    parts outside the mask are ignored) is True: with ``value``, or with
    ``source``'s values; only pixels whose current id ``allowed`` permits."""
    check_mask(mask)
    if source is None:
        value = _check_value(value)
    else:
        _check_source(source, mask)
    table = _as_table(allowed)
    if footprint.dtype != bool:
        footprint = footprint != 0
    h, w = mask.shape
    fy0, fx0 = max(y0, 0), max(x0, 0)
    fy1, fx1 = min(y0 + footprint.shape[0], h), min(x0 + footprint.shape[1], w)
    if fy1 <= fy0 or fx1 <= fx0:
        return None
    sel = footprint[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0]
    region = mask[fy0:fy1, fx0:fx1]
    if table is not None:
        sel = sel & _allowed_at(table, region)
    before = region.copy()
    if source is None:
        region[sel] = value
    else:
        region[sel] = source[fy0:fy1, fx0:fx1][sel]
    return Patch.from_region(name, mask, fy0, fx0, before,
                             after_value=value if source is None else None)


# -- brush-like tools --------------------------------------------------------


class BrushStroke:
    """One mouse drag of a round brush of ``radius`` (or eraser, accept
    prediction, replace class): call :meth:`add_point` for every mouse
    position (press, each move), then :meth:`finish` on release.

    Paints ``value``, or ``source``'s values (accept prediction), on pixels
    ``allowed`` permits.  Each dab only works in the box of its new segment.
    """

    def __init__(self, mask: np.ndarray, radius: int, value: int | None = None, *,
                 source: np.ndarray | None = None,
                 allowed: np.ndarray | Iterable[int] | None = None,
                 name: str = "Brush", tile: int = TILE) -> None:
        check_mask(mask)
        if int(radius) != radius or radius < 0:
            raise ValueError(f"the brush radius must be a whole number >= 0, got {radius!r}")
        if (value is None) == (source is None):
            raise ValueError("give exactly one of value and source")
        self.mask = mask
        self.radius = int(radius)
        self.value = None if value is None else _check_value(value)
        self.source = None if source is None else _check_source(source, mask)
        self.table = _as_table(allowed)
        self._table_u8 = None if self.table is None else self.table.astype(np.uint8)
        self.name = name
        self.points: list[tuple[int, int]] = []
        """Pixel points of the stroke so far (repeats dropped)."""
        self._rec = StrokeRecorder(mask, tile)

    @property
    def dirty(self) -> Rect | None:
        """Union of the dirty rects so far."""
        return self._rec.dirty

    def add_point(self, x: float, y: float) -> Rect | None:
        """Extend the stroke to image position (x, y) and paint the new
        segment; returns the rect (y0, x0, y1, x1) to repaint, or None when
        no pixel changed."""
        p = pixel_of(x, y)
        if self.points and p == self.points[-1]:
            return None
        prev = self.points[-1] if self.points else p
        self.points.append(p)
        fp = segment_footprint(prev, p, self.radius, self.mask.shape)
        if fp is None:
            return None
        y0, x0, sel = fp
        y1, x1 = y0 + sel.shape[0], x0 + sel.shape[1]
        region = self.mask[y0:y1, x0:x1]
        if self._table_u8 is not None:
            sel &= cv2.LUT(region, self._table_u8).view(bool)
        if self.source is None:
            sel &= region != self.value
            if not sel.any():
                return None
            self._rec.touch((y0, x0, y1, x1))
            region[sel] = self.value
        else:
            src = self.source[y0:y1, x0:x1]
            sel &= region != src
            if not sel.any():
                return None
            self._rec.touch((y0, x0, y1, x1))
            region[sel] = src[sel]
        return (y0, x0, y1, x1)

    def add_points(self, points: Iterable[Sequence[float]]) -> Rect | None:
        """add_point for each position; returns the union of the dirty rects."""
        rect = None
        for x, y in points:
            rect = union_rect(rect, self.add_point(x, y))
        return rect

    def finish(self) -> Patch | None:
        """End the stroke: one Patch for all of it (None if nothing changed)."""
        return self._rec.finish(self.name)

    def cancel(self) -> Rect | None:
        """Abandon the stroke and restore the mask; returns the rect to repaint."""
        return self._rec.cancel()


def paint_stroke(mask: np.ndarray, points: Iterable[Sequence[float]], radius: int,
                 value: int | None = None, *, source: np.ndarray | None = None,
                 allowed: np.ndarray | Iterable[int] | None = None,
                 name: str = "Brush") -> Patch | None:
    """A whole stroke through ``points`` in one call (tests, scripts)."""
    stroke = BrushStroke(mask, radius, value, source=source, allowed=allowed, name=name)
    stroke.add_points(points)
    return stroke.finish()


def eraser_stroke(mask: np.ndarray, radius: int, ignore_id: int | None, *,
                  allowed: np.ndarray | Iterable[int] | None = None) -> BrushStroke:
    """The eraser: writes the unlabelled (ignore) id, not background."""
    if ignore_id is None:
        raise ValueError("this class table has no unlabelled (ignore) class to erase to")
    return BrushStroke(mask, radius, ignore_id, allowed=allowed, name="Eraser")


def accept_prediction_stroke(mask: np.ndarray, radius: int, prediction: np.ndarray, *,
                             allowed: np.ndarray | Iterable[int] | None = None) -> BrushStroke:
    """A brush that copies the prediction's classes under its footprint."""
    return BrushStroke(mask, radius, source=prediction, allowed=allowed, name="Accept prediction")


def replace_class_stroke(mask: np.ndarray, radius: int, from_id: int, to_id: int, *,
                         allowed: np.ndarray | Iterable[int] | None = None) -> BrushStroke:
    """A brush that turns class ``from_id`` into ``to_id`` under its footprint."""
    table = combine(overwritable([_check_value(from_id)]), _as_table(allowed))
    return BrushStroke(mask, radius, to_id, allowed=table, name="Replace class")


# -- region tools -------------------------------------------------------------


def pick_class(mask: np.ndarray, x: float, y: float) -> int | None:
    """Eyedropper: the class id under image position (x, y), None outside."""
    px, py = pixel_of(x, y)
    if 0 <= py < mask.shape[0] and 0 <= px < mask.shape[1]:
        return int(mask[py, px])
    return None


def polygon_region(points: Iterable[Sequence[float]],
                   shape: tuple[int, int]) -> tuple[int, int, np.ndarray] | None:
    """(y0, x0, bool array) of ``cv2.fillPoly`` of the pixels under the
    vertices, over the polygon's box clipped to the image (same pixels as
    fillPoly on the whole image)."""
    pts = pixel_points(points)
    if len(pts) == 0:
        return None
    h, w = shape
    x0, y0 = max(int(pts[:, 0].min()), 0), max(int(pts[:, 1].min()), 0)
    x1, y1 = min(int(pts[:, 0].max()) + 1, w), min(int(pts[:, 1].max()) + 1, h)
    if x1 <= x0 or y1 <= y0:
        return None
    canvas = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
    local = (pts - np.array([x0, y0])).astype(np.int32)
    cv2.fillPoly(canvas, [local], 1, lineType=cv2.LINE_8)
    return y0, x0, canvas.view(bool)


def fill_polygon(mask: np.ndarray, points: Iterable[Sequence[float]], value: int | None = None, *,
                 source: np.ndarray | None = None,
                 allowed: np.ndarray | Iterable[int] | None = None,
                 name: str = "Polygon") -> Patch | None:
    """Fill the polygon through ``points`` (image positions; also the lasso)."""
    reg = polygon_region(points, mask.shape)
    if reg is None:
        return None
    y0, x0, sel = reg
    return paint_region(mask, y0, x0, sel, value, source=source, allowed=allowed, name=name)


def fill_lasso(mask: np.ndarray, points: Iterable[Sequence[float]], value: int | None = None, *,
               source: np.ndarray | None = None,
               allowed: np.ndarray | Iterable[int] | None = None) -> Patch | None:
    """Fill a freehand outline (the mouse positions of a lasso drag)."""
    return fill_polygon(mask, points, value, source=source, allowed=allowed, name="Lasso")


def fill_rect(mask: np.ndarray, corner0: Sequence[float], corner1: Sequence[float],
              value: int | None = None, *, source: np.ndarray | None = None,
              allowed: np.ndarray | Iterable[int] | None = None,
              name: str = "Rectangle") -> Patch | None:
    """Fill the rectangle between two image positions, both corner pixels included."""
    (ax, ay), (bx, by) = pixel_of(*corner0), pixel_of(*corner1)
    h, w = mask.shape
    x0, x1 = max(min(ax, bx), 0), min(max(ax, bx) + 1, w)
    y0, y1 = max(min(ay, by), 0), min(max(ay, by) + 1, h)
    if x1 <= x0 or y1 <= y0:
        return None
    sel = np.ones((y1 - y0, x1 - x0), dtype=bool)
    return paint_region(mask, y0, x0, sel, value, source=source, allowed=allowed, name=name)


def replace_class(mask: np.ndarray, from_id: int, to_id: int, *,
                  polygon: Iterable[Sequence[float]] | None = None,
                  allowed: np.ndarray | Iterable[int] | None = None,
                  name: str = "Replace class") -> Patch | None:
    """Turn class ``from_id`` into ``to_id`` inside ``polygon`` (whole mask if None)."""
    table = combine(overwritable([_check_value(from_id)]), _as_table(allowed))
    if polygon is not None:
        return fill_polygon(mask, polygon, to_id, allowed=table, name=name)
    return paint_region(mask, 0, 0, np.ones(mask.shape, dtype=bool), to_id, allowed=table,
                        name=name)


def accept_prediction(mask: np.ndarray, prediction: np.ndarray, *,
                      polygon: Iterable[Sequence[float]] | None = None,
                      allowed: np.ndarray | Iterable[int] | None = None,
                      name: str = "Accept prediction") -> Patch | None:
    """Take the prediction's classes inside ``polygon`` (whole mask if None)."""
    if polygon is not None:
        return fill_polygon(mask, polygon, source=prediction, allowed=allowed, name=name)
    return paint_region(mask, 0, 0, np.ones(mask.shape, dtype=bool), source=prediction,
                        allowed=allowed, name=name)


def flood_region(mask: np.ndarray, x: float, y: float, *, image: np.ndarray | None = None,
                 tolerance: int | Sequence[int] = 0,
                 connectivity: int = 4) -> tuple[int, int, np.ndarray] | None:
    """(y0, x0, bool array over the region's box) of the flood-fill region
    from image position (x, y): the connected pixels of the seed's class, or
    with ``image``, of colour within ``tolerance`` of the seed pixel's."""
    if connectivity not in (4, 8):
        raise ValueError("connectivity is 4 or 8")
    px, py = pixel_of(x, y)
    h, w = mask.shape
    if not (0 <= py < h and 0 <= px < w):
        return None
    flags = connectivity | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
    if image is None:
        src, lo = mask, (0.0, 0.0, 0.0, 0.0)
    else:
        if image.shape[:2] != mask.shape or image.dtype != np.uint8 or \
                image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3)):
            raise MaskError(f"the image is {image.dtype} {image.shape}, the mask {mask.shape}: "
                            "colour fill needs the uint8 gray or RGB image of this mask")
        usable = image.flags.writeable and image.flags.c_contiguous
        src = image if usable else np.ascontiguousarray(image)
        if not src.flags.writeable:
            src = src.copy()
        tol = np.broadcast_to(np.asarray(tolerance, dtype=np.float64), (3,))
        if (tol < 0).any():
            raise ValueError("the colour tolerance must be >= 0")
        lo = (float(tol[0]), float(tol[1]), float(tol[2]), 0.0)
        flags |= cv2.FLOODFILL_FIXED_RANGE
    ffmask = np.zeros((h + 2, w + 2), dtype=np.uint8)
    _, _, _, (rx, ry, rw, rh) = cv2.floodFill(src, ffmask, (px, py), 0, lo, lo, flags)
    if rw <= 0 or rh <= 0:
        return None
    return ry, rx, ffmask[ry + 1:ry + 1 + rh, rx + 1:rx + 1 + rw].view(bool)


def flood_fill(mask: np.ndarray, x: float, y: float, value: int, *,
               image: np.ndarray | None = None, tolerance: int | Sequence[int] = 0,
               connectivity: int = 4, allowed: np.ndarray | Iterable[int] | None = None,
               name: str = "Fill") -> Patch | None:
    """Fill with ``value`` the flood region from image position (x, y) (see
    :func:`flood_region`); None when nothing changed or (x, y) is outside."""
    check_mask(mask)
    value = _check_value(value)
    table = _as_table(allowed)
    px, py = pixel_of(x, y)
    if not (0 <= py < mask.shape[0] and 0 <= px < mask.shape[1]):
        return None
    seed = int(mask[py, px])
    if image is None and (seed == value or (table is not None and not table[seed])):
        return None
    reg = flood_region(mask, x, y, image=image, tolerance=tolerance, connectivity=connectivity)
    if reg is None:
        return None
    y0, x0, sel = reg
    region = mask[y0:y0 + sel.shape[0], x0:x0 + sel.shape[1]]
    if table is not None and image is not None:
        sel = sel & _allowed_at(table, region)
    before = region.copy()
    region[sel] = value
    return Patch.from_region(name, mask, y0, x0, before, after_value=value,
                             before_value=seed if image is None else None)
