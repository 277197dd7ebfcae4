"""The training loss and median-frequency class weights."""

from __future__ import annotations

from typing import Iterable

import numpy as np
import torch
import torch.nn.functional as F

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


def segmentation_loss(logits: torch.Tensor, target: torch.Tensor,
                      weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean cross-entropy over labelled pixels (ignored pixels excluded).

    A batch whose every pixel is ignored gives a zero loss (still differentiable)."""
    if not bool((target != IGNORE).any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits.float(), target, weight=weight, ignore_index=IGNORE)
