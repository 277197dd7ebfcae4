"""Prediction: class labels, a per-pixel entropy map and an uncertainty score.

Ordinary images go through the model whole.  Images above ``max_whole_pixels``
are tiled: square tiles on a grid aligned to the model's pooling stride,
overlapping by ``overlap`` pixels and blended with linear ramps that sum to one
in every overlap (a partition of unity), so a pixel covered by one tile gets
exactly that tile's probabilities.  Probabilities are accumulated in row bands
(one tile row of K float32 planes, split into column strips when that exceeds
``memory_budget_mb``) and turned into labels and entropy as soon as no later
tile touches them, so full-resolution probabilities for all K classes are
never held at once.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypedDict, Unpack

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F

from ..core.classes import ClassTable
from ..core.errors import SegStudioError
from .device import resolve_device
from .models.segnet import as_net, fold_batchnorm, min_input_size
from .normalize import apply as normalise
from .runs.checkpoint import Checkpoint, CheckpointError, check_compatible, load_checkpoint
from .train.data import U8, as_channels


class PredictorOptions(TypedDict, total=False):
    """The tiling settings :meth:`Predictor.from_checkpoint` passes on."""

    tile: int
    overlap: int
    max_whole_pixels: int
    memory_budget_mb: int


@dataclass
class PredictionResult:
    labels: U8  # (H, W) class ids (ClassTable.channel_ids())
    entropy: U8  # (H, W): entropy / log(K) * 255
    uncertainty: float  # mean of entropy / log(K) over the image, 0..1
    seconds: float
    tiles: int  # 1 for a whole-image pass


def _starts(length: int, tile: int, stride: int) -> list[int]:
    if length <= tile:
        return [0]
    out = [0]
    while out[-1] + tile < length:
        out.append(out[-1] + stride)
    return out


def _ramp(n: int, overlap: int, left: bool, right: bool) -> npt.NDArray[np.float32]:
    w = np.ones(n, np.float32)
    if overlap > 0:
        ramp = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
        if left:
            w[:overlap] = ramp
        if right:
            w[n - overlap:] = ramp[::-1]
    return w


class Predictor:
    """Runs a model in its inference form (BN folded into the convs, eval mode,
    channels_last, inference_mode; bf16/fp16 autocast on CUDA)."""

    def __init__(self, model: torch.nn.Module, classes: ClassTable, mean: Sequence[float],
                 std: Sequence[float], device: str | torch.device = "auto", tile: int = 512,
                 overlap: int = 128, max_whole_pixels: int = 2_400_000,
                 memory_budget_mb: int = 1024, checkpoint_path: str | None = None,
                 normalize: str = "project"):
        self.device = resolve_device(device)
        self.normalize = normalize  # "image": each image stretched first (nn.normalize)
        self.classes = classes
        net = as_net(model)
        self.num_classes = int(net.num_classes)
        if self.num_classes != classes.num_trainable:
            raise SegStudioError(f"the model predicts {self.num_classes} classes but the class "
                                 f"table has {classes.num_trainable}")
        self.in_channels = int(net.in_channels)
        self.multiple = min_input_size(net)
        if tile % self.multiple or tile < 2 * self.multiple:
            raise ValueError(f"tile {tile} must be a multiple of {self.multiple} "
                             f"and at least {2 * self.multiple}")
        if overlap % self.multiple or not self.multiple <= overlap <= tile // 2:
            raise ValueError(f"overlap {overlap} must be a multiple of {self.multiple} "
                             f"in {self.multiple}..{tile // 2}")
        self.tile, self.overlap = tile, overlap
        self.max_whole_pixels = max_whole_pixels
        self.memory_budget = memory_budget_mb * 2**20
        self.checkpoint_path = checkpoint_path
        # called as (bands done, bands in all) after each row band of a tiled prediction,
        # so that one huge image shows progress (the CLI's bar, the window's status)
        self.band_progress: Callable[[int, int], None] | None = None
        self.channel_ids = classes.channel_ids()
        self.mean = tuple(float(v) for v in mean)
        self.std = tuple(float(v) for v in std)
        self._fmt = torch.channels_last if self.device.type in ("cpu", "cuda") else (
            torch.contiguous_format)
        self.model = fold_batchnorm(net).to(self.device).to(memory_format=self._fmt).eval()
        self._amp: torch.dtype | None = None
        if self.device.type == "cuda":
            self._amp = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        dev = self.device
        self._m = torch.tensor(self.mean, device=dev).view(1, -1, 1, 1) * 255.0
        self._s = torch.tensor(self.std, device=dev).view(1, -1, 1, 1) * 255.0
        self._logk = math.log(self.num_classes) if self.num_classes > 1 else 1.0

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike[str] | Checkpoint, device: str = "auto",
                        classes: ClassTable | None = None, in_channels: int | None = None,
                        **kw: Unpack[PredictorOptions]) -> Predictor:
        """Load a checkpoint; with ``classes``/``in_channels`` it must fit them."""
        ckpt = path if isinstance(path, Checkpoint) else load_checkpoint(path)
        if ckpt.task == "click":
            raise CheckpointError(f"{ckpt.path or 'checkpoint'}: a click model (for the "
                                  "editor's Click tool), not a segmentation model; choose a "
                                  "checkpoint of a segmentation run")
        if classes is not None or in_channels is not None:
            check_compatible(ckpt, classes or ckpt.classes, in_channels)
        return cls(ckpt.build_model(), ckpt.classes, ckpt.mean, ckpt.std, device=device,
                   checkpoint_path=str(ckpt.path) if ckpt.path else None,
                   normalize=ckpt.normalize, **kw)

    # -- forward --------------------------------------------------------------------
    def _probs(self, region: U8) -> torch.Tensor:
        """(h, w, C) uint8 -> softmax probabilities (K, h, w) float32 on the device."""
        h, w = region.shape[:2]
        ph, pw = max(0, self.multiple - h), max(0, self.multiple - w)
        region = np.ascontiguousarray(region)
        if not region.flags.writeable:
            region = region.copy()
        x = torch.from_numpy(region).to(self.device)
        x = x.permute(2, 0, 1).unsqueeze(0).float()
        x = ((x - self._m) / self._s).contiguous(memory_format=self._fmt)
        if ph or pw:  # smaller than the pooling stride: pad with the mean colour (zero)
            x = F.pad(x, (0, pw, 0, ph))
        if self._amp is not None:
            with torch.autocast("cuda", dtype=self._amp):
                logits: torch.Tensor = self.model(x)
        else:
            logits = self.model(x)
        return torch.softmax(logits[0, :, :h, :w].float(), dim=0)

    def _finish(self, probs: torch.Tensor) -> tuple[U8, U8, float]:
        """(K, h, w) probabilities -> channel labels, entropy uint8, sum of normalised entropy."""
        labels = probs.argmax(dim=0).to(torch.uint8)
        ent = -(probs * torch.log(probs.clamp_min(1e-12))).sum(dim=0) / self._logk
        ent = ent.clamp_(0.0, 1.0)
        total = float(ent.double().sum())
        ent8 = torch.round(ent * 255.0).to(torch.uint8)
        return labels.cpu().numpy(), ent8.cpu().numpy(), total

    def _prepare(self, image: npt.ArrayLike) -> U8:
        image = np.asarray(image)
        if image.dtype != np.uint8 or image.ndim not in (2, 3):
            raise SegStudioError(f"expected a uint8 HxW or HxWx3 image, got {image.dtype} "
                                 f"{image.shape}")
        return normalise(self.normalize, as_channels(image, self.in_channels, "image"))

    @torch.inference_mode()
    def predict(self, image: U8) -> PredictionResult:
        """Labels (class ids), entropy map and uncertainty of one image."""
        t0 = time.perf_counter()
        img = self._prepare(image)
        h, w = img.shape[:2]
        if h * w <= self.max_whole_pixels:
            lab, ent, total = self._finish(self._probs(img))
            tiles = 1
        else:
            lab, ent, total, tiles = self._tiled(img)
        return PredictionResult(self.channel_ids[lab], ent, total / (h * w),
                                time.perf_counter() - t0, tiles)

    @torch.inference_mode()
    def predict_tiled(self, image: U8) -> PredictionResult:
        """Like :meth:`predict` but always tiled (for checks and for huge images)."""
        t0 = time.perf_counter()
        img = self._prepare(image)
        lab, ent, total, tiles = self._tiled(img)
        return PredictionResult(self.channel_ids[lab], ent, total / (img.shape[0] * img.shape[1]),
                                time.perf_counter() - t0, tiles)

    def _tiled(self, img: U8) -> tuple[U8, U8, float, int]:
        H, W = img.shape[:2]
        T, O, K = self.tile, self.overlap, self.num_classes  # noqa: E741
        S = T - O
        ys, xs = _starts(H, T, S), _starts(W, T, S)
        labels = np.empty((H, W), np.uint8)
        ent = np.empty((H, W), np.uint8)
        total = 0.0
        tiles = 0
        # column strips: groups of tile columns whose band accumulator fits the budget
        band_h = min(T, H)
        per_col = K * band_h * S * 4
        cols_per_strip = max(1, int(self.memory_budget // max(per_col, 1)))
        groups = [list(range(a, min(a + cols_per_strip, len(xs))))
                  for a in range(0, len(xs), cols_per_strip)]
        bands, bands_done = len(groups) * len(ys), 0
        for g in groups:
            a, b = g[0], g[-1] + 1
            sx0 = xs[a] if a > 0 else 0
            sx1 = xs[b] if b < len(xs) else W
            cols = ([a - 1] if a > 0 else []) + g  # the column left of the strip spills into it
            acc = torch.zeros((K, band_h, sx1 - sx0), dtype=torch.float32)
            for r, y0 in enumerate(ys):
                hr = min(T, H - y0)
                wy = _ramp(hr, O, r > 0, r < len(ys) - 1)
                for c in cols:
                    x0 = xs[c]
                    wc = min(T, W - x0)
                    lo, hi = max(x0, sx0), min(x0 + wc, sx1)
                    if hi <= lo:
                        continue
                    wx = _ramp(wc, O, c > 0, c < len(xs) - 1)
                    p = self._probs(img[y0:y0 + hr, x0:x0 + wc])[:, :, lo - x0:hi - x0].cpu()
                    wgt = torch.from_numpy(np.outer(wy, wx[lo - x0:hi - x0]))
                    acc[:, :hr, lo - sx0:hi - sx0].addcmul_(p, wgt.unsqueeze(0))
                    tiles += 1
                done = (ys[r + 1] - y0) if r + 1 < len(ys) else hr
                lab, e8, t = self._finish(acc[:, :done])
                labels[y0:y0 + done, sx0:sx1] = lab
                ent[y0:y0 + done, sx0:sx1] = e8
                total += t
                carry = hr - done
                if carry:
                    acc[:, :carry] = acc[:, done:hr].clone()
                acc[:, carry:] = 0
                bands_done += 1
                if self.band_progress is not None:
                    self.band_progress(bands_done, bands)
        return labels, ent, total, tiles
