"""Prediction over a project and evaluation against its human masks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch

from ..core.errors import SegStudioError
from ..core.large_store import record_is_large
from ..core.project import HUMAN_STATUSES, ImageRecord, Project
from .inference import PredictionResult, Predictor
from .large.predict import predict_large
from .metrics import ConfusionMatrix
from .train.losses import IGNORE

ONLY = ("unlabelled", "unreviewed", "all")


class ImagePredictor(Protocol):
    """What predict_project needs: a Predictor, or a Scorer standing in for one."""

    @property
    def checkpoint_path(self) -> str | None: ...

    def predict(self, image: np.ndarray) -> PredictionResult: ...


@dataclass
class PredictSummary:
    predicted: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (relpath, reason)
    seconds: float = 0.0
    cancelled: bool = False


def select_for_prediction(project: Project, only: str = "unlabelled") -> list[ImageRecord]:
    """unlabelled: images with neither mask nor prediction; unreviewed: every image
    without a human mask; all: every image (human masks are never overwritten:
    predictions go to their own files)."""
    if only == "unlabelled":
        recs = project.images(statuses=("unlabelled",))
    elif only == "unreviewed":
        recs = project.images(statuses=("unlabelled", "predicted"))
    elif only == "all":
        recs = project.images()
    else:
        raise SegStudioError(f"--only {only!r}: choose one of {', '.join(ONLY)}")
    return [r for r in recs if r.usable]


def save_result(project: Project, rec: ImageRecord, result: PredictionResult,
                checkpoint: str | None, lut: np.ndarray | None = None) -> ImageRecord:
    """Write ``result`` as the prediction of ``rec`` (never over a human mask); for an
    image with a human mask also store the prediction's IoU against it.  ``lut`` is
    the class table's training LUT (computed when not given).  Returns the new record."""
    new = project.save_prediction(rec, result.labels, checkpoint, result.uncertainty,
                                  result.entropy)
    if new.has_human_mask:
        mask = project.load_mask(new)
        if mask is not None:
            lut = lut if lut is not None else project.classes.train_lut(IGNORE)
            cm = ConfusionMatrix(project.classes.num_trainable, IGNORE)
            cm.update(torch.from_numpy(lut[result.labels]), torch.from_numpy(lut[mask]))
            project.set_iou(new, cm.metrics()["miou"])
            new = project.image(new.id)
    return new


def predict_project(project: Project, predictor: ImagePredictor, only: str = "unlabelled",
                    progress: Callable[[int, int], None] | None = None,
                    cancel: threading.Event | None = None,
                    on_result: Callable[[ImageRecord, PredictionResult], None] | None = None,
                    records: list[ImageRecord] | None = None) -> PredictSummary:
    """Predict and save (``project.save_prediction``) for the selected images.

    For images that have a human mask, the prediction is stored beside it and
    the image's IoU against the mask is recorded (``project.set_iou``)."""
    recs = records if records is not None else select_for_prediction(project, only)
    summary = PredictSummary()
    t0 = time.perf_counter()
    lut = project.classes.train_lut(IGNORE)
    for i, rec in enumerate(recs):
        if cancel is not None and cancel.is_set():
            summary.cancelled = True
            break
        try:
            if record_is_large(rec):  # block by block into a chunked prediction
                predict_large(project, rec, predictor)
                summary.predicted += 1
                if progress is not None:
                    progress(i + 1, len(recs))
                continue
            image = project.load_image(rec)
            res = predictor.predict(image)
            save_result(project, rec, res, predictor.checkpoint_path, lut)
            summary.predicted += 1
            if on_result is not None:
                on_result(rec, res)
        except SegStudioError as exc:
            summary.skipped.append((rec.relpath, str(exc)))
        if progress is not None:
            progress(i + 1, len(recs))
    summary.seconds = time.perf_counter() - t0
    return summary


def select_for_eval(project: Project, split: str = "val") -> list[ImageRecord]:
    recs = [r for r in project.images(statuses=HUMAN_STATUSES) if r.usable]
    if split == "all":
        return recs
    if split not in ("train", "val", "test"):
        raise SegStudioError(f"--split {split!r}: choose val, train or all")
    return [r for r in recs if r.split == split]


def evaluate_project(project: Project, predictor: Predictor, split: str = "val",
                     progress: Callable[[int, int], None] | None = None,
                     cancel: threading.Event | None = None) -> dict[str, Any]:
    """Metrics of the predictor on the project's human masks of a split.

    Returns global_accuracy, class_accuracy, miou, per_class_iou (by class name),
    per_class_accuracy, confusion_matrix (rows: truth, columns: prediction, in the
    order of class_names), pixels, images, skipped, seconds."""
    recs = select_for_eval(project, split)
    if not recs:
        hint = " (splits are assigned when training starts; try --split all)" if split != "all" \
            else ""
        raise SegStudioError(f"no corrected or reviewed images in split {split!r}{hint}")
    lut = project.classes.train_lut(IGNORE)
    conf = ConfusionMatrix(predictor.num_classes, IGNORE)
    skipped: list[tuple[str, str]] = []
    t0 = time.perf_counter()
    n = 0
    for i, rec in enumerate(recs):
        if cancel is not None and cancel.is_set():
            break
        try:
            mask = project.load_mask(rec)
            if mask is None:
                raise SegStudioError(f"{project.mask_path(rec)}: the mask is missing")
            res = predictor.predict(project.load_image(rec))
            conf.update(torch.from_numpy(lut[res.labels].astype(np.int64)),
                        torch.from_numpy(lut[mask].astype(np.int64)))
            n += 1
        except SegStudioError as exc:
            skipped.append((rec.relpath, str(exc)))
        if progress is not None:
            progress(i + 1, len(recs))
    names = [c.name for c in predictor.classes.trainable]
    out = conf.metrics(names)
    out.update(images=n, split=split, skipped=[{"image": p, "error": e} for p, e in skipped],
               seconds=time.perf_counter() - t0, checkpoint=predictor.checkpoint_path)
    return out
