"""Which model made a prediction: the checkpoint file and the epoch of its weights.

Each prediction is stored with the model that made it (``predicted_by``, the
checkpoint's path, and ``predicted_epoch``), so that predictions of different
models are never mixed: a run's ``last.pt`` predicting the image on screen after
each epoch, and ``best.pt`` rewritten by a later epoch at the same path, are other
models than the active one.  *Predict all* (the window's Ctrl+Shift+P, ``segstudio
predict --only unlabelled``) redoes the predictions that are not from the model it
predicts with (:func:`needs_prediction`), and *Label next* compares the scores of
one model only (:meth:`ModelRef.made`).

:class:`CheckpointRef` is the path as a ``str`` that also carries the epoch: given
as the checkpoint to :meth:`Project.save_prediction`, the epoch is written in the
same statement as the prediction (a plain path records no epoch: "not known", never
taken for the active model's).  No Qt, no torch.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .project import HUMAN_STATUSES, ImageRecord, Project


class CheckpointRef(str):
    """A checkpoint's path (a ``str``, as predictors hand it on) with the epoch of the
    weights read from it (None: the file names none)."""

    epoch: int | None

    def __new__(cls, path: str | os.PathLike[str], epoch: int | None) -> CheckpointRef:
        ref = super().__new__(cls, os.fspath(path))
        ref.epoch = None if epoch is None else int(epoch)
        return ref

    def __reduce__(self) -> tuple[type[CheckpointRef], tuple[str, int | None]]:
        return (CheckpointRef, (str(self), self.epoch))


def same_file(a: str | None, b: str | None, base: Path | None = None) -> bool:
    """Whether two checkpoint paths name the same file (relative ones from ``base``)."""
    if not a or not b:
        return False

    def norm(p: str) -> str:
        path = Path(p)
        if not path.is_absolute() and base is not None:
            path = base / path
        return os.path.normcase(os.path.normpath(str(path)))

    return norm(a) == norm(b)


@dataclass(frozen=True)
class ModelRef:
    """A model as predictions record it: its checkpoint file and epoch."""

    checkpoint: str
    epoch: int | None

    @classmethod
    def of(cls, ref: str) -> ModelRef:
        """From a predictor's checkpoint path (a CheckpointRef carries the epoch)."""
        return cls(str(ref), getattr(ref, "epoch", None))

    def made(self, rec: ImageRecord, base: Path | None = None) -> bool:
        """Whether this model made the prediction ``rec`` has."""
        return (rec.has_prediction and rec.predicted_epoch == self.epoch
                and same_file(rec.predicted_by, self.checkpoint, base))

    def describe(self) -> str:
        return self.checkpoint + (f" (epoch {self.epoch})" if self.epoch is not None else "")


def needs_prediction(records: Iterable[ImageRecord], model: ModelRef,
                     base: Path | None = None) -> list[ImageRecord]:
    """The usable images without a human mask that have no prediction of ``model``:
    no prediction at all, or one another model (or epoch) made."""
    return [r for r in records if r.usable and r.status not in HUMAN_STATUSES
            and not model.made(r, base)]


def to_predict(project: Project, model: ModelRef) -> list[ImageRecord]:
    """What predict-all predicts with ``model`` (see :func:`needs_prediction`)."""
    return needs_prediction(project.images(statuses=("unlabelled", "predicted")), model,
                            project.project_dir)


def latest_model(records: Iterable[ImageRecord]) -> ModelRef | None:
    """The model of the most recent prediction among ``records`` (None: none has one)."""
    newest = max((r for r in records if r.has_prediction and r.predicted_by),
                 key=lambda r: r.predicted_at or 0.0, default=None)
    return None if newest is None else ModelRef(str(newest.predicted_by), newest.predicted_epoch)
