"""Deciding the pixels an edge runs through: each goes to the side it looks like.

Edge-following tools (intelligent scissors, watershed) return a one-pixel line
on the object's edge; the line's pixels lie on either side of the true edge
(OpenCV keeps whichever pixel of a tied pair comes first).  Painting them all
would grow the object by a pixel on some sides, dropping them would shrink it
on the others.  :func:`assign_by_colour` gives each such pixel the label of
the 8-neighbours whose mean colour is closest to its own;
:func:`settle_edges` does the same once for every pixel on a border between
labels (watershed's flooding order gives sharp corners to the wrong side).
"""

from __future__ import annotations

import numpy as np

OFFSETS = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0))


def channels(image: np.ndarray) -> np.ndarray:
    """(H, W, C) view of a gray or colour image (its first 3 channels); no copy."""
    return image[..., None] if image.ndim == 2 else image[..., :3]


def _neighbours(labels: np.ndarray, col: np.ndarray, ys: np.ndarray, xs: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Labels (k, 8; -1 outside) and float colours (k, 8, C) of the 8-neighbours of
    (ys, xs); only these pixels' colours are read (no float copy of the image)."""
    h, w = labels.shape
    k = len(ys)
    nl = np.full((k, 8), -1, np.int32)
    nc = np.zeros((k, 8, col.shape[2]), np.float32)
    for j, (dy, dx) in enumerate(OFFSETS):
        yy, xx = ys + dy, xs + dx
        ok = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        nl[ok, j] = labels[yy[ok], xx[ok]]
        nc[ok, j] = col[yy[ok], xx[ok]]
    return nl, nc


def _vote(own: np.ndarray, nl: np.ndarray, nc: np.ndarray,
          prefer: np.ndarray | None) -> np.ndarray:
    """Per pixel: the neighbour label (>= 0) whose neighbours' mean colour is nearest to
    ``own``; exact ties go to ``prefer`` (per pixel, -1 for none) when it is a candidate."""
    valid = nl >= 0
    same = (nl[:, :, None] == nl[:, None, :]) & valid[:, None, :]   # (k, j, i)
    sums = np.einsum("kji,kic->kjc", same.astype(np.float32), nc)
    means = sums / np.maximum(same.sum(axis=2), 1)[..., None]
    dist = ((means - own[:, None, :]) ** 2).sum(axis=2)
    dist[~valid] = np.inf
    if prefer is not None:
        best = dist.min(axis=1, keepdims=True)
        dist = np.where((dist == best) & (nl == prefer[:, None]), -1.0, dist)
    voted: np.ndarray = nl[np.arange(len(nl)), dist.argmin(axis=1)]
    return voted


def assign_by_colour(image: np.ndarray, labels: np.ndarray, pending: np.ndarray,
                     prefer: int | None = None) -> np.ndarray:
    """``labels`` (int, >= 0 where decided) with every ``pending`` pixel given the label
    of its decided 8-neighbours whose mean colour is nearest to the pixel's colour.

    Ties go to ``prefer`` when it is among the candidates, else to the first
    neighbour in raster order.  Pixels with no decided neighbour wait for the next
    round (their neighbours decided in this one); returns a new array."""
    out = labels.astype(np.int32, copy=True)
    pend = pending.astype(bool, copy=True)
    out[pend] = -1
    col = channels(image)
    while pend.any():
        ys, xs = np.nonzero(pend)
        nl, nc = _neighbours(out, col, ys, xs)
        ready = (nl >= 0).any(axis=1)
        if not ready.any():
            break  # nothing decided anywhere near: leave them undecided (-1)
        ys, xs = ys[ready], xs[ready]
        pref = None if prefer is None else np.full(len(ys), prefer, np.int32)
        out[ys, xs] = _vote(col[ys, xs].astype(np.float32), nl[ready], nc[ready], pref)
        pend[ys, xs] = False
    return out


def settle_edges(image: np.ndarray, labels: np.ndarray,
                 fixed: np.ndarray | None = None) -> np.ndarray:
    """One pass over the pixels with an 8-neighbour of another label (all labels >= 0):
    each takes the label whose neighbours' mean colour is nearest to its own (ties keep
    its label).  ``fixed`` pixels keep theirs.  Returns a new array."""
    out = labels.astype(np.int32, copy=True)
    h, w = out.shape
    border = np.zeros((h, w), bool)
    for dy, dx in OFFSETS:
        a = out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)]
        b = out[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
        border[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] |= a != b
    if fixed is not None:
        border &= ~fixed
    ys, xs = np.nonzero(border)
    if len(ys) == 0:
        return out
    col = channels(image)
    nl, nc = _neighbours(out, col, ys, xs)
    out[ys, xs] = _vote(col[ys, xs].astype(np.float32), nl, nc, out[ys, xs])
    return out
