"""SLIC superpixels: click to give a whole superpixel to a class.

:func:`compute_superpixels` runs scikit-image's ``slic`` on the image, shrunk
(``cv2.INTER_AREA``) so its longest side is at most ``max_side`` (SLIC takes
about 6 s on 2048 x 2048 on one core): the labels live at that compute size and
full-resolution pixel (x, y) takes the label of compute pixel
(x * w' // W, y * h' // H) (nearest), exactly as :meth:`SuperpixelMap.full_labels`
spells out.  ``size`` is the wanted side of a superpixel in image pixels
(SLIC's ``n_segments`` = H * W / size²).

:class:`SuperpixelStroke` is one click or drag: every superpixel under the
pointer is painted once (add: the class; remove: the class's pixels back to
unlabelled), and the whole drag is one Patch.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np
from skimage.segmentation import slic

from ..edits import paint_region
from ..errors import MaskError
from ..footprint import pixel_of
from ..history import TILE, Patch, Rect, StrokeRecorder, check_mask
from .scissors import check_image

MAX_SIDE = 2048
COMPACTNESS = 10.0


class SuperpixelMap:
    """SLIC labels of one image at compute size, with each label's box."""

    def __init__(self, labels: np.ndarray, shape: tuple[int, int]):
        self.labels = np.ascontiguousarray(labels, dtype=np.int32)
        self.shape = (int(shape[0]), int(shape[1]))
        h, w = self.shape
        sh, sw = self.labels.shape
        self.scale = (sh / h, sw / w)
        # compute pixel of each full-resolution row and column
        self._iy = (np.arange(h, dtype=np.int64) * sh) // h
        self._ix = (np.arange(w, dtype=np.int64) * sw) // w
        self.count = int(self.labels.max()) + 1 if self.labels.size else 0
        self._boxes = _label_boxes(self.labels, self.count)

    @property
    def downscaled(self) -> bool:
        return self.labels.shape != self.shape

    def label_at(self, x: float, y: float) -> int | None:
        px, py = pixel_of(x, y)
        h, w = self.shape
        if not (0 <= px < w and 0 <= py < h):
            return None
        return int(self.labels[self._iy[py], self._ix[px]])

    def region(self, label: int) -> tuple[int, int, np.ndarray] | None:
        """(y0, x0, bool array over its box) of superpixel ``label`` at full resolution."""
        if not 0 <= label < self.count or self._boxes[1, label] < 0:
            return None
        r0, r1, c0, c1 = (int(v) for v in self._boxes[:, label])
        r1, c1 = r1 + 1, c1 + 1
        sh, sw = self.labels.shape
        h, w = self.shape
        # full rows y with r0 <= y * sh // h < r1 (and the same for columns)
        y0, y1 = -(-r0 * h // sh), -(-r1 * h // sh)
        x0, x1 = -(-c0 * w // sw), -(-c1 * w // sw)
        sub = self.labels[np.ix_(self._iy[y0:y1], self._ix[x0:x1])]
        return y0, x0, sub == label

    def full_labels(self) -> np.ndarray:
        """(H, W) int32 labels at full resolution (nearest; for tests and small images)."""
        return self.labels[np.ix_(self._iy, self._ix)]

    def boundaries(self) -> np.ndarray:
        """uint8 (h', w') at compute size: 1 where a 4-neighbour has another label."""
        lab = self.labels
        edge = np.zeros(lab.shape, bool)
        d = lab[:, 1:] != lab[:, :-1]
        edge[:, 1:] |= d
        edge[:, :-1] |= d
        d = lab[1:, :] != lab[:-1, :]
        edge[1:, :] |= d
        edge[:-1, :] |= d
        return edge.view(np.uint8)


def _label_boxes(labels: np.ndarray, count: int) -> np.ndarray:
    """(4, count) int32: first row, last row, first column, last column of each label
    (-1 rows for labels that do not occur)."""
    h, w = labels.shape
    flat = labels.ravel()
    rows = np.broadcast_to(np.arange(h, dtype=np.int32)[:, None], (h, w)).ravel()
    cols = np.broadcast_to(np.arange(w, dtype=np.int32)[None, :], (h, w)).ravel()
    boxes = np.empty((4, count), np.int32)
    boxes[0], boxes[2] = h, w
    boxes[1], boxes[3] = -1, -1
    np.minimum.at(boxes[0], flat, rows)
    np.maximum.at(boxes[1], flat, rows)
    np.minimum.at(boxes[2], flat, cols)
    np.maximum.at(boxes[3], flat, cols)
    return boxes


def compute_size(shape: tuple[int, int], max_side: int = MAX_SIDE) -> tuple[int, int]:
    """(h', w'): the size SLIC runs at for an image of ``shape``."""
    h, w = shape[:2]
    s = min(1.0, max_side / max(h, w))
    return (max(1, round(h * s)), max(1, round(w * s))) if s < 1.0 else (h, w)


def compute_superpixels(image: np.ndarray, size: int, *, max_side: int = MAX_SIDE,
                        compactness: float = COMPACTNESS) -> SuperpixelMap:
    """SLIC superpixels of about ``size`` x ``size`` image pixels (see the module doc)."""
    image = check_image(image, "superpixels")
    if size < 2:
        raise ValueError(f"a superpixel is at least 2 pixels across, got {size!r}")
    h, w = image.shape[:2]
    sh, sw = compute_size((h, w), max_side)
    small = image if (sh, sw) == (h, w) else cv2.resize(image, (sw, sh),
                                                         interpolation=cv2.INTER_AREA)
    n = max(1, round(h * w / (size * size)))
    labels = slic(small, n_segments=n, compactness=compactness, start_label=0,
                  channel_axis=None if small.ndim == 2 else -1)
    return SuperpixelMap(labels, (h, w))


class SuperpixelStroke:
    """One click or drag of the superpixel tool: :meth:`add_point` per position paints
    the superpixel under it (once per drag), :meth:`finish` gives one Patch.

    ``value`` is painted on pixels ``allowed`` permits (remove: the unlabelled id,
    with only the removed class allowed)."""

    def __init__(self, mask: np.ndarray, spmap: SuperpixelMap, value: int, *,
                 allowed: np.ndarray | Iterable[int] | None = None,
                 name: str = "Superpixels", tile: int = TILE) -> None:
        check_mask(mask)
        if mask.shape != spmap.shape:
            raise MaskError(f"the superpixels are for a {spmap.shape} image, the mask is "
                            f"{mask.shape}; compute them again")
        self.mask, self.spmap, self.value = mask, spmap, int(value)
        self.allowed, self.name = allowed, name
        self.done: set[int] = set()
        self._rec = StrokeRecorder(mask, tile)

    def add_point(self, x: float, y: float) -> Rect | None:
        """Paint the superpixel under (x, y) unless this drag already did; the rect
        (y0, x0, y1, x1) to repaint, or None."""
        label = self.spmap.label_at(x, y)
        if label is None or label in self.done:
            return None
        self.done.add(label)
        reg = self.spmap.region(label)
        if reg is None:
            return None
        y0, x0, sel = reg
        rect = (y0, x0, y0 + sel.shape[0], x0 + sel.shape[1])
        self._rec.touch(rect)
        patch = paint_region(self.mask, y0, x0, sel, self.value, allowed=self.allowed,
                             name=self.name)
        return None if patch is None else patch.bbox

    def finish(self) -> Patch | None:
        return self._rec.finish(self.name)

    def cancel(self) -> Rect | None:
        return self._rec.cancel()


def superpixel_fill(mask: np.ndarray, spmap: SuperpixelMap,
                    points: Iterable[tuple[float, float]], value: int, *,
                    allowed: np.ndarray | Iterable[int] | None = None,
                    name: str = "Superpixels") -> Patch | None:
    """Paint the superpixels under ``points`` (image positions) in one Patch."""
    stroke = SuperpixelStroke(mask, spmap, value, allowed=allowed, name=name)
    for x, y in points:
        stroke.add_point(x, y)
    return stroke.finish()
