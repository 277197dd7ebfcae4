"""How an image is shown, never what the model sees: brightness, contrast, gamma and
a display range (numpy only, no Qt).

A :class:`DisplayAdjust` maps the 8-bit display image through one 256-entry lookup
table (:meth:`DisplayAdjust.lut`)::

    t = clip((v - low) / (high - low), 0, 1)      # display range (auto-contrast sets it)
    t = t ** (1 / gamma)                          # gamma > 1 brightens the shadows
    t = (t - 0.5) * contrast + 0.5 + brightness   # contrast about mid-grey, then offset
    out = round(clip(t, 0, 1) * 255)

:func:`auto_range` picks ``low``/``high`` from percentiles of the image's own values
(per image), which spreads a dark CamVid frame or a faint micrograph over the whole
display range; :func:`auto_adjust` (Display > Auto) is that range with the other
settings neutral.  ``as_dict``/``from_dict`` give the JSON form kept in the project.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

AUTO_PERCENTILES = (0.5, 99.5)


@dataclass(frozen=True)
class DisplayAdjust:
    brightness: float = 0.0   # -1 .. 1, added after contrast
    contrast: float = 1.0     # 0.1 .. 5, gain about mid-grey
    gamma: float = 1.0        # 0.1 .. 10
    low: float = 0.0          # display range: values <= low show black ...
    high: float = 255.0       # ... values >= high show white

    def validated(self) -> DisplayAdjust:
        """The same settings clipped to their ranges (low < high)."""
        low = float(np.clip(self.low, 0.0, 254.0))
        high = float(np.clip(self.high, low + 1.0, 255.0))
        return DisplayAdjust(float(np.clip(self.brightness, -1.0, 1.0)),
                             float(np.clip(self.contrast, 0.1, 5.0)),
                             float(np.clip(self.gamma, 0.1, 10.0)), low, high)

    @property
    def identity(self) -> bool:
        return self.validated() == DisplayAdjust()

    def lut(self) -> np.ndarray:
        """(256,) uint8: display value of each 8-bit value."""
        a = self.validated()
        v = np.arange(256, dtype=np.float64)
        t = np.clip((v - a.low) / (a.high - a.low), 0.0, 1.0)
        t = t ** (1.0 / a.gamma)
        t = (t - 0.5) * a.contrast + 0.5 + a.brightness
        return np.rint(np.clip(t, 0.0, 1.0) * 255.0).astype(np.uint8)

    def apply(self, image: np.ndarray) -> np.ndarray:
        """A new uint8 array (gray or RGB) as shown; ``image`` is not changed."""
        image = np.asarray(image)
        if image.dtype != np.uint8:
            raise ValueError(f"display adjustment needs uint8 pixels, got {image.dtype}")
        return np.ascontiguousarray(self.lut()[image])

    def with_range(self, low: float, high: float) -> DisplayAdjust:
        return replace(self, low=float(low), high=float(high)).validated()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self.validated())

    @classmethod
    def from_dict(cls, data: object) -> DisplayAdjust:
        """From :meth:`as_dict` (missing or bad fields take their defaults)."""
        if not isinstance(data, dict):
            return cls()
        values = {}
        for name, default in asdict(cls()).items():
            try:
                values[name] = float(data.get(name, default))
            except (TypeError, ValueError):
                values[name] = default
            if not np.isfinite(values[name]):
                values[name] = default
        return cls(**values).validated()


def auto_range(image: np.ndarray, percentiles: tuple[float, float] = AUTO_PERCENTILES,
               max_samples: int = 1 << 20) -> tuple[float, float]:
    """(low, high): the given percentiles of the image's values (all channels), from
    at most ``max_samples`` evenly strided pixels; a flat image gives a range of one
    value above its level."""
    flat = np.asarray(image).reshape(-1)
    if flat.size == 0:
        return 0.0, 255.0
    step = max(1, flat.size // max_samples)
    sample = flat[::step]
    lo, hi = np.percentile(sample, percentiles)
    lo, hi = float(lo), float(hi)
    if hi - lo < 1.0:
        lo = min(lo, 254.0)
        hi = lo + 1.0
    return lo, hi


def auto_adjust(image: np.ndarray) -> DisplayAdjust:
    """Display > Auto: a good picture from any state.  Brightness, contrast and gamma go
    back to neutral (a brightened, contrasted EM image would stay white with a new range
    alone) and the display range spans the image's own percentiles (:func:`auto_range`)."""
    low, high = auto_range(image)
    return DisplayAdjust().with_range(round(low), round(high))


def range_of_16bit(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """uint8 display of 16-bit (or any integer / float) values between ``low`` and
    ``high`` (a display range chosen in the values' own units), linearly, clipped."""
    v = np.asarray(values, dtype=np.float64)
    if not high > low:
        raise ValueError(f"display range {low}..{high} is empty; high must exceed low")
    t = np.clip((v - low) / (high - low), 0.0, 1.0)
    return np.rint(t * 255.0).astype(np.uint8)
