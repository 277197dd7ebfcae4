"""The engine's epoch record: built from validation's scores, carried by EpochEnd through a
run's journal, stored and written as CSV with the same numbers."""

from __future__ import annotations

import numpy as np
import pytest

from segstudio.core.project import Project
from segstudio.core.run_types import STORED, EpochMetrics, epochs_csv, epochs_from_csv
from segstudio.nn.metrics import metrics_from_confusion
from segstudio.nn.runs import journal
from segstudio.nn.runs.events import EpochEnd
from segstudio.nn.train.validation import epoch_metrics
from tests.conftest import write_png

NUMBERS = dict(train_loss=0.5, val_loss=0.25, lr=0.001, seconds=4.5, images_per_sec=8.0,
               data_seconds=0.5, compute_seconds=3.0, train_images=12, train_accuracy=0.75,
               val_seconds=1.0, val_images=3)


def _semantic() -> EpochMetrics:
    scores = metrics_from_confusion(np.array([[5, 1, 0], [2, 6, 0], [0, 0, 0]]),
                                    ["sky", "road", "car"])
    return epoch_metrics(3, scores, **NUMBERS)


def test_validation_scores_become_the_epoch_record():
    m = _semantic()
    want = metrics_from_confusion(np.array([[5, 1, 0], [2, 6, 0], [0, 0, 0]]),
                                  ["sky", "road", "car"])
    assert m.epoch == 3 and m.miou == want["miou"] and m.validated and not m.is_click
    assert m.pixel_accuracy == want["global_accuracy"] == 11 / 14
    assert m.class_accuracy == want["class_accuracy"]
    assert m.per_class_iou == want["per_class_iou"] and m.per_class_iou["car"] is None
    assert m.per_class_accuracy == want["per_class_accuracy"] and m.pixels == 14
    assert m.confusion_matrix == ((5, 1, 0), (2, 6, 0), (0, 0, 0))
    assert m.class_names == ("sky", "road", "car")
    assert (m.train_loss, m.val_images, m.train_accuracy) == (0.5, 3, 0.75)
    assert m.iou_1 is None and m.objects is None

    none = epoch_metrics(1, None, train_loss=1.0)
    assert none == EpochMetrics(1, train_loss=1.0) and not none.validated


def test_a_click_models_scores():
    m = epoch_metrics(2, {"objects": 4, "iou_1": 0.5, "iou_3": 0.7, "noc85": 2.5,
                          "noc90": 3.0, "max_clicks": 5, "miou": 0.7}, **NUMBERS)
    assert m.is_click and (m.iou_1, m.iou_3, m.noc85, m.noc90) == (0.5, 0.7, 2.5, 3.0)
    assert (m.objects, m.max_clicks, m.miou, m.per_class_iou) == (4, 5, 0.7, None)


def test_epoch_end_through_the_journal_the_database_and_the_csv(tmp_path):
    m = _semantic()
    ev = EpochEnd(5, m, "last.pt", "best.pt", True, 0.4, 9.0, 0.2, 0.6, True)
    assert ev.epoch == 3
    back = journal.decode(journal.encode(ev))
    assert back == ev and isinstance(back.metrics, EpochMetrics)

    write_png(tmp_path / "imgs" / "a.png", np.zeros((8, 8, 3), np.uint8))
    with Project.open(tmp_path / "imgs") as project:
        run = project.runs.create({}, "cpu")
        project.runs.add_epoch(run, back.metrics)
        stored = project.runs.epochs(run)
    # the database keeps the stored columns; the event's extras are left out
    kept = EpochMetrics(**{attr: getattr(m, attr) for _, attr in STORED})
    assert stored == [kept]
    assert epochs_from_csv(epochs_csv(stored)) == [kept]
    assert stored[0].miou == pytest.approx(ev.metrics.miou)


def test_an_older_journal_line_still_reads():
    old = ('{"type": "EpochEnd", "epoch": 2, "epochs": 4, "train_loss": 0.5, '
           '"train_accuracy": 0.7, "val_loss": 0.4, "metrics": {"miou": 0.3, '
           '"global_accuracy": 0.8, "class_accuracy": 0.6, "per_class_iou": {"a": 0.3}}, '
           '"lr": 0.01, "seconds": 3.0, "data_seconds": 0.5, "compute_seconds": 2.0, '
           '"val_seconds": 0.5, "images_per_sec": 4.0, "train_images": 8, "val_images": 2, '
           '"last_checkpoint": "l.pt", "best_checkpoint": null, "is_best": true, '
           '"best_miou": 0.3, "eta_seconds": 6.0}')
    ev = journal.decode(old)
    assert isinstance(ev, EpochEnd) and ev.epoch == 2 and ev.epochs == 4
    assert ev.metrics == EpochMetrics(
        2, train_loss=0.5, val_loss=0.4, miou=0.3, pixel_accuracy=0.8, class_accuracy=0.6,
        per_class_iou={"a": 0.3}, lr=0.01, seconds=3.0, images_per_sec=4.0, data_seconds=0.5,
        compute_seconds=2.0, train_images=8, train_accuracy=0.7, val_seconds=0.5,
        val_images=2)
    assert ev.is_best and ev.last_checkpoint == "l.pt"
    assert journal.decode('{"type": "EpochEnd", "epochs": 4, "metrics": 7}') is None
