"""GrabCut fill: fill an object inside a rectangle with the active class.

OpenCV's ``cv2.grabCut`` separates the object from its surroundings with
colour models of the foreground (inside the rectangle) and background
(outside it).  It runs on a crop of the image around the rectangle (the
rectangle plus ``margin`` pixels of context); crops larger than ``max_side``
are shrunk for the optimisation and the result is scaled back (bilinear, cut
at one half).  Optional strokes mark pixels that are surely object
(``fg_strokes``) or surely background (``bg_strokes``), drawn with the brush
footprint of radius ``stroke_radius``; they also win over the result at full
resolution.  Only pixels inside the rectangle are painted.

GrabCut takes from a fraction of a second to a few seconds: the GUI runs it
off the GUI thread and applies the returned region with
:func:`~.edits.paint_region` (or calls :func:`grabcut_fill` there).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from .edits import paint_region
from .errors import MaskError
from .footprint import pixel_of, pixel_points, segment_footprint, stroke_segments
from .history import Patch

Stroke = Sequence[Sequence[float]]


def _stamp(labels: np.ndarray, strokes: Iterable[Stroke], radius: int, value: int,
           origin: tuple[float, float], scale: float) -> None:
    """Draw ``strokes`` (image positions) into ``labels`` (a crop at ``origin``,
    shrunk by ``scale``) with the brush footprint."""
    ox, oy = origin
    for stroke in strokes:
        pts = np.asarray(stroke, dtype=np.float64).reshape(-1, 2)
        if len(pts) == 0:
            continue
        local = pixel_points((pts - np.array([ox, oy])) * scale)
        segs = stroke_segments(local)
        for a, b in segs:
            fp = segment_footprint(a, b, radius, labels.shape)
            if fp is not None:
                y0, x0, sel = fp
                labels[y0:y0 + sel.shape[0], x0:x0 + sel.shape[1]][sel] = value


def grabcut_region(image: np.ndarray, corner0: Sequence[float], corner1: Sequence[float], *,
                   fg_strokes: Iterable[Stroke] = (), bg_strokes: Iterable[Stroke] = (),
                   stroke_radius: int = 3, margin: int = 16, iterations: int = 5,
                   max_side: int = 512, seed: int = 0) -> tuple[int, int, np.ndarray] | None:
    """The object GrabCut finds in the rectangle between image positions
    ``corner0`` and ``corner1`` (both corner pixels included), as (y0, x0,
    bool array over the rectangle), or None for an empty rectangle.

    ``image``: uint8 (H, W) gray or (H, W, 3) RGB.  ``seed`` fixes OpenCV's
    random generator (GrabCut's colour models start from k-means) so the same
    input gives the same region."""
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise MaskError(f"GrabCut needs a uint8 gray or RGB image, got {image.dtype} {image.shape}")
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    elif image.shape[2] == 4:
        image = np.ascontiguousarray(image[..., :3])
    elif image.shape[2] != 3:
        raise MaskError(f"GrabCut needs a gray or RGB image, got {image.shape[2]} channels")
    h, w = image.shape[:2]
    (ax, ay), (bx, by) = pixel_of(*corner0), pixel_of(*corner1)
    rx0, rx1 = max(min(ax, bx), 0), min(max(ax, bx) + 1, w)
    ry0, ry1 = max(min(ay, by), 0), min(max(ay, by) + 1, h)
    if rx1 <= rx0 or ry1 <= ry0:
        return None
    fg_strokes, bg_strokes = list(fg_strokes), list(bg_strokes)
    cx0, cy0 = max(rx0 - margin, 0), max(ry0 - margin, 0)
    cx1, cy1 = min(rx1 + margin, w), min(ry1 + margin, h)
    ch, cw = cy1 - cy0, cx1 - cx0
    scale = min(1.0, max_side / max(ch, cw))
    crop = image[cy0:cy1, cx0:cx1]
    if scale < 1.0:
        sw, sh = max(1, round(cw * scale)), max(1, round(ch * scale))
        small = cv2.resize(crop, (sw, sh), interpolation=cv2.INTER_AREA)
    else:
        sh, sw, small = ch, cw, np.ascontiguousarray(crop)
    sx, sy = sw / cw, sh / ch
    labels = np.full((sh, sw), cv2.GC_BGD, dtype=np.uint8)
    iy0, iy1 = int(np.floor((ry0 - cy0) * sy)), max(int(np.ceil((ry1 - cy0) * sy)), 1)
    ix0, ix1 = int(np.floor((rx0 - cx0) * sx)), max(int(np.ceil((rx1 - cx0) * sx)), 1)
    labels[iy0:iy1, ix0:ix1] = cv2.GC_PR_FGD
    small_r = max(1, round(stroke_radius * scale)) if stroke_radius else 0
    _stamp(labels, bg_strokes, small_r, cv2.GC_BGD, (cx0, cy0), scale)
    _stamp(labels, fg_strokes, small_r, cv2.GC_FGD, (cx0, cy0), scale)
    is_fg = (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
    if not is_fg.any():
        return None
    if is_fg.all():
        # no background sample: the crop frame (inside the rectangle) is probably background
        labels[[0, -1], :] = np.where(labels[[0, -1], :] == cv2.GC_FGD, cv2.GC_FGD, cv2.GC_PR_BGD)
        labels[:, [0, -1]] = np.where(labels[:, [0, -1]] == cv2.GC_FGD, cv2.GC_FGD, cv2.GC_PR_BGD)
    if ((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)).sum() < 2 or \
            ((labels == cv2.GC_BGD) | (labels == cv2.GC_PR_BGD)).sum() < 2:
        return None
    bgd = np.zeros((1, 65), np.float64)
    fgd = np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(seed)
    # OpenCV's stubs want a rect; with GC_INIT_WITH_MASK it is unused and None is accepted
    cv2.grabCut(small, labels, None, bgd, fgd, max(1, int(iterations)),  # type: ignore[call-overload]
                cv2.GC_INIT_WITH_MASK)
    fg = ((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD))
    if scale < 1.0:
        up = cv2.resize(fg.astype(np.float32), (cw, ch), interpolation=cv2.INTER_LINEAR)
        fg = up >= 0.5
        if fg_strokes or bg_strokes:
            sure = np.zeros((ch, cw), dtype=np.uint8)
            _stamp(sure, bg_strokes, stroke_radius, 1, (cx0, cy0), 1.0)
            _stamp(sure, fg_strokes, stroke_radius, 2, (cx0, cy0), 1.0)
            fg[sure == 1] = False
            fg[sure == 2] = True
    out = fg[ry0 - cy0:ry1 - cy0, rx0 - cx0:rx1 - cx0]
    return ry0, rx0, np.ascontiguousarray(out)


def grabcut_fill(mask: np.ndarray, image: np.ndarray, corner0: Sequence[float],
                 corner1: Sequence[float], value: int, *,
                 fg_strokes: Iterable[Stroke] = (), bg_strokes: Iterable[Stroke] = (),
                 stroke_radius: int = 3, margin: int = 16, iterations: int = 5,
                 max_side: int = 512, seed: int = 0,
                 allowed: np.ndarray | Iterable[int] | None = None,
                 name: str = "GrabCut") -> Patch | None:
    """Fill with ``value`` the object GrabCut finds in the rectangle (see
    :func:`grabcut_region`); returns the Patch (None if nothing changed)."""
    if image.shape[:2] != mask.shape:
        raise MaskError(f"the image is {image.shape[:2]} but the mask {mask.shape}; "
                        "GrabCut needs the image of this mask")
    reg = grabcut_region(image, corner0, corner1, fg_strokes=fg_strokes, bg_strokes=bg_strokes,
                         stroke_radius=stroke_radius, margin=margin, iterations=iterations,
                         max_side=max_side, seed=seed)
    if reg is None:
        return None
    y0, x0, sel = reg
    return paint_region(mask, y0, x0, sel, value, allowed=allowed, name=name)


def grabcut_refine(image: np.ndarray, prob: np.ndarray, fg_points: Sequence[Sequence[int]] = (),
                   bg_points: Sequence[Sequence[int]] = (), *, sure: float = 0.95,
                   radius: int = 3, iterations: int = 3, max_side: int = 320,
                   seed: int = 0) -> np.ndarray:
    """A model's object probabilities ``prob`` (H, W, float) over ``image`` (the same
    H x W, uint8 gray or RGB) refined by GrabCut at the image's resolution: pixels at
    ``prob >= sure`` start as sure object and at ``prob <= 1 - sure`` as sure
    background, the rest as probable object (``prob >= 0.5``) or probable background;
    disks of ``radius`` round ``fg_points`` / ``bg_points`` (``(x, y)`` pixels of
    ``image``) are sure object / background and win at full resolution.  GrabCut's
    colour models then move the probable pixels to the image's edges.  Images larger
    than ``max_side`` are shrunk for the optimisation (the result is scaled back,
    bilinear, cut at one half).  Returns the (H, W) bool object; without probable
    pixels of both kinds there is nothing to optimise and it is ``prob >= 0.5`` with
    the disks."""
    if image.shape[:2] != prob.shape:
        raise MaskError(f"the image crop is {image.shape[:2]} but the probabilities "
                        f"{prob.shape}")
    img = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB) if image.ndim == 2 or image.shape[2] == 1 \
        else np.ascontiguousarray(image[..., :3])
    h, w = prob.shape
    disks = np.zeros((h, w), np.uint8)  # 1 sure background, 2 sure object
    for pts, value in ((bg_points, 1), (fg_points, 2)):
        for x, y in pts:
            cv2.circle(disks, (int(x), int(y)), int(radius), value, -1)
    out = prob >= 0.5
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
        small = cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA)
        p = cv2.resize(prob.astype(np.float32), (sw, sh), interpolation=cv2.INTER_AREA)
        d = cv2.resize(disks, (sw, sh), interpolation=cv2.INTER_NEAREST)
    else:
        small, p, d = img, prob, disks
    labels = np.where(p >= 0.5, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    labels[p >= sure] = cv2.GC_FGD
    labels[p <= 1 - sure] = cv2.GC_BGD
    labels[d == 2] = cv2.GC_FGD
    labels[d == 1] = cv2.GC_BGD
    fg = (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
    probable = (labels == cv2.GC_PR_FGD) | (labels == cv2.GC_PR_BGD)
    if fg.sum() >= 2 and (~fg).sum() >= 2 and probable.any():
        bgd = np.zeros((1, 65), np.float64)
        fgd = np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(seed)
        # the stubs lack rect=None (OpenCV's documented call with GC_INIT_WITH_MASK)
        cv2.grabCut(small, labels, None, bgd, fgd, max(1, int(iterations)),  # type: ignore[call-overload]
                    cv2.GC_INIT_WITH_MASK)
        fg = (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
        out = fg if scale == 1.0 else cv2.resize(
            fg.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR) >= 0.5
    out[disks == 1] = False
    out[disks == 2] = True
    return out
