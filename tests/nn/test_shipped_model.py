"""The CamVid model in models/ loads safely, carries CamVid's classes, and segments
real CamVid validation images about as well as its README says."""

from __future__ import annotations

import os
from pathlib import Path

from segstudio.core.classes import ClassTable
from segstudio.core.imageio import read_image
from segstudio.core.maskio import read_mask
from segstudio.nn.inference import Predictor
from segstudio.nn.runs.checkpoint import check_compatible, load_checkpoint

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "camvid-segnet-w0.25.pt"


def test_shipped_checkpoint_is_a_plain_camvid_model():
    ckpt = load_checkpoint(SHIPPED)  # weights_only inside
    assert ckpt.model_config["arch"] == "segnet" and ckpt.model_config["width"] == 0.25
    assert ckpt.train_state is None  # weights only: no optimiser state shipped
    assert [c.name for c in ckpt.classes.classes][:11] == [
        "Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol", "Fence", "Car",
        "Pedestrian", "Bicyclist"]
    assert SHIPPED.stat().st_size < 10 << 20


def test_shipped_model_segments_camvid_val(camvid):
    table = ClassTable.load_json(camvid / "classes.json")
    ckpt = load_checkpoint(SHIPPED)
    check_compatible(ckpt, table, 3)
    predictor = Predictor.from_checkpoint(SHIPPED, "cpu", classes=table, in_channels=3)
    names = sorted(os.listdir(camvid / "val"))[::20][:5]
    right = total = 0
    for name in names:
        labels = read_mask(camvid / "valannot" / name)
        got = predictor.predict(read_image(camvid / "val" / name)).labels
        known = labels != 11
        right += int((got[known] == labels[known]).sum())
        total += int(known.sum())
    assert right / total > 0.80, right / total  # 0.830 when it was made


def test_fine_tune_the_shipped_weights_in_a_new_run(camvid_project, tmp_path):
    """A weights-only checkpoint starts a new run from its weights (its architecture
    and width, a fresh optimizer, epoch 0) instead of refusing to resume."""
    import torch

    from segstudio.nn.config import default_train_config
    from segstudio.nn.runs.events import EpochEnd, Message, RunStarted
    from segstudio.nn.train.engine import fit

    cfg = default_train_config("cpu").replace(arch="segnet-basic", width=1.0, epochs=1,
                                              batch_size=2, crop=(64, 96), seed=0,
                                              val_split=0.25, imagenet=None)
    events = list(fit(camvid_project, cfg, device="cpu", resume=SHIPPED, out=tmp_path / "ft.pt"))
    assert events[-1].status == "completed", events[-1]
    started = next(e for e in events if isinstance(e, RunStarted))
    assert started.start_epoch == 0 and started.model["arch"] == "segnet"
    assert started.model["width"] == 0.25  # the checkpoint's, not the config's
    assert any(isinstance(e, Message) and "starting from the weights of" in e.text
               for e in events)
    first = next(e for e in events if isinstance(e, EpochEnd))
    assert first.epoch == 1 and first.metrics.miou > 0.10  # far above an untrained net
    tuned = load_checkpoint(tmp_path / "ft-last.pt")
    shipped = load_checkpoint(SHIPPED)
    assert tuned.epoch == 1 and tuned.train_state is not None
    changed = [k for k in shipped.model_state
               if not torch.equal(shipped.model_state[k], tuned.model_state[k])]
    assert changed  # the weights were trained further
