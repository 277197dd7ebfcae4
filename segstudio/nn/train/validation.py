"""Validation during training: loss and metrics over whole validation images, and
the epoch's record (:func:`epoch_metrics`) built from them."""

from __future__ import annotations

import threading
from collections.abc import Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from ...core.classes import ClassTable
from ...core.errors import SegStudioError
from ...core.run_types import EpochMetrics
from ..metrics import ConfusionMatrix
from ..models.segnet import as_net, fold_batchnorm
from . import data as D
from .losses import IGNORE
from .step import TrainStep

if TYPE_CHECKING:
    from ..inference import Predictor

# (validation loss or None, metrics_from_confusion's dict or None)
ValidationResult = tuple[float | None, dict[str, Any] | None]


def validate(step: TrainStep, items: Sequence[D.Item], loader: D.SampleLoader,
             classes: ClassTable, fill: Sequence[int], batch_size: int, max_pixels: int,
             cancel: threading.Event | None = None) -> Generator[str, None, ValidationResult]:
    """Generator: yields warning texts; returns (val loss | None, metrics | None).

    Images of the same size are batched; images above ``max_pixels`` go through
    the tiled :class:`Predictor` (metrics only).  On the CPU a copy of the model in
    inference form (BN folded, channels_last) is ~1.5x faster than eval mode."""
    net, device, weights = step.model, step.device, step.weights
    was_training = net.training
    net.eval()
    model, cl = net, step.channels_last
    if device.type == "cpu":
        model, cl = fold_batchnorm(as_net(net)).to(memory_format=torch.channels_last), True
    k = classes.num_trainable
    conf = ConfusionMatrix(k, IGNORE)
    loss_sum, weight_sum = 0.0, 0.0
    predictor: Predictor | None = None
    group: list[tuple[D.U8, D.U8]] = []

    def run_group() -> None:
        nonlocal loss_sum, weight_sum
        imgs, tgts = D.collate(group, fill)
        x = D.to_tensor(imgs, step.mean, step.std, device, cl)
        y = torch.from_numpy(tgts).to(device).long()
        # TrainStep.autocast gets its annotation in the change that types step.py
        with step.autocast():
            logits: torch.Tensor = model(x)
        logits = logits.float()
        valid = y != IGNORE
        if bool(valid.any()):
            loss_sum += float(F.cross_entropy(logits, y, weight=weights, ignore_index=IGNORE,
                                              reduction="sum"))
            w = weights[y[valid]].sum() if weights is not None else valid.sum()
            weight_sum += float(w)
        conf.update(logits.argmax(1), y)
        group.clear()

    try:
        with torch.inference_mode():
            for item in items:
                if cancel is not None and cancel.is_set():
                    break
                try:
                    img, tgt = loader.load(item)
                except SegStudioError as exc:
                    yield str(exc)
                    continue
                if img.shape[0] * img.shape[1] > max_pixels:
                    if predictor is None:
                        from ..inference import Predictor
                        predictor = Predictor(net, classes, step.mean, step.std, device=device)
                    res = predictor.predict(img)
                    conf.update(torch.from_numpy(loader.lut[res.labels].astype(np.int64)),
                                torch.from_numpy(tgt.astype(np.int64)))
                    continue
                if group and (group[0][1].shape != tgt.shape or len(group) >= batch_size):
                    run_group()
                group.append((img, tgt))
            if group:
                run_group()
    finally:
        net.train(was_training)
    metrics = conf.metrics([c.name for c in classes.trainable]) if conf.total else None
    return (loss_sum / weight_sum if weight_sum > 0 else None), metrics


def epoch_metrics(epoch: int, validation: Mapping[str, Any] | None,
                  **numbers: Any) -> EpochMetrics:
    """The :class:`EpochMetrics` of an epoch: the scores of the dict that validation
    returns (:func:`segstudio.nn.metrics.metrics_from_confusion`, or a click model's
    ``iou_1``, ``iou_3``, ``noc85``, ...) and the training loop's ``numbers``."""
    v = validation or {}
    cm = v.get("confusion_matrix")
    return EpochMetrics(
        epoch, miou=v.get("miou"), pixel_accuracy=v.get("global_accuracy"),
        class_accuracy=v.get("class_accuracy"), per_class_iou=v.get("per_class_iou"),
        per_class_accuracy=v.get("per_class_accuracy"), pixels=v.get("pixels"),
        confusion_matrix=None if cm is None else tuple(tuple(int(x) for x in r) for r in cm),
        objects=v.get("objects"), iou_1=v.get("iou_1"), iou_3=v.get("iou_3"),
        noc85=v.get("noc85"), noc90=v.get("noc90"), max_clicks=v.get("max_clicks"),
        **numbers)
