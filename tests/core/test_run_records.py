"""EpochMetrics and RunRecord: one epoch's numbers through the database and the CSV, and
a run's row, on a real project database."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from segstudio.core.project import Project
from segstudio.core.run_types import (
    CSV_COLUMNS,
    STORED,
    STORED_COLUMNS,
    EpochMetrics,
    RunRecord,
    epochs_csv,
    epochs_from_csv,
)
from tests.conftest import write_png

FULL = EpochMetrics(
    2, train_loss=0.75, val_loss=0.5, miou=0.625, pixel_accuracy=0.875, class_accuracy=0.5,
    per_class_iou={"Sky": 0.9, "Road": 0.35, "Car": None}, lr=1e-3, seconds=12.5,
    images_per_sec=3.25, data_seconds=1.5, compute_seconds=8.0, train_images=40)
# what only the engine's event has: the database and the CSV do not keep these
EVENT_ONLY = dict(train_accuracy=0.8, val_seconds=2.5, val_images=4,
                  per_class_accuracy={"Sky": 0.95, "Road": 0.5, "Car": None}, pixels=100,
                  confusion_matrix=((50, 2), (3, 45)), objects=None)


@pytest.fixture()
def project(tmp_path):
    write_png(tmp_path / "imgs" / "a.png", np.zeros((8, 8, 3), np.uint8))
    with Project.open(tmp_path / "imgs") as p:
        yield p


def test_the_stored_columns_are_the_epochs_table(project):
    table = {r["name"] for r in project.db.query("PRAGMA table_info(epochs)")}
    assert set(STORED_COLUMNS) == table - {"run_id", "recorded_at"}
    fields = {f.name for f in dataclasses.fields(EpochMetrics)}
    assert {attr for _, attr in STORED} <= fields
    assert [c for c, _ in CSV_COLUMNS] == [c for c in STORED_COLUMNS if c != "per_class_iou"]


def test_an_epoch_round_trips_through_the_database_and_the_csv(project):
    event = dataclasses.replace(FULL, **EVENT_ONLY)
    run = project.runs.create({"arch": "segnet"}, "cpu")
    project.runs.add_epoch(run, EpochMetrics(1, train_loss=1.0, train_images=40))
    project.runs.add_epoch(run, event)
    stored = project.runs.epochs(run)
    assert stored == [EpochMetrics(1, train_loss=1.0, train_images=40), FULL]
    assert project.runs.epoch_counts() == {run: 2}
    text = epochs_csv(stored)
    assert text.splitlines()[0] == (
        "epoch,train_loss,val_loss,val_miou,val_global_acc,val_class_acc,lr,seconds,"
        "images_per_sec,data_seconds,compute_seconds,train_images,iou_Sky,iou_Road,iou_Car")
    assert text.splitlines()[1] == "1,1.0,,,,,,,,,,40,,,"
    back = epochs_from_csv(text)
    # the first epoch had no class scores: the CSV gives it empty ones
    assert back[0] == dataclasses.replace(stored[0],
                                          per_class_iou={"Sky": None, "Road": None, "Car": None})
    assert back[1] == FULL


def test_an_epoch_again_replaces_the_row(project):
    run = project.runs.create({}, "cpu")
    project.runs.add_epoch(run, EpochMetrics(1, train_loss=2.0))
    project.runs.add_epoch(run, EpochMetrics(1, train_loss=1.0, miou=0.5))
    assert project.runs.epochs(run) == [EpochMetrics(1, train_loss=1.0, miou=0.5)]


def test_an_epoch_to_json_and_back():
    event = dataclasses.replace(FULL, **EVENT_ONLY)
    assert EpochMetrics.from_dict(json.loads(json.dumps(event.to_dict()))) == event
    assert EpochMetrics.from_dict({"epoch": 3, "unknown": 1}) == EpochMetrics(3)
    assert event.validated and not event.is_click and event.class_names == ("Sky", "Road", "Car")
    click = EpochMetrics(1, miou=0.7, iou_1=0.5, iou_3=0.7, noc85=2.0, noc90=3.0, objects=5,
                         max_clicks=5)
    assert click.is_click and EpochMetrics.from_dict(click.to_dict()) == click


def test_from_row_of_an_older_row_leaves_the_missing_columns_none():
    assert EpochMetrics.from_row({"epoch": 4, "train_loss": 0.5, "per_class_iou": None}) == \
        EpochMetrics(4, train_loss=0.5)


def test_run_records(project):
    a = project.runs.create({"arch": "segnet", "crop": [64, 64]}, "cpu")
    b = project.runs.create({"arch": "segnet"}, "cuda:0")
    project.runs.update(b, best_miou=0.5, checkpoint="last.pt", not_a_column="x")
    project.runs.finish(a, "completed", "a-last.pt", "a-best.pt", 0.25, "done")
    runs = project.runs.all()
    assert [r.id for r in runs] == [a, b]
    first, second = runs
    assert isinstance(first, RunRecord) and first.config == {"arch": "segnet", "crop": [64, 64]}
    assert (first.status, first.checkpoint, first.best_checkpoint, first.best_miou,
            first.message) == ("completed", "a-last.pt", "a-best.pt", 0.25, "done")
    assert first.finished_at is not None and first.finished_at >= first.started_at
    assert not first.running and second.running and second.finished_at is None
    assert (second.device, second.best_miou, second.checkpoint) == ("cuda:0", 0.5, "last.pt")
    assert second.pid is not None and second.host
    assert project.runs.get(b) == second and project.runs.get(b + 1) is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.status = "failed"  # type: ignore[misc]


def test_settings_and_splits_are_the_projects_collaborators(project):
    project.settings.set("x", {"a": [1, 2]})
    assert project.settings.get("x") == {"a": [1, 2]} and project.get_setting("x") == {"a": [1, 2]}
    rec = project.images()[0]
    project.splits.set(rec, "test")
    assert project.image(rec.id).split == "test"
    assert project.splits.assign(0.3) == {"train": 0, "val": 0, "test": 1}
