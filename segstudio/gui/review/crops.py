"""The Review dock's two views of a region: the image round it, and the prediction there.

:func:`region_views` cuts the region's box out of the image with as much context
again on every side (at least :data:`MIN_CONTEXT` pixels across), draws the region's
outline, and blends the prediction's class colours into the second view; both are
scaled (nearest neighbour: pixels stay sharp) to fit the views.  Numpy only but for
:func:`to_qimage`.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtGui import QImage

from ...core.smart.superpixels import SuperpixelMap

MIN_CONTEXT = 64  # pixels of the image a view shows at least, across
OUTLINE = np.array([255, 230, 0], np.uint8)
ALPHA = 0.55  # the prediction's colours over the image


def crop_box(spmap: SuperpixelMap, segment: int) -> tuple[int, int, int, int] | None:
    """(y0, x0, y1, x1) of the region with context, inside the image."""
    reg = spmap.region(segment)
    if reg is None:
        return None
    y0, x0, sel = reg
    h, w = sel.shape
    pad = max(h, w, MIN_CONTEXT // 2)
    H, W = spmap.shape  # noqa: N806
    return max(0, y0 - pad), max(0, x0 - pad), min(H, y0 + h + pad), min(W, x0 + w + pad)


def _outline(sel: np.ndarray) -> np.ndarray:
    """The region's border pixels (4-neighbourhood) of a bool array."""
    inner = sel.copy()
    inner[1:, :] &= sel[:-1, :]
    inner[:-1, :] &= sel[1:, :]
    inner[:, 1:] &= sel[:, :-1]
    inner[:, :-1] &= sel[:, 1:]
    return sel & ~inner


def region_views(image: np.ndarray, prediction: np.ndarray | None, spmap: SuperpixelMap,
                 segment: int, palette: np.ndarray, size: tuple[int, int]
                 ) -> tuple[np.ndarray, np.ndarray] | None:
    """(image view, prediction view): RGB uint8 arrays fitting ``size`` (w, h)."""
    box = crop_box(spmap, segment)
    reg = spmap.region(segment)
    if box is None or reg is None:
        return None
    y0, x0, y1, x1 = box
    crop = image[y0:y1, x0:x1]
    rgb = np.repeat(crop[:, :, None], 3, axis=2) if crop.ndim == 2 else crop[:, :, :3]
    rgb = np.ascontiguousarray(rgb, np.uint8)
    sel = np.zeros(rgb.shape[:2], bool)
    ry, rx, rsel = reg
    sel[ry - y0:ry - y0 + rsel.shape[0], rx - x0:rx - x0 + rsel.shape[1]] = rsel
    # scale first, then draw the outline at screen resolution (one screen pixel wide)
    w_out, h_out = size
    f = max(1e-6, min(w_out / rgb.shape[1], h_out / rgb.shape[0]))
    dsize = (max(1, round(rgb.shape[1] * f)), max(1, round(rgb.shape[0] * f)))
    big = cv2.resize(rgb, dsize, interpolation=cv2.INTER_NEAREST)
    big_sel = cv2.resize(sel.view(np.uint8), dsize, interpolation=cv2.INTER_NEAREST) > 0
    edge = _outline(big_sel)
    left = big.copy()
    left[edge] = OUTLINE
    if prediction is None:
        right = big.copy()
    else:
        pred = cv2.resize(np.ascontiguousarray(prediction[y0:y1, x0:x1]), dsize,
                          interpolation=cv2.INTER_NEAREST)
        colours = palette[pred].astype(np.float32)
        right = (big.astype(np.float32) * (1 - ALPHA) + colours * ALPHA).astype(np.uint8)
    right[edge] = OUTLINE
    return left, right


def to_qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb, np.uint8)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
