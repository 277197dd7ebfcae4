"""The training recipe on a small binary grayscale project: the defaults beat the
trivial predictor, the guard fires on a run that cannot learn, and a round
warm-starts from the active model's weights."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from segstudio.core.classes import ClassInfo, ClassTable
from segstudio.core.project import Project
from segstudio.nn.config import default_train_config
from segstudio.nn.runs.events import EpochEnd, Finished, Message, RunStarted, Step
from segstudio.nn.train.engine import fit

BINARY = ClassTable((ClassInfo(0, "background", (0, 0, 0)),
                     ClassInfo(1, "road", (255, 64, 64)),
                     ClassInfo(255, "unlabelled", (128, 128, 128), ignore=True)))
ROAD, VOID = 3, 11  # CamVid ids


def _road_project(camvid, tmp_path, n: int = 8, constant: bool = False) -> Project:
    """CamVid frames in grayscale at 120x160, road vs the rest (CamVid's void
    unlabelled); with ``constant`` every mask is all background."""
    folder = tmp_path / "gray"
    folder.mkdir()
    names = sorted(os.listdir(camvid / "train"))[:n]
    masks = {}
    for name in names:
        img = cv2.imread(str(camvid / "train" / name), cv2.IMREAD_GRAYSCALE)
        cv2.imwrite(str(folder / name), cv2.resize(img, (160, 120), interpolation=cv2.INTER_AREA))
        lab = cv2.imread(str(camvid / "trainannot" / name), cv2.IMREAD_GRAYSCALE)
        lab = cv2.resize(lab, (160, 120), interpolation=cv2.INTER_NEAREST)
        m = np.where(lab == ROAD, 1, 0).astype(np.uint8)
        m[lab == VOID] = 255
        masks[name] = np.zeros_like(m) if constant else m
    project = Project.open(folder, tmp_path / "project")
    project.set_classes(BINARY)
    for rec in project.images():
        project.save_mask(rec, masks[rec.relpath])
    return project


def _cfg(epochs: int):
    # the CPU defaults; only the epochs and the crop shrink to fit the tiny images
    return default_train_config("cpu").replace(epochs=epochs, crop=(96, 128), imagenet=None)


def _of(events, kind):
    return [e for e in events if isinstance(e, kind)]


@pytest.fixture()
def road(camvid, tmp_path):
    project = _road_project(camvid, tmp_path)
    yield project
    project.close()


def test_defaults_beat_the_trivial_predictor_on_a_binary_grayscale_project(road):
    events = list(fit(road, _cfg(12), device="cpu"))
    fin = events[-1]
    assert isinstance(fin, Finished) and fin.status == "completed", fin
    assert _of(events, RunStarted)[0].model["in_channels"] == 1
    ends = _of(events, EpochEnd)
    best = max(ends, key=lambda e: e.metrics.miou)
    # a road-vs-rest split where painting everything "background" scores ~0.35 mIoU
    assert best.trivial_miou is not None and best.trivial_miou < 0.45
    assert best.beats_trivial is True
    assert best.metrics.miou > best.trivial_miou + 0.15, (best.metrics, best.trivial_miou)
    assert best.metrics.per_class_iou["road"] > 0.4
    # validation loss stays at the scale of the training loss (no BatchNorm blow-up)
    assert all(e.metrics.val_loss < 5 * max(e.metrics.train_loss, 0.3) for e in ends), \
        [(e.metrics.train_loss, e.metrics.val_loss) for e in ends]
    assert fin.details["activated"] is True and fin.details["verdict"] is None
    assert road.settings.get("active_checkpoint") == fin.best_checkpoint


def test_the_guard_fires_on_a_run_that_cannot_beat_trivial(camvid, tmp_path):
    project = _road_project(camvid, tmp_path, constant=True)
    try:
        first = list(fit(project, _cfg(3), device="cpu"))
        fin = first[-1]
        assert fin.status == "completed"
        ends = _of(first, EpochEnd)
        assert [e.trivial_miou for e in ends] == [1.0, 1.0, 1.0]
        assert [e.beats_trivial for e in ends] == [False, False, False]
        warns = [m.text for m in _of(first, Message) if m.level == "warning"]
        assert any("still not better than painting every pixel 'background'" in t
                   for t in warns), warns
        # no other model: it becomes active, and the verdict says so plainly
        assert fin.details["activated"] is True
        assert fin.details["verdict"].startswith("training did not work")
        assert "only because the project has no other" in fin.details["verdict"]
        active = project.settings.get("active_checkpoint")
        assert active == fin.best_checkpoint
        # a second failing run never replaces the active model
        second = list(fit(project, _cfg(2).replace(seed=1), device="cpu"))
        fin2 = second[-1]
        assert fin2.status == "completed" and fin2.best_checkpoint != active
        assert fin2.details["activated"] is False
        assert "so the active model stays" in fin2.details["verdict"]
        assert project.settings.get("active_checkpoint") == active
    finally:
        project.close()


def test_a_round_warm_starts_from_the_active_model(road):
    first = list(fit(road, _cfg(6), device="cpu"))
    fin = first[-1]
    assert fin.status == "completed" and fin.best_miou is not None
    active = road.settings.get("active_checkpoint")
    second = list(fit(road, _cfg(2), device="cpu", start_from=active))
    info = [m.text for m in _of(second, Message)]
    assert any(t.startswith(f"a new round from the weights of {active}") for t in info), info
    # validated before training on the same split: exactly the first run's best score
    score = [t for t in info if t.startswith("the model this round starts from scores")]
    assert score == [f"the model this round starts from scores {fin.best_miou * 100:.1f} % "
                     f"val mIoU on this run's {_of(first, RunStarted)[0].val_images} "
                     "validation images"], info
    assert not any("He initialisation" in t for t in info)
    # it continues from trained weights: its first loss is far below a fresh start's
    first_loss = _of(first, Step)[0].loss
    assert _of(second, Step)[0].loss < 0.6 * first_loss, (first_loss, _of(second, Step)[0].loss)
    run = road.runs.all()[-1]
    assert run.config["started_from"] == active


def test_balanced_weights_touch_only_rare_classes():
    from segstudio.nn.train.losses import balanced_weights, choose_class_weights

    # median-frequency weights of a 78/22 binary set, and of CamVid-like rare classes
    assert balanced_weights(np.array([0.64, 2.27])).tolist() == [1.0, 1.0]
    w = balanced_weights(np.array([0.3, 1.0, 9.0, 100.0]))
    assert w.tolist() == [1.0, 1.0, 3.0, 5.0]
    assert choose_class_weights("auto", np.array([0.64, 2.27]), None, ["a", "b"]) == (
        None, "class weights: none needed (no class is rare in the training masks)")
    w, note = choose_class_weights("median", np.array([0.3, 9.0]), None, ["a", "b"])
    assert w.tolist() == [0.3, 9.0] and note.startswith("median-frequency class weights: a 0.300")
