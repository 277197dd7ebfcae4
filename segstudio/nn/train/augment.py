"""Training-time augmentation of an (image, target) pair, in uint8, per sample.

Order: random rescale; pad (image with the fill colour, target with the ignore value);
a crop (uniform, or around a pixel of a rare class: :class:`CropFocus`); a 90-degree
rotation (``rotate90``: images without an up), a horizontal flip; a smooth elastic
deformation (``elastic``); brightness, contrast and gamma (``intensity``).  Targets are
resampled with nearest neighbour only.  Every random draw comes from the sample's own
generator, so a batch is the same whichever process loads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

from .losses import IGNORE

U8 = npt.NDArray[np.uint8]
ELASTIC_SHARE = 0.5  # share of the crops that are deformed when ``elastic`` > 0
ELASTIC_GRID = 5  # control points per side of the deformation field
INTENSITY_SHARE = 0.8  # share of the crops whose intensities change when ``intensity`` > 0


@dataclass(frozen=True)
class CropFocus:
    """Rare-class crop sampling: with probability ``share`` a crop is placed around
    a pixel of a class drawn (among the classes in the image) in proportion to
    ``preference`` (one value per channel, e.g. median-frequency weights), else
    uniformly.  Small classes then appear in crops far more often than their
    pixel share (nnU-Net oversamples foreground the same way)."""

    share: float
    preference: tuple[float, ...]


@dataclass(frozen=True)
class Augmentation:
    """What :func:`augment` does besides the crop (the run's settings)."""

    scale: tuple[float, float] = (1.0, 1.0)
    flip: bool = False
    rotate90: bool = False
    intensity: float = 0.0
    elastic: float = 0.0


def _focus_centre(target: U8, focus: CropFocus,
                  rng: np.random.Generator) -> tuple[int, int] | None:
    k = len(focus.preference)
    counts = np.bincount(target.ravel(), minlength=256)[:k]
    pref = np.asarray(focus.preference, np.float64) * (counts > 0)
    if pref.sum() <= 0:
        return None
    c = int(rng.choice(k, p=pref / pref.sum()))
    flat = np.flatnonzero(target.ravel() == c)
    idx = int(flat[rng.integers(0, flat.size)])
    return divmod(idx, int(target.shape[1]))


def augment(image: U8, target: U8, crop: tuple[int, int] | None,
            scale: tuple[float, float], flip: bool, rng: np.random.Generator,
            fill: Sequence[int], focus: CropFocus | None = None, *, rotate90: bool = False,
            intensity: float = 0.0, elastic: float = 0.0) -> tuple[U8, U8]:
    """Random rescale, pad, crop (around a rare-class pixel with ``focus``), rotation by
    a multiple of 90 degrees (``rotate90``), horizontal flip, elastic deformation of
    ``elastic`` pixels (standard deviation), and intensity changes of strength
    ``intensity``.  The output has the crop's size (H, W) whatever the rotation."""
    h, w = target.shape
    lo, hi = scale
    s = float(rng.uniform(lo, hi)) if hi > lo else lo
    if abs(s - 1.0) > 1e-6:
        nh, nw = max(1, round(h * s)), max(1, round(w * s))
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
        # cv2's stubs give any resize an integer-or-float result; uint8 stays uint8
        image = cast(U8, cv2.resize(image, (nw, nh), interpolation=interp))
        if image.ndim == 2:
            image = image[:, :, None]
        target = cast(U8, cv2.resize(target, (nw, nh), interpolation=cv2.INTER_NEAREST))
        h, w = nh, nw
    turns = int(rng.integers(0, 4)) if rotate90 else 0
    if crop is not None:
        ch, cw = crop if turns % 2 == 0 else (crop[1], crop[0])  # rotated into place below
        image, target = _crop(image, target, ch, cw, rng, fill, focus)
    if turns:
        image, target = np.rot90(image, turns, axes=(0, 1)), np.rot90(target, turns)
    if flip and rng.random() < 0.5:
        image = image[:, ::-1]
        target = target[:, ::-1]
    image, target = np.ascontiguousarray(image), np.ascontiguousarray(target)
    if elastic > 0 and rng.random() < ELASTIC_SHARE:
        image, target = deform(image, target, elastic, rng)
    if intensity > 0 and rng.random() < INTENSITY_SHARE:
        image = jitter_intensity(image, intensity, rng)
    return image, target


def _crop(image: U8, target: U8, ch: int, cw: int, rng: np.random.Generator,
          fill: Sequence[int], focus: CropFocus | None) -> tuple[U8, U8]:
    h, w = target.shape
    ph, pw = max(0, ch - h), max(0, cw - w)
    if ph or pw:
        top, left = int(rng.integers(0, ph + 1)), int(rng.integers(0, pw + 1))
        image = _pad(image, top, ph - top, left, pw - left, fill)
        target = np.pad(target, ((top, ph - top), (left, pw - left)), constant_values=IGNORE)
        h, w = target.shape
    centre = None
    if focus is not None and focus.share > 0 and rng.random() < focus.share:
        centre = _focus_centre(target, focus, rng)
    if centre is None:
        y = int(rng.integers(0, h - ch + 1))
        x = int(rng.integers(0, w - cw + 1))
    else:  # the chosen pixel lands anywhere inside the crop
        cy, cx = centre
        y = int(np.clip(cy - rng.integers(0, ch), 0, h - ch))
        x = int(np.clip(cx - rng.integers(0, cw), 0, w - cw))
    return image[y:y + ch, x:x + cw], target[y:y + ch, x:x + cw]


def _pad(image: U8, top: int, bottom: int, left: int, right: int,
         fill: Sequence[int]) -> U8:
    h, w, c = image.shape
    out = np.empty((h + top + bottom, w + left + right, c), np.uint8)
    out[...] = np.asarray(fill, np.uint8)[:c]
    out[top:top + h, left:left + w] = image
    return out


def deform(image: U8, target: U8, sigma: float, rng: np.random.Generator) -> tuple[U8, U8]:
    """A smooth random deformation: displacements of standard deviation ``sigma`` pixels
    on a coarse grid of control points, interpolated bicubically over the crop (as the
    U-Net paper deforms EM sections); the target follows with nearest neighbour, and
    borders are mirrored (no new unlabelled pixels)."""
    h, w = target.shape
    g = ELASTIC_GRID
    dx = rng.normal(0.0, sigma, (g, g)).astype(np.float32)
    dy = rng.normal(0.0, sigma, (g, g)).astype(np.float32)
    fx = cv2.resize(dx, (w, h), interpolation=cv2.INTER_CUBIC)
    fy = cv2.resize(dy, (w, h), interpolation=cv2.INTER_CUBIC)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    mx, my = xs + fx, ys + fy
    border = cv2.BORDER_REFLECT_101
    out = cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=border)
    if out.ndim == 2:
        out = out[:, :, None]
    tgt = cv2.remap(target, mx, my, cv2.INTER_NEAREST, borderMode=border)
    return cast(U8, out), cast(U8, tgt)


def jitter_intensity(image: U8, strength: float, rng: np.random.Generator) -> U8:
    """Gamma exp(±s), contrast 1 ± s about the crop's mean and brightness ± s/4 of the
    range, through one 256-entry table for every channel (colours keep their hue)."""
    s = float(strength)
    gamma = float(np.exp(rng.uniform(-s, s)))
    contrast = 1.0 + float(rng.uniform(-s, s))
    bright = float(rng.uniform(-s, s)) * 0.25
    x = (np.arange(256, dtype=np.float32) / 255.0) ** gamma
    m = float(x[image].mean()) if image.size else 0.5
    y = (x - m) * contrast + m + bright
    lut = np.clip(y * 255.0, 0, 255).round().astype(np.uint8)
    out = cv2.LUT(image, lut)
    return cast(U8, out.reshape(image.shape))
