"""Watershed from scribbles: strokes mark objects (per class) and background, OpenCV's
``cv2.watershed`` grows them over the image until they meet at its edges.

A stroke is (class id, image positions) or (None, positions) for background;
strokes are drawn with the brush footprint of ``radius`` (a later stroke wins
where two overlap).  The work is done on a crop: the strokes' box plus
``margin`` pixels of context on each side (by default half the box's longer
side, at least ``MIN_MARGIN``).  The crop's frame (where it is not the image
border) is a background mark too: a single object stroke still finds its
object, and no region runs beyond the crop.  ``cv2.watershed`` leaves a one-pixel line
(-1) between regions and round the crop; each of those pixels joins the
neighbouring region it resembles (:func:`~.sides.assign_by_colour`), and so
does every pixel on a border between regions, once (:func:`~.sides.settle_edges`:
watershed's flooding order gives sharp corners to the wrong side); a bright
disc or rectangle on a dark ground comes out exactly.  Pixels that end up
background are not painted.

``cv2.watershed`` takes about 1.3 s on a whole 4096 x 4096 image, so the GUI
runs it off the GUI thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from ..edits import paint_region
from ..errors import MaskError
from ..footprint import pixel_points, segment_footprint, stroke_segments
from ..history import Patch
from .scissors import check_image
from .sides import assign_by_colour, settle_edges

Stroke = tuple[int | None, Sequence[Sequence[float]]]
BACKGROUND = -1
"""The label of background pixels in :func:`watershed_labels`' result."""
MIN_MARGIN = 24


def _stamp(markers: np.ndarray, pts: np.ndarray, radius: int, value: int,
           origin: tuple[int, int]) -> None:
    local = pts - np.array(origin, dtype=np.int64)
    for a, b in stroke_segments(local):
        fp = segment_footprint(a, b, radius, markers.shape)
        if fp is not None:
            y0, x0, sel = fp
            markers[y0:y0 + sel.shape[0], x0:x0 + sel.shape[1]][sel] = value


def watershed_crop(shape: tuple[int, int],
                   strokes: Iterable[Sequence[Sequence[float]] | np.ndarray],
                   radius: int = 2, margin: int | None = None) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), end-exclusive: the crop watershed works on for these strokes
    (their box, grown by the brush ``radius`` and ``margin``, clipped to the image)."""
    h, w = shape[:2]
    pts = [pixel_points(p) for p in strokes]
    pts = [p for p in pts if len(p)]
    if not pts:
        return (0, 0, 0, 0)
    allpts = np.vstack(pts)
    r = max(0, int(radius))
    if margin is None:
        span = np.ptp(allpts, axis=0).max() + 2 * r + 1
        margin = max(MIN_MARGIN, int(span) // 2)
    return (max(int(allpts[:, 0].min()) - r - margin, 0),
            max(int(allpts[:, 1].min()) - r - margin, 0),
            min(int(allpts[:, 0].max()) + r + margin + 1, w),
            min(int(allpts[:, 1].max()) + r + margin + 1, h))


def watershed_labels(image: np.ndarray, strokes: Iterable[Stroke], *, radius: int = 2,
                     margin: int | None = None) -> tuple[int, int, np.ndarray] | None:
    """(y0, x0, int16 labels over the crop): the class id of every crop pixel, or
    :data:`BACKGROUND`; None when there are no strokes inside the image.

    Raises MaskError when the marks cannot separate anything (one kind of mark only
    and the crop is the whole image)."""
    image = check_image(image, "watershed")
    h, w = image.shape[:2]
    placed = [(cid, pixel_points(pts)) for cid, pts in strokes]
    placed = [(cid, pts) for cid, pts in placed if len(pts)]
    for cid, _ in placed:
        if cid is not None and not 0 <= int(cid) <= 255:
            raise ValueError(f"a class id is 0..255, got {cid!r}")
    if not placed:
        return None
    x0, y0, x1, y1 = watershed_crop((h, w), [pts for _, pts in placed], radius, margin)
    if x1 <= x0 or y1 <= y0:
        return None
    r = max(0, int(radius))
    # marker ids: 1 background, 2.. the classes in order of first stroke
    ids: dict[int, int] = {}
    markers = np.zeros((y1 - y0, x1 - x0), np.int32)
    # the frame: two pixels deep, as cv2.watershed overwrites the outermost one with -1
    if y0 > 0:
        markers[:2, :] = 1
    if y1 < h:
        markers[-2:, :] = 1
    if x0 > 0:
        markers[:, :2] = 1
    if x1 < w:
        markers[:, -2:] = 1
    for cid, pts in placed:
        mid = 1 if cid is None else ids.setdefault(int(cid), len(ids) + 2)
        _stamp(markers, pts, r, mid, (x0, y0))
    kinds = set(np.unique(markers[markers > 0]).tolist())
    if not any(k >= 2 for k in kinds):
        return None  # every object stroke was painted over by background
    if len(kinds) < 2:
        raise MaskError("watershed needs two kinds of marks: draw background too "
                        "(right drag or Shift + drag), or objects of another class")
    crop = image[y0:y1, x0:x1]
    rgb = cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR) if crop.ndim == 2 else np.ascontiguousarray(crop)
    marks = markers > 0
    cv2.watershed(rgb, markers)
    lines = markers == -1
    if lines.any():
        markers = assign_by_colour(crop, markers, lines)
    markers = settle_edges(crop, markers, fixed=marks)
    lut = np.full(len(ids) + 2, BACKGROUND, np.int16)
    for cid, mid in ids.items():
        lut[mid] = cid
    labels = lut[np.clip(markers, 0, len(ids) + 1)]
    labels[markers <= 1] = BACKGROUND
    return y0, x0, labels


def watershed_fill(mask: np.ndarray, image: np.ndarray, strokes: Iterable[Stroke], *,
                   radius: int = 2, margin: int | None = None,
                   allowed: np.ndarray | Iterable[int] | None = None,
                   name: str = "Watershed") -> Patch | None:
    """Paint each class's watershed region (see :func:`watershed_labels`) as one Patch."""
    if image.shape[:2] != mask.shape:
        raise MaskError(f"the image is {image.shape[:2]} but the mask {mask.shape}; "
                        "watershed needs the image of this mask")
    reg = watershed_labels(image, strokes, radius=radius, margin=margin)
    if reg is None:
        return None
    return paint_labels(mask, *reg, allowed=allowed, name=name)


def paint_labels(mask: np.ndarray, y0: int, x0: int, labels: np.ndarray, *,
                 allowed: np.ndarray | Iterable[int] | None = None,
                 name: str = "Watershed") -> Patch | None:
    """Paint each class id of ``labels`` (a crop at y0, x0; :data:`BACKGROUND` pixels
    stay) with :func:`~segstudio.core.edits.paint_region`, all as one Patch."""
    h, w = labels.shape
    region = mask[y0:y0 + h, x0:x0 + w]
    before = region.copy()
    for cid in np.unique(labels[labels >= 0]).tolist():
        paint_region(mask, y0, x0, labels == cid, int(cid), allowed=allowed, name=name)
    return Patch.from_region(name, mask, y0, x0, before)


def preview_labels(labels: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """What the GUI shows of a :func:`watershed_labels` crop before it is painted: uint8
    0 on :data:`BACKGROUND`, k + 1 inside the region of the k-th class id of the returned
    (sorted) list, and ``len(ids) + 1`` on region pixels with a 4-neighbour of another
    label (or on the crop's border): the regions' edges."""
    labels = np.asarray(labels)
    ids = np.unique(labels[labels >= 0]).astype(np.int64)
    if len(ids) > 253:
        raise ValueError(f"at most 253 classes can be previewed, got {len(ids)}")
    inside = labels >= 0
    shown = np.zeros(labels.shape, np.uint8)
    shown[inside] = (np.searchsorted(ids, labels[inside]) + 1).astype(np.uint8)
    pad = np.pad(labels.astype(np.int32), 1, constant_values=BACKGROUND - 1)
    core = pad[1:-1, 1:-1]
    edge = inside & ((pad[:-2, 1:-1] != core) | (pad[2:, 1:-1] != core)
                     | (pad[1:-1, :-2] != core) | (pad[1:-1, 2:] != core))
    shown[edge] = len(ids) + 1
    return shown, [int(i) for i in ids]
