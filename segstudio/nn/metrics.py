"""Segmentation metrics from a confusion matrix (as defined in the SegNet paper).

* global accuracy: correctly classified pixels / all labelled pixels;
* class-average accuracy: the mean over classes of each class's recall
  (classes with no labelled pixel are left out of the mean);
* IoU per class: TP / (TP + FP + FN); mIoU is the mean over the classes that
  occur in the ground truth or in the prediction (a class absent from both
  has no IoU and is left out).

Pixels whose target is the ignore index are excluded everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


class ConfusionMatrix:
    """Accumulates a K x K matrix: rows are the true channel, columns the predicted one."""

    def __init__(self, num_classes: int, ignore_index: int = 255):
        self.k = int(num_classes)
        self.ignore_index = ignore_index
        self.matrix = torch.zeros((self.k, self.k), dtype=torch.int64)

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        """``pred`` and ``target`` hold channel indices of the same shape."""
        if pred.shape != target.shape:
            raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} "
                             "differ in shape")
        t = target.reshape(-1).to(torch.int64)
        p = pred.reshape(-1).to(device=t.device, dtype=torch.int64)
        valid = (t != self.ignore_index) & (t >= 0) & (t < self.k)
        codes = t[valid] * self.k + p[valid]
        counts = torch.bincount(codes, minlength=self.k * self.k)
        self.matrix += counts.reshape(self.k, self.k).cpu()

    def merge(self, other: ConfusionMatrix) -> None:
        self.matrix += other.matrix

    @property
    def total(self) -> int:
        return int(self.matrix.sum())

    def metrics(self, names: Sequence[str] | None = None) -> dict[str, Any]:
        return metrics_from_confusion(self.matrix.numpy(), names)


def metrics_from_confusion(matrix: np.ndarray, names: Sequence[str] | None = None
                           ) -> dict[str, Any]:
    m = np.asarray(matrix, dtype=np.float64)
    k = m.shape[0]
    names = list(names) if names is not None else [str(i) for i in range(k)]
    tp = np.diag(m)
    gt = m.sum(axis=1)
    pr = m.sum(axis=0)
    union = gt + pr - tp
    total = m.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(gt > 0, tp / gt, np.nan)
        iou = np.where(union > 0, tp / union, np.nan)
    def _mean(v: np.ndarray) -> float | None:
        v = v[~np.isnan(v)]
        return float(v.mean()) if v.size else None
    return {
        "global_accuracy": float(tp.sum() / total) if total > 0 else None,
        "class_accuracy": _mean(recall),
        "miou": _mean(iou),
        "per_class_iou": {n: (None if np.isnan(v) else float(v))
                          for n, v in zip(names, iou, strict=False)},
        "per_class_accuracy": {n: (None if np.isnan(v) else float(v))
                               for n, v in zip(names, recall, strict=False)},
        "pixels": int(total),
        "confusion_matrix": m.astype(np.int64).tolist(),
        "class_names": names,
    }


def trivial_metrics(matrix: np.ndarray, majority: int,
                    names: Sequence[str] | None = None) -> dict[str, Any]:
    """The metrics of the trivial predictor that paints every pixel with class
    ``majority``, on the ground truth of ``matrix`` (rows = true classes)."""
    m = np.asarray(matrix, dtype=np.int64)
    painted = np.zeros_like(m)
    painted[:, majority] = m.sum(axis=1)
    return metrics_from_confusion(painted, names)
