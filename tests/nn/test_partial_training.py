"""Training from partially labelled masks: only the labelled pixels reach the loss."""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F

from segstudio.core.project import Project
from segstudio.nn.config import TrainConfig
from segstudio.nn.models.segnet import IMAGENET_MEAN, IMAGENET_STD, build_model
from segstudio.nn.runs.events import Finished, Message, RunStarted
from segstudio.nn.train import data as D
from segstudio.nn.train.engine import fit
from segstudio.nn.train.losses import IGNORE
from segstudio.nn.train.request import RunRequest
from segstudio.nn.train.step import TrainStep
from tests.conftest import write_png

H, W = 32, 64


def _partial_project(tmp_path, n: int = 1) -> Project:
    rng = np.random.default_rng(0)
    for i in range(n):
        write_png(tmp_path / "imgs" / f"p{i}.png", rng.integers(0, 255, (H, W, 3), np.uint8))
    p = Project.open(tmp_path / "imgs")
    for rec in p.images():
        mask = p.empty_mask(rec)  # 255: unlabelled
        mask[:, : W // 2] = 1  # the left half is "object", the right half nobody labelled
        p.save_mask(rec, mask, "partial")
    return p


def _step(model, images, targets):
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    TrainStep(model, opt, torch.device("cpu"), IMAGENET_MEAN, IMAGENET_STD)(images, targets)
    return model


def test_a_half_labelled_mask_changes_the_model_only_through_that_half(tmp_path):
    torch.manual_seed(0)
    with _partial_project(tmp_path) as p:
        snap = D.snapshot(p, 0.0)
        assert [i.relpath for i in snap.train] == ["p0.png"]  # a partial image trains
        loader = D.SampleLoader(p.classes.train_lut(IGNORE), 3)
        image, target = loader.load(snap.train[0])
    assert (target[:, : W // 2] == 1).all() and (target[:, W // 2:] == IGNORE).all()
    images, targets = image[None], target[None]
    model = build_model("segnet-basic", 2, 3, 0.25)
    # one training step of the engine on the partial mask ...
    a = _step(copy.deepcopy(model), images, targets)
    # ... equals one step on the loss of the labelled half alone
    b = copy.deepcopy(model)
    opt = torch.optim.SGD(b.parameters(), lr=0.5)
    x = D.to_tensor(images, IMAGENET_MEAN, IMAGENET_STD, torch.device("cpu"))
    logits = b(x)
    left = torch.from_numpy(targets[:, :, : W // 2].astype(np.int64))
    F.cross_entropy(logits[:, :, :, : W // 2], left).backward()
    opt.step()
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.allclose(pa, pb, atol=1e-6), name
    # had the other half been labelled, the model would have changed differently
    full = targets.copy()
    full[:, :, W // 2:] = 0
    c = _step(copy.deepcopy(model), images, full)
    assert any(not torch.allclose(pa, pc, atol=1e-6)
               for pa, pc in zip(a.parameters(), c.parameters(), strict=True))


def test_a_project_of_partial_masks_trains_and_validates_on_their_labelled_pixels(tmp_path):
    with _partial_project(tmp_path, 4) as p:
        cfg = TrainConfig(arch="segnet-basic", width=0.25, batch_size=2, crop=(32, 64),
                          val_split=0.3, imagenet=None, seed=0, precise_bn=0)
        events = list(fit(p, RunRequest(config=cfg, budget="4 steps", start="scratch"),
                          device="cpu"))
        fin = events[-1]
        assert isinstance(fin, Finished) and fin.status == "completed", fin
        started = next(e for e in events if isinstance(e, RunStarted))
        assert (started.train_images, started.val_images) == (3, 1)
        notes = [e.text for e in events if isinstance(e, Message)]
        assert any("1 of the 1 validation images are only partially labelled" in t
                   for t in notes), notes
