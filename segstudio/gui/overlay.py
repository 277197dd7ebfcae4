"""Overlay styles and their 256-entry colour tables.

Masks are drawn as Indexed8 images that wrap the uint8 arrays; what a class
looks like is decided only by the colour table built here.  Changing a colour,
an opacity or a visibility therefore costs 256 numbers, never per-pixel work.

Colour-table entries are non-premultiplied ARGB (``QRgb``).  Qt premultiplies
them when it draws (``round(c * a / 255)``) and blends SourceOver onto the
image: ``out = premul(c, a) + round(dst * (255 - a) / 255)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.classes import ClassTable

TRANSPARENT = 0
DIFF_COLOR = (255, 0, 255)
STATUS_COLORS = {
    "unlabelled": (140, 140, 140),
    "predicted": (66, 133, 244),
    "partial": (170, 110, 210),
    "corrected": (245, 150, 40),
    "reviewed": (52, 168, 83),
    "unreadable": (220, 50, 50),
}
# heat map anchors (value, rgb): dark violet -> red -> orange -> pale yellow
_HEAT_ANCHORS = [(0, (20, 10, 60)), (90, (140, 20, 120)), (160, (230, 60, 40)),
                 (215, (250, 160, 20)), (255, (255, 250, 190))]


def argb(r: int, g: int, b: int, a: int) -> int:
    return ((a & 255) << 24) | ((r & 255) << 16) | ((g & 255) << 8) | (b & 255)


def alpha_of(opacity: float) -> int:
    return int(round(255 * min(1.0, max(0.0, float(opacity)))))


@dataclass
class OverlayStyle:
    """How masks are shown; saved per project (``gui.overlay`` setting)."""

    global_opacity: float = 0.5
    visible: dict[int, bool] = field(default_factory=dict)   # missing: shown (ignore: hidden)
    opacity: dict[int, float] = field(default_factory=dict)  # missing: 1.0
    show_mask: bool = True
    show_prediction: bool = True
    outline: bool = False
    difference: bool = False
    uncertainty: bool = False
    hatch_prediction: bool = True  # the prediction on stripes: told apart from the mask

    def is_visible(self, class_id: int, table: ClassTable) -> bool:
        if class_id in self.visible:
            return self.visible[class_id]
        info = table.by_id(class_id)
        return info is not None and not info.ignore

    def class_opacity(self, class_id: int) -> float:
        return self.opacity.get(class_id, 1.0)

    def class_alpha(self, class_id: int, table: ClassTable) -> int:
        """The alpha a visible class gets: its opacity times the global opacity."""
        if not self.is_visible(class_id, table):
            return 0
        return alpha_of(self.class_opacity(class_id) * self.global_opacity)

    def outline_alpha(self, class_id: int, table: ClassTable) -> int:
        """Outlines are thin: they get twice the global opacity (capped at 1)."""
        if not self.is_visible(class_id, table):
            return 0
        return alpha_of(self.class_opacity(class_id) * min(1.0, 2.0 * self.global_opacity))

    def to_json(self) -> dict:
        return {
            "global_opacity": self.global_opacity,
            "visible": {str(k): v for k, v in self.visible.items()},
            "opacity": {str(k): v for k, v in self.opacity.items()},
            "show_mask": self.show_mask, "show_prediction": self.show_prediction,
            "outline": self.outline, "difference": self.difference,
            "uncertainty": self.uncertainty, "hatch_prediction": self.hatch_prediction,
        }

    @classmethod
    def from_json(cls, data) -> OverlayStyle:
        style = cls()
        if not isinstance(data, dict):
            return style
        try:
            style.global_opacity = min(1.0, max(0.0, float(data.get("global_opacity", 0.5))))
            style.visible = {int(k): bool(v) for k, v in dict(data.get("visible", {})).items()}
            style.opacity = {int(k): min(1.0, max(0.0, float(v)))
                             for k, v in dict(data.get("opacity", {})).items()}
            for name in ("show_mask", "show_prediction", "outline", "difference", "uncertainty",
                         "hatch_prediction"):
                if name in data:
                    setattr(style, name, bool(data[name]))
        except (TypeError, ValueError):
            return cls()
        return style


def class_color_table(table: ClassTable, style: OverlayStyle) -> list[int]:
    """Class id -> ARGB; ids not in the table and hidden classes are transparent."""
    colors = [TRANSPARENT] * 256
    for c in table.classes:
        a = style.class_alpha(c.id, table)
        if a:
            colors[c.id] = argb(*c.color, a)
    return colors


def outline_color_table(table: ClassTable, style: OverlayStyle, hole: int) -> list[int]:
    """Boundary pixels in their class colour (see outline_alpha); ``hole`` transparent."""
    colors = [TRANSPARENT] * 256
    for c in table.classes:
        a = style.outline_alpha(c.id, table)
        if a:
            colors[c.id] = argb(*c.color, a)
    colors[hole] = TRANSPARENT
    return colors


def difference_color_table(style: OverlayStyle) -> list[int]:
    """1 (disagree) in strong magenta; 0 (agree, or unlabelled) dims the photo so
    that the disagreement stands out whatever the image's own colours."""
    colors = [TRANSPARENT] * 256
    colors[0] = argb(0, 0, 0, alpha_of(0.55 * style.global_opacity))
    colors[1] = argb(*DIFF_COLOR, alpha_of(0.35 + 0.65 * style.global_opacity))
    return colors


def heat_colors() -> np.ndarray:
    """(256, 3) uint8 heat colours, interpolated between a few anchors."""
    xs = np.array([v for v, _ in _HEAT_ANCHORS], dtype=np.float64)
    rgb = np.array([c for _, c in _HEAT_ANCHORS], dtype=np.float64)
    values = np.arange(256, dtype=np.float64)
    out = np.stack([np.interp(values, xs, rgb[:, i]) for i in range(3)], axis=1)
    return np.round(out).astype(np.uint8)


_HEAT = heat_colors()


_HEAT_RGB = [(int(r) << 16) | (int(g) << 8) | int(b) for r, g, b in _HEAT]
_heat_cache: dict[float, list[int]] = {}


def heat_color_table(style: OverlayStyle) -> list[int]:
    """Uncertainty 0..255 -> heat colour; alpha grows with the value (0 is clear)."""
    top = 0.25 + 0.75 * style.global_opacity
    table = _heat_cache.get(top)
    if table is None:
        if len(_heat_cache) > 64:
            _heat_cache.clear()
        table = _heat_cache[top] = [(alpha_of(top * i / 255) << 24) | _HEAT_RGB[i]
                                    for i in range(256)]
    return table


def status_rgb(status: str) -> tuple[int, int, int]:
    return STATUS_COLORS.get(status, (140, 140, 140))
