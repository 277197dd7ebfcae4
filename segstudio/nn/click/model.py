"""The click model: SegNet on an image plus click maps and the previous mask, one output
(the clicked object's logit).  Its training step (RITM's iterative training), its
predictor (RITM's zoom-in) and the simulated-user evaluation (mean IoU after k clicks,
NoC@85 / NoC@90).

The model's input channels are the image's C channels followed by the positive
and the negative clicks' distance maps and the previous mask (uint8, 0..255).  The
checkpoint's normalisation covers all C + 3: the image's mean and std, then mean 0
and std 1 for the three maps, so the ordinary uint8 -> float normalisation puts
them in [0, 1].
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F

from ...core.errors import SegStudioError
from ...core.grabcut import grabcut_refine
from ..device import resolve_device
from ..models.segnet import as_net, fold_batchnorm, min_input_size
from ..runs.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from ..train import data as D
from ..train.losses import IGNORE
from ..train.step import backward_step
from . import simulate as C
from .data import ValObject

MAP_MEAN = (0.0,) * C.CLICK_CHANNELS
MAP_STD = (1.0,) * C.CLICK_CHANNELS
# A click pins the pixels within this radius for the GrabCut refinement (the clicked
# pixel and its 4 neighbours).  Radius 3 (29 pixels) pinned outside a thin error sliver
# or a small object's edge: on 72 CamVid val objects radius 1 took the clicks to 85 %
# from 13.2 to 12.3 and to 90 % from 16.2 to 15.9; on 36 of them radius 0 needed 14.8,
# 2 needed 13.4, 3 needed 13.1 and 1 needed 13.0.
CLICK_PIN = 1


def click_normalization(mean: Sequence[float], std: Sequence[float]
                        ) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The image's normalisation extended over the three click maps."""
    return tuple(mean) + MAP_MEAN, tuple(std) + MAP_STD


def click_loss(logits: torch.Tensor, targets: torch.Tensor, dice: bool) -> torch.Tensor:
    """Binary cross-entropy over the labelled pixels (+ soft Dice per sample)."""
    z = logits[:, 0].float()
    valid = targets != IGNORE
    y = (targets == 1).float()
    w = valid.float()
    bce = F.binary_cross_entropy_with_logits(z, y, weight=w, reduction="sum")
    loss = bce / w.sum().clamp_min(1.0)
    if dice:
        p = torch.sigmoid(z) * w
        inter = (p * y).sum((1, 2))
        denom = p.sum((1, 2)) + (y * w).sum((1, 2))
        loss = loss + (1 - (2 * inter + 1) / (denom + 1)).mean()
    return loss


class ClickTrainStep:
    """One optimizer step on a batch of click samples (see :mod:`click_data`).

    RITM's iterative training: before the step, 0..``iters`` rounds (drawn per
    batch) run the model without gradients, add to every sample a click in the
    largest error of its prediction (:func:`clicks.error_click`) and make that
    prediction the sample's previous mask; the step then learns from the clicks
    and previous masks a user would have produced with this model."""

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                 device: torch.device, mean: Sequence[float], std: Sequence[float],
                 channels_last: bool = False, amp_dtype: torch.dtype | None = None,
                 scaler: torch.amp.GradScaler | None = None, loss: str = "ce+dice",
                 iters: int = 3, rng: np.random.Generator | None = None):
        self.model, self.opt, self.device = model, optimizer, device
        self.mean, self.std = tuple(mean), tuple(std)
        self.channels_last = channels_last
        self.amp_dtype, self.scaler = amp_dtype, scaler
        self.weights: torch.Tensor | None = None  # as TrainStep's; the click loss has none
        self.dice = loss == "ce+dice"
        self.iters = iters
        self.rng = rng if rng is not None else np.random.default_rng(0)

    def autocast(self) -> AbstractContextManager[object]:
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def _forward(self, images: D.U8) -> torch.Tensor:
        x = D.to_tensor(images, self.mean, self.std, self.device, self.channels_last)
        with self.autocast():
            logits: torch.Tensor = self.model(x)
            return logits

    def add_error_clicks(self, images: D.U8, targets: D.U8, rounds: int) -> None:
        """``rounds`` simulated clicks per sample, written into ``images`` (in place)."""
        c = images.shape[3] - C.CLICK_CHANNELS
        reach = C.click_reach(images.shape[1])
        for _ in range(rounds):
            with torch.no_grad():
                pred = (self._forward(images)[:, 0] > 0).cpu().numpy()
            for b in range(len(images)):
                click = C.error_click(targets[b] == 1, pred[b], targets[b] != IGNORE)
                if click is not None:
                    x, y, positive = click
                    C.draw_cones(images[b, :, :, c if positive else c + 1], [(x, y)], reach)
                images[b, :, :, c + 2] = pred[b] * 255

    def __call__(self, images: D.U8, targets: D.U8, lr: float | None = None
                 ) -> tuple[float, float | None]:
        """(loss, pixel accuracy on every 4th pixel each way) of one step."""
        if lr is not None:
            for g in self.opt.param_groups:
                g["lr"] = lr
        images = np.array(images, copy=True)
        rounds = int(self.rng.integers(0, self.iters + 1)) if self.iters > 0 else 0
        if rounds:
            self.add_error_clicks(images, targets, rounds)
        y = torch.from_numpy(np.ascontiguousarray(targets)).to(self.device).long()
        self.opt.zero_grad(set_to_none=True)
        logits = self._forward(images)
        loss = click_loss(logits, y, self.dice)
        backward_step(loss, self.opt, self.scaler)
        with torch.no_grad():
            sub = y[:, ::4, ::4]
            valid = sub != IGNORE
            n = int(valid.sum())
            hits = ((logits[:, 0, ::4, ::4] > 0).long() == sub) & valid
            acc = float(hits.sum()) / n if n else None
        return float(loss.detach()), acc


class ClickPredictor:
    """The click model in inference form (BN folded, eval, channels_last on the CPU).

    ``predict(image, pos, neg, prev_mask)`` gives the object's bool mask after the
    clicks; the model looks at the zoom-in box (:func:`clicks.click_box`) only.  With
    ``refine`` (the default) its probabilities, resized to the box, seed GrabCut at the
    image's resolution (:func:`~segstudio.core.grabcut.grabcut_refine`: confident
    pixels fixed, the others moved to the image's edges, the clicked pixels kept):
    on CamVid val objects this took the clicks to 85 % IoU from 18.3 to 13.4 for the
    same network, whose 96 x 96 frame alone cannot place a boundary finer than a few
    image pixels."""

    def __init__(self, model: torch.nn.Module, mean: Sequence[float], std: Sequence[float],
                 size: int, device: str | torch.device = "cpu",
                 checkpoint_path: str | None = None, refine: bool = True):
        self.device = resolve_device(device)
        self.size = int(size)
        net = as_net(model)
        mult = min_input_size(net)
        if self.size % mult:
            raise SegStudioError(f"the click model's input size {self.size} is not a multiple "
                                 f"of {mult}")
        self.image_channels = int(net.in_channels) - C.CLICK_CHANNELS
        self.mean, self.std = tuple(mean), tuple(std)
        self.checkpoint_path = checkpoint_path
        cpu = self.device.type == "cpu"
        self.channels_last = cpu or self.device.type == "cuda"
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        self.model = fold_batchnorm(net).to(self.device).to(memory_format=fmt).eval()
        self.refine = refine
        self.last_seconds = 0.0

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike[str] | Checkpoint, device: str = "cpu",
                        image_channels: int | None = None, refine: bool = True
                        ) -> ClickPredictor:
        ckpt = path if isinstance(path, Checkpoint) else load_checkpoint(path)
        where = ckpt.path or "checkpoint"
        if ckpt.task != "click":
            raise CheckpointError(f"{where}: a segmentation model, not a click model; train "
                                  "one with 'segstudio train FOLDER --task click'")
        if image_channels is not None and ckpt.image_channels != image_channels:
            kind = {1: "grayscale", 3: "RGB"}
            raise CheckpointError(f"{where}: a click model for "
                                  f"{kind.get(ckpt.image_channels, ckpt.image_channels)} images, "
                                  f"but these are {kind.get(image_channels, image_channels)}; "
                                  "train a click model on this project")
        return cls(ckpt.build_model(), ckpt.mean, ckpt.std, ckpt.click_size, device,
                   str(ckpt.path) if ckpt.path else None, refine)

    @torch.inference_mode()
    def probabilities(self, inputs: D.U8) -> npt.NDArray[np.float32]:
        """(N, S, S, C + 3) uint8 model inputs -> (N, S, S) float32 object probabilities."""
        x = D.to_tensor(inputs, self.mean, self.std, self.device, self.channels_last)
        return torch.sigmoid(self.model(x)[:, 0].float()).cpu().numpy()

    def predict(self, image: npt.ArrayLike, pos_clicks: Sequence[C.Click],
                neg_clicks: Sequence[C.Click] = (), prev_mask: npt.ArrayLike | None = None,
                box: C.Box | None = None) -> C.Mask:
        """The object's (H, W) bool mask after the clicks (``(x, y)`` pixels), given the
        previous mask (None: none yet) and optionally a dragged box ``(y0, x0, y1, x1)``."""
        t0 = time.perf_counter()
        img = np.asarray(image)
        if img.dtype != np.uint8 or img.ndim not in (2, 3):
            raise SegStudioError(f"expected a uint8 HxW or HxWx3 image, got {img.dtype} "
                                 f"{img.shape}")
        img = D.as_channels(img, self.image_channels, "image")
        shape = img.shape[:2]
        pos = [(int(x), int(y)) for x, y in pos_clicks]
        neg = [(int(x), int(y)) for x, y in neg_clicks]
        for x, y in pos + neg:
            if not (0 <= x < shape[1] and 0 <= y < shape[0]):
                raise SegStudioError(f"click ({x}, {y}) is outside the {shape[1]}x{shape[0]} "
                                     "image")
        prev = None if prev_mask is None else np.asarray(prev_mask, bool)
        bx = C.click_box(shape, pos, neg, prev, box)
        inp = C.model_input(img, bx, self.size, pos, neg, prev)
        prob = self.probabilities(inp[None])[0]
        if self.refine:
            y0, x0, y1, x1 = bx
            up = cv2.resize(prob, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
            region = grabcut_refine(img[y0:y1, x0:x1], up, [(x - x0, y - y0) for x, y in pos],
                                    [(x - x0, y - y0) for x, y in neg], radius=CLICK_PIN)
            out = C.paste_region(region, bx, shape, prev)
        else:
            out = C.paste(prob, bx, shape, prev)
        self.last_seconds = time.perf_counter() - t0
        return out


def evaluate_objects(predictor: ClickPredictor, objects: Sequence[ValObject],
                     max_clicks: int = 20, stop_iou: float | None = None,
                     min_clicks: int = 0, cancel: threading.Event | None = None
                     ) -> dict[str, Any]:
    """The simulated user on each object: IoU after 1 and 3 clicks (mean), NoC@85 and
    NoC@90 (mean clicks, at most ``max_clicks``), and the IoU curves."""
    curves: list[list[float]] = []
    for ob in objects:
        if cancel is not None and cancel.is_set():
            break

        def predict(pos: list[C.Click], neg: list[C.Click], prev: C.Mask | None,
                    ob: ValObject = ob) -> C.Mask:
            return predictor.predict(ob.image, pos, neg, prev)

        curves.append(C.simulate(predict, ob.mask, ob.valid, max_clicks, stop_iou, min_clicks))
    if not curves:
        return {"objects": 0}

    def at(k: int) -> float:
        return float(np.mean([c[min(k, len(c)) - 1] for c in curves]))

    return {"objects": len(curves), "iou_1": at(1), "iou_3": at(min(3, max_clicks)),
            "noc85": float(np.mean([C.noc(c, 0.85, max_clicks) for c in curves])),
            "noc90": float(np.mean([C.noc(c, 0.90, max_clicks) for c in curves])),
            "max_clicks": max_clicks, "curves": curves}
