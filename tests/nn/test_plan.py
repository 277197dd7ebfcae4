"""Training that configures itself: the project's fingerprint tells thin structures from
blobs and images with an up from images without one, the recipe follows, a real binary
project trains past the trivial predictor with the defaults, the guard changes course on
a run that learns only the class prior, and a round without validation images never
replaces the active model."""

from __future__ import annotations

import os
import shutil

import cv2
import numpy as np
import pytest

from segstudio.core.classes import ClassInfo, ClassTable
from segstudio.core.project import Project
from segstudio.nn.config import TrainConfig, default_train_config
from segstudio.nn.models.segnet import IMAGENET_MEAN, IMAGENET_STD, SegNetBasic
from segstudio.nn.plan.fingerprint import fingerprint, region_thickness
from segstudio.nn.plan.recipe import recipe
from segstudio.nn.runs.checkpoint import checkpoint_dict, load_checkpoint, save_checkpoint
from segstudio.nn.runs.events import EpochEnd, Finished, Message, RunStarted, Step
from segstudio.nn.train.engine import fit
from segstudio.nn.train.request import RunRequest

POLE, VOID = 2, 11  # CamVid ids
BINARY = ClassTable((ClassInfo(0, "background", (0, 0, 0)),
                     ClassInfo(1, "thing", (255, 64, 64)),
                     ClassInfo(255, "unlabelled", (128, 128, 128), ignore=True)))
# 256x256 fluorescence images of the nuclei set
NUCLEI_256 = ("nuc003", "nuc005", "nuc007", "nuc015", "nuc016", "nuc018", "nuc019", "nuc020",
              "nuc024", "nuc030", "nuc031", "nuc039", "nuc040", "nuc045", "nuc048", "nuc049",
              "nuc050", "nuc052", "nuc060", "nuc062")


def _of(events, kind):
    return [e for e in events if isinstance(e, kind)]


def _nuclei_project(nuclei, tmp_path, names=NUCLEI_256) -> Project:
    """A user's microscopy project: the images, and their 0/255 masks imported as the
    CLI imports them (255 -> 1)."""
    from segstudio.cli.main import main

    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir(parents=True)
    masks.mkdir()
    for n in names:
        shutil.copy(nuclei / "images" / f"{n}.png", images)
        shutil.copy(nuclei / "masks" / f"{n}.png", masks)
    assert main(["import-masks", str(images), str(masks)]) == 0
    return Project.open(images)


def _pole_project(camvid, tmp_path, n: int = 8) -> Project:
    """CamVid frames (colour, 240x320), the thin Pole class against the rest."""
    folder = tmp_path / "poles"
    folder.mkdir(parents=True)
    names = sorted(os.listdir(camvid / "train"))[:n]
    masks = {}
    for name in names:
        img = cv2.imread(str(camvid / "train" / name))
        cv2.imwrite(str(folder / name), cv2.resize(img, (320, 240), interpolation=cv2.INTER_AREA))
        lab = cv2.imread(str(camvid / "trainannot" / name), cv2.IMREAD_GRAYSCALE)
        lab = cv2.resize(lab, (320, 240), interpolation=cv2.INTER_NEAREST)
        m = (lab == POLE).astype(np.uint8)
        m[lab == VOID] = 255
        masks[name] = m
    project = Project.open(folder, tmp_path / "pole-project")
    project.set_classes(BINARY)
    for rec in project.images():
        project.save_mask(rec, masks[rec.relpath])
    return project


def test_thickness_of_lines_and_blobs():
    lines = np.zeros((100, 100), bool)
    lines[10:13, :] = True  # 3 px wide
    lines[:, 50:55] = True  # 5 px wide
    assert 3.0 <= region_thickness(lines) <= 4.6
    disk = np.zeros((100, 100), np.uint8)
    cv2.circle(disk, (50, 50), 15, 1, -1)
    assert region_thickness(disk.astype(bool)) > 20
    assert region_thickness(np.zeros((5, 5), bool)) is None


def test_fingerprints_of_thin_poles_and_blob_nuclei_choose_their_recipes(camvid, nuclei,
                                                                        tmp_path):
    poles = _pole_project(camvid, tmp_path / "a")
    cells = _nuclei_project(nuclei, tmp_path / "b", NUCLEI_256[:8])
    try:
        fp_pole, fp_cell = fingerprint(poles), fingerprint(cells)
        pole = {c.name: c for c in fp_pole.classes}["thing"]
        nucleus = {c.name: c for c in fp_cell.classes}["value 255"]
        assert pole.thin and 1.0 <= pole.thickness <= 5.0 and pole.share < 0.03
        assert not nucleus.thin and nucleus.thickness > 10 and nucleus.share > 0.05
        assert "'thing' is thin" in fp_pole.summary()
        # road scenes have an up (sky above road); microscopy does not
        assert fp_pole.image_layout > 0.3 and fp_cell.image_layout < 0.2
        assert fp_cell.layout < 0.1
        # fluorescence is dark: most images have a median value below 30
        assert fp_cell.dark_share >= 0.5
        base = default_train_config("cpu")
        cfg_pole, why_pole = recipe(fp_pole, base)
        cfg_cell, why_cell = recipe(fp_cell, base)
        assert cfg_pole.loss == "ce+dice" and not cfg_pole.rotate90
        assert cfg_pole.crop == base.crop
        assert cfg_cell.rotate90 and cfg_cell.crop[0] == cfg_cell.crop[1]
        # per-image normalisation is no rule (it halved the nucleus IoU): the project's
        assert cfg_cell.normalize == "project" and cfg_cell.loss == base.loss
        assert cfg_pole.budget == cfg_cell.budget == "10m"
        assert any("thin classes ('thing'" in t for t in why_pole)
        assert any(t.startswith("recipe: rotations") for t in why_cell)
    finally:
        poles.close()
        cells.close()


@pytest.mark.slow
def test_a_real_binary_project_trains_past_the_trivial_predictor_with_the_defaults(nuclei,
                                                                                  tmp_path):
    project = _nuclei_project(nuclei, tmp_path)
    try:
        # the defaults as `segstudio train FOLDER` takes them; only the budget is a short
        # count of steps (a test must not take the default's minutes, nor depend on them)
        events = list(fit(project, RunRequest(start="scratch", budget="150 steps",
                                              settings={"imagenet": None}), device="cpu"))
        fin = events[-1]
        assert isinstance(fin, Finished) and fin.status == "completed", fin
        texts = [m.text for m in _of(events, Message)]
        assert any(t.startswith("project: 20 labelled of 20 images, 256x256") for t in texts)
        assert _of(events, RunStarted)[0].config["rotate90"] is True
        best = max(_of(events, EpochEnd), key=lambda e: e.metrics.miou or 0)
        assert best.beats_trivial is True
        assert best.metrics.per_class_iou["value 255"] > 0.5, best.metrics.per_class_iou
        assert best.metrics.miou > best.trivial_miou + 0.2
    finally:
        project.close()


def test_the_guard_changes_course_when_the_model_keeps_the_class_prior(camvid, tmp_path):
    project = _pole_project(camvid, tmp_path)
    try:
        # built to stall: poles are 1 % of the pixels, plain cross-entropy, no class
        # weights, no crops on them, a high rate: the model paints every pixel background
        cfg = TrainConfig(arch="segnet", width=0.25, budget="60 steps", eval_every=10,
                          batch_size=4, crop=(96, 128),
                          lr=0.01, optimizer="adamw", weight_decay=0.01, val_split=0.25,
                          imagenet=None, class_weights="none", rare_crops=0.0, loss="ce",
                          precise_bn=1, seed=0)
        events = list(fit(project, cfg, device="cpu"))
        fin = events[-1]
        assert fin.status == "completed", fin
        ends = _of(events, EpochEnd)
        assert ends[0].beats_trivial is False
        changes = [m for m in _of(events, Message) if m.text.startswith("changing course")]
        assert len(changes) == 1 and changes[0].level == "warning"
        assert "cross-entropy + Dice" in changes[0].text and "half the learning rate" in \
            changes[0].text
        # it acted after the first validation past 30 % of the run (and 20 steps): the
        # intervals after it train at half the rate the schedule gives, with the new loss
        i = events.index(changes[0])
        before, after = _of(events[:i], Step)[-1], _of(events[i:], Step)[0]
        assert events[i - 1] is ends[1]
        assert after.lr < 0.55 * before.lr
        state = load_checkpoint(fin.last_checkpoint).train_state
        assert state["course"] == {"lr_scale": 0.5, "loss": "ce+dice", "focus": True}
    finally:
        project.close()


def test_a_round_without_validation_images_keeps_the_active_model(camvid, tmp_path):
    project = _pole_project(camvid, tmp_path, n=1)  # one labelled image: nothing to hold out
    try:
        active = save_checkpoint(tmp_path / "active.pt", checkpoint_dict(
            SegNetBasic(2, width=0.25), BINARY, IMAGENET_MEAN, IMAGENET_STD))
        project.settings.set("active_checkpoint", str(active))
        events = list(fit(project, RunRequest(budget="2 steps", settings={
            "crop": (96, 128), "batch_size": 2}), device="cpu"))
        fin = events[-1]
        assert fin.status == "completed", fin
        assert _of(events, RunStarted)[0].val_images == 0
        assert any(m.text.startswith(f"continuing from the active model {active}")
                   for m in _of(events, Message))
        assert fin.details["activated"] is False
        assert "no validation images" in fin.details["verdict"]
        assert "the active model, which stays" in fin.details["verdict"]
        assert project.settings.get("active_checkpoint") == str(active)
    finally:
        project.close()


def test_a_weak_click_model_is_used_only_when_there_is_no_other_and_says_so():
    from segstudio.nn.click.run import ClickTask
    from segstudio.nn.train.guard import Guard

    guard, task = Guard(["object"], [10, 90]), ClickTask()
    use, why = task.decide(guard, 0.04, has_active=True)
    assert use is False and why.startswith("the new click model reaches only 4.0 % IoU after 3 "
                                           "clicks") and why.endswith("the active click model "
                                                                      "stays")
    use, why = task.decide(guard, 0.04, has_active=False)
    assert use is True and "only because the project has no other" in why
    guard.previous = ("the active click model", 0.5)
    assert task.decide(guard, 0.5, has_active=True)[0] is False  # not better: kept
    assert task.decide(guard, 0.51, has_active=True) == (True, None)
    # no validation objects: a model that cannot be measured never replaces one
    use, why = task.decide(guard, None, has_active=True)
    assert use is False and "no validation objects" in why
