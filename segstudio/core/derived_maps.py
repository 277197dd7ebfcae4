"""Derived label maps for display: class boundaries and disagreement maps.

Both work on the whole map or on one rectangle of it (``rect`` is
``(x0, y0, x1, y1)``, end-exclusive), so an edit recomputes only what it
touched.  No Qt here: the GUI wraps the results as indexed images.
"""

from __future__ import annotations

import numpy as np

Rect = tuple[int, int, int, int]


def clip_rect(rect: Rect | None, shape: tuple[int, ...]) -> Rect:
    """``rect`` clipped to an array of ``shape`` (the whole array when None)."""
    h, w = shape[:2]
    if rect is None:
        return 0, 0, w, h
    x0, y0, x1, y1 = rect
    return max(0, int(x0)), max(0, int(y0)), min(w, int(x1)), min(h, int(y1))


def boundaries(labels: np.ndarray, hole: int, rect: Rect | None = None,
               out: np.ndarray | None = None) -> np.ndarray:
    """Pixels with a 4-neighbour of another class keep their id; all others become ``hole``.

    A boundary is two pixels wide (one on each side, each in its own class
    colour).  With ``out`` given, only ``rect`` of it is rewritten (pixels just
    outside ``rect`` are read for context); otherwise a new array is returned.
    """
    if labels.ndim != 2:
        raise ValueError(f"a label map must be 2-D, got shape {labels.shape}")
    h, w = labels.shape
    if out is None:
        out = np.full((h, w), hole, dtype=np.uint8)
        rect = None
    x0, y0, x1, y1 = clip_rect(rect, labels.shape)
    if x1 <= x0 or y1 <= y0:
        return out
    ex0, ey0, ex1, ey1 = max(x0 - 1, 0), max(y0 - 1, 0), min(x1 + 1, w), min(y1 + 1, h)
    sub = labels[ey0:ey1, ex0:ex1]
    edge = np.zeros(sub.shape, dtype=bool)
    d = sub[:, 1:] != sub[:, :-1]
    edge[:, 1:] |= d
    edge[:, :-1] |= d
    d = sub[1:, :] != sub[:-1, :]
    edge[1:, :] |= d
    edge[:-1, :] |= d
    iy, ix = y0 - ey0, x0 - ex0
    inner = (slice(iy, iy + (y1 - y0)), slice(ix, ix + (x1 - x0)))
    out[y0:y1, x0:x1] = np.where(edge[inner], sub[inner], np.uint8(hole))
    return out


def disagreement(mask: np.ndarray, prediction: np.ndarray, ignore: int | None,
                 rect: Rect | None = None, out: np.ndarray | None = None) -> np.ndarray:
    """1 where the human mask and the prediction disagree, else 0.

    Pixels the human left unlabelled (``ignore``) never count as disagreement.
    """
    if mask.shape != prediction.shape:
        raise ValueError(f"mask {mask.shape} and prediction {prediction.shape} differ in size")
    if out is None:
        out = np.zeros(mask.shape, dtype=np.uint8)
        rect = None
    x0, y0, x1, y1 = clip_rect(rect, mask.shape)
    if x1 <= x0 or y1 <= y0:
        return out
    m = mask[y0:y1, x0:x1]
    diff = m != prediction[y0:y1, x0:x1]
    if ignore is not None:
        diff &= m != ignore
    out[y0:y1, x0:x1] = diff
    return out
