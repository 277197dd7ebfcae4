"""Magic wand: the flood-fill region of similar colour from a click, previewed before
it is painted.

The region is exactly the Fill tool's colour mode
(:func:`~segstudio.core.edits.flood_region` with the image and a tolerance):
the 4-connected pixels whose every channel is within ``tolerance`` of the
clicked pixel's.  It does not depend on the mask, so a preview stays valid
while the mask changes.  :func:`preview_array` turns a region into what the
GUI shows over it (tint inside, a solid line on its edge pixels).
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from ..edits import flood_region, paint_region
from ..errors import MaskError
from ..history import Patch

INSIDE = 1
EDGE = 2


def wand_region(image: np.ndarray, x: float, y: float, tolerance: int, *,
                connectivity: int = 4) -> tuple[int, int, np.ndarray] | None:
    """(y0, x0, bool array over its box) of the similar-colour region at (x, y), or
    None outside the image (see the module doc)."""
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise MaskError(f"the wand needs a uint8 gray or RGB image, got {image.dtype} "
                        f"{image.shape}")
    if image.ndim == 3 and image.shape[2] == 4:
        image = np.ascontiguousarray(image[..., :3])
    shape_only = np.broadcast_to(np.uint8(0), image.shape[:2])  # flood_region reads its shape
    return flood_region(shape_only, x, y, image=image, tolerance=int(tolerance),
                        connectivity=connectivity)


def preview_array(sel: np.ndarray) -> np.ndarray:
    """uint8 over the region's box: 0 outside, :data:`INSIDE`, :data:`EDGE` on region
    pixels with a 4-neighbour outside the region (or on the box's border)."""
    u8 = sel.view(np.uint8) if sel.dtype == bool else (sel != 0).view(np.uint8)
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    inner = cv2.erode(u8, cross, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    out = u8 * np.uint8(EDGE)
    out[inner.view(bool)] = INSIDE
    return out


def wand_fill(mask: np.ndarray, region: tuple[int, int, np.ndarray], value: int, *,
              allowed: np.ndarray | Iterable[int] | None = None,
              name: str = "Wand") -> Patch | None:
    """Paint a :func:`wand_region` with ``value`` (one Patch; None if nothing changed)."""
    y0, x0, sel = region
    return paint_region(mask, y0, x0, sel, value, allowed=allowed, name=name)
