"""Training losses and class weights.

* cross-entropy over labelled pixels (ignored pixels excluded), optionally
  class-weighted;
* ``ce+dice``: cross-entropy plus soft Dice over the classes present in the
  batch (Milletari et al. 2016), which rewards overlap of small classes;
* ``ce+lovasz``: cross-entropy plus the Lovasz-softmax surrogate of the
  Jaccard index (Berman, Rannen Triki, Blaschko, CVPR 2018);
* ``focal``: focal loss (Lin et al. 2017), cross-entropy scaled by
  (1 - p_t)^2 so that pixels already right count less.

Class weights: median-frequency balancing (Eigen & Fergus 2015, as in
SegNet) computed from the project's own masks, and :func:`balanced_weights`,
the clipped form segstudio trains with by default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..registry import LOSSES as LOSS_ENTRIES

IGNORE = 255  # the target value of ignored pixels after ClassTable.train_lut()


class MedianFrequency:
    """Median-frequency balancing (Eigen & Fergus 2015, used by SegNet).

    freq(c) = pixels of class c / pixels of the images in which c occurs;
    weight(c) = median over classes of freq / freq(c).  Feed masks already
    mapped to channels (ignored pixels = 255); ``labelled_only`` counts only
    labelled pixels of an image in the denominator (the SegNet tutorial's
    weights count every pixel, the default)."""

    def __init__(self, num_classes: int, labelled_only: bool = False):
        self.k = num_classes
        self.labelled_only = labelled_only
        self.class_pixels = np.zeros(num_classes, np.int64)
        self.image_pixels = np.zeros(num_classes, np.int64)

    def add(self, channels: np.ndarray) -> None:
        counts = np.bincount(channels.ravel(), minlength=256)
        per_class = counts[: self.k]
        size = int(per_class.sum()) if self.labelled_only else int(channels.size)
        self.class_pixels += per_class
        self.image_pixels[per_class > 0] += size

    @property
    def frequencies(self) -> np.ndarray:
        """Each class's share of the labelled pixels (0 for a class never seen)."""
        total = self.class_pixels.sum()
        return self.class_pixels / total if total else np.zeros(self.k)

    def weights(self) -> np.ndarray:
        present = self.class_pixels > 0
        freq = np.zeros(self.k, np.float64)
        freq[present] = self.class_pixels[present] / self.image_pixels[present]
        if not present.any():
            return np.ones(self.k, np.float64)
        med = float(np.median(freq[present]))
        w = np.ones(self.k, np.float64)
        w[present] = med / freq[present]
        return w  # classes never seen keep weight 1


def median_frequency_weights(channel_masks: Iterable[np.ndarray], num_classes: int,
                             labelled_only: bool = False) -> np.ndarray:
    acc = MedianFrequency(num_classes, labelled_only)
    for m in channel_masks:
        acc.add(m)
    return acc.weights()


RARE = 3.0  # a class is rare when its median-frequency weight exceeds this (under a third
#             of the median class's frequency): measured, a 20 % membrane class (weight 2.5)
#             and a 28 % road class (1.8) train better unweighted, while a 13 % road class
#             (3.9) on 8 small images was only learnt with weights


def rare_classes(median_frequency: np.ndarray, threshold: float = RARE) -> np.ndarray:
    """Booleans: which classes are rare by their median-frequency weights."""
    return np.asarray(median_frequency, np.float64) > threshold


def balanced_weights(median_frequency: np.ndarray, clip: float = 5.0,
                     power: float = 0.5, threshold: float = RARE) -> np.ndarray:
    """The default class weights: 1 for every class, and for the rare ones their
    median-frequency weight raised to ``power`` (0.5: the square root), at most
    ``clip``.  Measured (bench_quality.py, 20 images each): weighting classes of
    20-30 % (EM membranes, CamVid road vs the rest) cost 4-24 points of mIoU, so a
    mild imbalance is left to plain cross-entropy.  (The weighted cross-entropy is
    a weighted mean, so the loss keeps its scale.)"""
    mf = np.asarray(median_frequency, np.float64)
    return np.where(rare_classes(mf, threshold), np.clip(mf ** power, 1.0, clip), 1.0)


def _cross_entropy(logits: torch.Tensor, target: torch.Tensor,
                   weight: torch.Tensor | None) -> torch.Tensor:
    return F.cross_entropy(logits, target, weight=weight, ignore_index=IGNORE)


def _dice(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None,
          eps: float = 1.0) -> torch.Tensor:
    """1 - mean soft Dice over the classes present in the batch's labelled pixels."""
    k = logits.shape[1]
    valid = target != IGNORE
    probs = logits.softmax(1).permute(0, 2, 3, 1)[valid]  # (N, K)
    onehot = F.one_hot(target[valid].long(), k).to(probs.dtype)
    inter = (probs * onehot).sum(0)
    card = probs.sum(0) + onehot.sum(0)
    dice = (2 * inter + eps) / (card + eps)
    present = onehot.sum(0) > 0
    return 1.0 - dice[present].mean()


def _lovasz_grad(gt_sorted: torch.Tensor) -> torch.Tensor:
    """Gradient of the Lovasz extension of the Jaccard loss w.r.t. sorted errors."""
    gts = gt_sorted.sum()
    inter = gts - gt_sorted.cumsum(0)
    union = gts + (1 - gt_sorted).cumsum(0)
    jac = 1.0 - inter / union
    jac[1:] = jac[1:] - jac[:-1]
    return jac


def _lovasz(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None
            ) -> torch.Tensor:
    """Lovasz-softmax over the batch's labelled pixels, classes present only."""
    k = logits.shape[1]
    valid = target != IGNORE
    probs = logits.softmax(1).permute(0, 2, 3, 1)[valid]
    labels = target[valid].long()
    losses = []
    for c in range(k):
        fg = (labels == c).to(probs.dtype)
        if not bool(fg.any()):
            continue
        errors = (fg - probs[:, c]).abs()
        errors_sorted, perm = torch.sort(errors, descending=True)
        losses.append(torch.dot(errors_sorted, _lovasz_grad(fg[perm])))
    return torch.stack(losses).mean()


def _focal(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None,
           gamma: float = 2.0) -> torch.Tensor:
    valid = target != IGNORE
    logp = F.log_softmax(logits, 1)
    t = target.clone().long()
    t[~valid] = 0
    logpt = logp.gather(1, t.unsqueeze(1)).squeeze(1)
    pt = logpt.exp()
    loss = -((1 - pt) ** gamma) * logpt
    if weight is not None:
        w = weight[t]
        return (loss * w)[valid].sum() / w[valid].sum()
    return loss[valid].mean()


LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None], torch.Tensor]
# the terms a registered loss (:data:`registry.LOSSES`) adds up
TERMS: dict[str, LossFn] = {"ce": _cross_entropy, "dice": _dice, "lovasz": _lovasz,
                            "focal": _focal}


def make_loss(name: str) -> LossFn:
    """The loss function ``(logits, target, weight) -> scalar`` of a registered loss: the
    sum of its terms over the labelled pixels."""
    entry = LOSS_ENTRIES.get(name)
    if entry is None:
        raise ValueError(f"unknown loss {name!r}; choose {', '.join(LOSS_ENTRIES)}")
    parts = [TERMS[t] for t in entry.terms]

    def loss(logits: torch.Tensor, target: torch.Tensor,
             weight: torch.Tensor | None = None) -> torch.Tensor:
        if not bool((target != IGNORE).any()):
            return logits.sum() * 0.0
        logits = logits.float()
        total = parts[0](logits, target, weight)
        for p in parts[1:]:
            total = total + p(logits, target, weight)
        return total

    loss.__name__ = name
    return loss


def segmentation_loss(logits: torch.Tensor, target: torch.Tensor,
                      weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean cross-entropy over labelled pixels (ignored pixels excluded).

    A batch whose every pixel is ignored gives a zero loss (still differentiable)."""
    return _CE(logits, target, weight)


_CE = make_loss("ce")


def choose_class_weights(kind: str, median_frequency: np.ndarray,
                         table: Sequence[float] | None, names: Sequence[str]
                         ) -> tuple[np.ndarray | None, str | None]:
    """(per-class loss weights or None, a note for the log) for ``--class-weights``:
    auto (:func:`balanced_weights` of the training masks' median-frequency weights),
    median (those weights as they are, as in SegNet), table (the class table's), none."""
    if kind == "none":
        return None, None
    if kind == "table":
        if table is None or len(table) != len(names):
            return None, ("the class table has no median-frequency weights for every class; "
                          "training without class weights")
        return np.asarray(table, np.float64), None
    if kind == "auto":
        if not rare_classes(median_frequency).any():
            return None, ("class weights: none needed (no class is rare in the training "
                          "masks)")
        w = balanced_weights(median_frequency)
    else:
        w = np.asarray(median_frequency)
    what = ("balanced (rare classes up by the square root of median frequency, at most 5)"
            if kind == "auto" else "median-frequency")
    listed = ", ".join(f"{n} {v:.3f}" for n, v in zip(names, w, strict=False))
    return w, f"{what} class weights: {listed}"
