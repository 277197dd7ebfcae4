"""A training run of the click model: the run loop of :mod:`run_loop` with the click
data (:mod:`click_data`), the iterative click step and the simulated-user validation
(:mod:`click_model`).  :func:`segstudio.nn.engine.fit` uses it for ``task="click"``.

Validation: up to ``val_objects`` objects of the validation images (the same ones
while the split is the same), each clicked by the simulated user up to
``val_clicks`` times (stopping at 90 % IoU after 3 clicks); the metrics are the
mean IoU after 1 and after 3 clicks (``iou_1``, ``iou_3``), NoC@85 / NoC@90 (at
most ``val_clicks``) and ``miou`` = ``iou_3``, by which the best epoch is chosen.
The run's best checkpoint becomes the project's active click model
(setting ``active_click_checkpoint``) unless it is below the one it would replace.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from ..core.errors import SegStudioError
from . import clicks as C
from . import data as D
from .checkpoint import Checkpoint, check_compatible, load_checkpoint
from .click_data import click_batches, val_objects
from .click_model import ClickPredictor, ClickTrainStep, click_normalization, evaluate_objects
from .events import Event, Message, RunStarted
from .run_loop import _Trainer
from .segnet import GRAY_MEAN, GRAY_STD, IMAGENET_MEAN, IMAGENET_STD

ACTIVE_CLICK = "active_click_checkpoint"


def active_click_model(project, image_channels: int | None = None) -> Checkpoint | None:
    """The project's active click model when its file is there and fits, else None."""
    path = project.settings.get(ACTIVE_CLICK, None)
    if not path or not Path(str(path)).is_file():
        return None
    try:
        ck = load_checkpoint(path)
        if ck.task != "click":
            return None
        check_compatible(ck, project.classes, image_channels)
    except SegStudioError:
        return None
    return ck


def copy_features(model: torch.nn.Module, seg: Checkpoint) -> int:
    """Copy a segmentation model's weights into a new click model (same arch and width):
    every tensor of the same shape, and the first convolution's image channels (its
    click channels start at zero, so the click model starts as the segmentation
    model's features); not the classifier.  Returns the tensors copied."""
    own = model.state_dict()
    n = 0
    for k, v in seg.model_state.items():
        if k not in own or k.startswith("classifier."):
            continue
        w = own[k]
        if w.shape == v.shape:
            w.copy_(v)
        elif (w.ndim == 4 and v.ndim == 4 and w.shape[0] == v.shape[0]
              and w.shape[1] == v.shape[1] + C.CLICK_CHANNELS and w.shape[2:] == v.shape[2:]):
            w.zero_()
            w[:, :v.shape[1]] = v
        else:
            continue
        n += 1
    return n


class ClickTrainer(_Trainer):
    active_setting = ACTIVE_CLICK

    def setup(self) -> Iterator[Event]:
        for ev in super().setup():
            if isinstance(ev, RunStarted) and self.resume is None:
                yield from self._features()
            yield ev

    def _features(self) -> Iterator[Event]:
        """Start from a segmentation model's features (``features_from``)."""
        src = self.cfg.features_from
        if not src:
            return
        if src == "auto":
            src = self.project.settings.get("active_checkpoint", None)
            if not src or not Path(str(src)).is_file():
                return
        try:
            seg = load_checkpoint(src)
        except SegStudioError:
            if self.cfg.features_from == "auto":
                return
            raise
        mc, cfg = seg.model_config, self.cfg
        fits = (seg.task == "semantic" and mc["arch"] == cfg.arch
                and float(mc["width"]) == float(cfg.width) and seg.in_channels == self.image_ch)
        if not fits:
            if self.cfg.features_from != "auto":
                raise SegStudioError(f"{src}: a {mc['arch']} width {float(mc['width']):g} "
                                     f"model for {seg.image_channels} channels; the click model "
                                     f"is {cfg.arch} width {cfg.width:g} on {self.image_ch}")
            return
        with torch.no_grad():
            n = copy_features(self.model, seg)
        yield Message("info", f"the click model starts from the features of {src} ({n} "
                              "tensors)")

    def _model_inputs(self, ckpt: Checkpoint | None) -> None:
        self.image_ch = ckpt.image_channels if ckpt else D.project_channels(self.project)
        self.in_ch = self.image_ch + C.CLICK_CHANNELS
        self.outputs = 1
        if ckpt is not None:
            self.mean, self.std = ckpt.mean, ckpt.std
        else:
            rgb = self.image_ch == 3
            self.mean, self.std = click_normalization(IMAGENET_MEAN if rgb else GRAY_MEAN,
                                                      IMAGENET_STD if rgb else GRAY_STD)
        self.fill = D.fill_value(self.mean[:self.image_ch])

    def _class_weights(self) -> Iterator[Event]:
        self.focus = None  # every object is drawn alike; no class weights
        return None
        yield  # a generator, like the run loop's

    def _make_step(self, net, scaler):
        return ClickTrainStep(net, self.opt, self.device, self.mean, self.std,
                              self.fmt is torch.channels_last, self.amp_dtype, scaler,
                              self.cfg.loss, self.cfg.click_iters, self.np_rng)

    def _epoch_batches(self, items):
        cfg = self.cfg
        return click_batches(items, self.batch_size, self.np_rng, self.loader, cfg.crop[0],
                             cfg.scale, cfg.flip)

    def _checkpoint_extra(self) -> dict[str, Any]:
        return {"task": "click", "click": {"size": int(self.cfg.crop[0])}}

    def _validated(self, step) -> Iterator[Event]:
        gen = val_objects(self.snap.val, self.loader, self.cfg.val_objects, self.cfg.split_seed)
        while True:
            try:
                text = next(gen)
            except StopIteration as done:
                objects = done.value
                break
            yield from self._warn_once(text)
        if not objects:
            return None, None
        # the network alone (no GrabCut refinement): what the training changes, and cheaper
        predictor = ClickPredictor(step.model, step.mean, step.std, self.cfg.crop[0],
                                   self.device, refine=False)
        n = self.cfg.val_clicks
        m = evaluate_objects(predictor, objects, n, stop_iou=0.90, min_clicks=min(3, n),
                             cancel=self.cancel)
        if not m.get("objects"):
            return None, None
        m.pop("curves", None)
        m["miou"] = m["iou_3"]
        return None, m

    def _previous_model(self, start: Checkpoint | None) -> Iterator[Event]:
        if not self.snap.val:
            return
        if start is not None:
            label, step = "the click model this round starts from", self.step
        else:
            prev = active_click_model(self.project, self.image_ch)
            if prev is None:
                return
            label = "the active click model"
            step = SimpleNamespace(model=prev.build_model().to(self.device), mean=prev.mean,
                                   std=prev.std)
        _, m = yield from self._validated(step)
        if m and m.get("miou") is not None:
            self.guard.previous = (label, float(m["miou"]))
            yield Message("info", f"{label} scores {m['miou'] * 100:.1f} % mean IoU after 3 "
                                  f"clicks on this run's {m['objects']} validation objects")

    def _decide(self, has_active: bool) -> tuple[bool, str | None]:
        best, prev = self.best_miou, self.guard.previous
        if best is None or prev is None or best >= prev[1] - 0.002:
            return True, None
        what, score = prev
        text = (f"the new click model ({best * 100:.1f} % IoU after 3 clicks) is below {what} "
                f"({score * 100:.1f} %) on the same validation objects")
        if has_active:
            return False, text + ", so the active click model stays"
        return True, text
