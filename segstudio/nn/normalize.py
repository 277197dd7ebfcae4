"""Per-image normalisation: each image stretched between its own low and high
percentiles before the model's mean and standard deviation apply (``normalize="image"``).

Projects whose images differ in brightness -- dark fluorescence beside brightfield, EM
sections of varying exposure -- train and predict on a common intensity scale then
(nnU-Net normalises each image by its own statistics for the same reason).  The same
function runs in training (on the whole image, before cropping) and in prediction (on
the whole image, before tiling), so a tile sees what a training crop saw.  No torch.
"""

from __future__ import annotations

from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

LOW, HIGH = 0.5, 99.5  # percentiles (of all channels together: colours keep their hue)
MODES = ("project", "image")


def percentiles(image: npt.NDArray[np.uint8], low: float = LOW, high: float = HIGH
                ) -> tuple[int, int]:
    """The ``low`` and ``high`` percentiles of a uint8 image's values (from its histogram,
    exact, all channels together)."""
    hist = np.bincount(np.ascontiguousarray(image).ravel(), minlength=256).astype(np.float64)
    cdf = np.cumsum(hist) / max(hist.sum(), 1.0)
    lo = int(np.searchsorted(cdf, low / 100.0, side="left"))
    hi = int(np.searchsorted(cdf, high / 100.0, side="left"))
    return min(lo, 255), min(hi, 255)


def stretch_image(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """``image`` mapped linearly so its :func:`percentiles` become 0 and 255 (clipped);
    an image with (almost) one value is returned as it is."""
    lo, hi = percentiles(image)
    if hi - lo < 2:
        return image
    x = np.arange(256, dtype=np.float32)
    lut = np.clip((x - lo) * (255.0 / (hi - lo)), 0, 255).round().astype(np.uint8)
    out = cast(npt.NDArray[np.uint8], cv2.LUT(np.ascontiguousarray(image), lut))
    return out.reshape(image.shape)


def apply(mode: str, image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The normalisation ``mode`` names ("project": none before the mean and std)."""
    return stretch_image(image) if mode == "image" else image
