"""A training run of the click model: the engine's :class:`~run_state.Task` with the click
data (:mod:`click_data`), the iterative click step and the simulated-user validation
(:mod:`click_model`).  :func:`segstudio.nn.train.engine.fit` uses it for ``task="click"``.

Validation: up to ``val_objects`` objects of the validation images (the same ones
while the split is the same), each clicked by the simulated user up to
``val_clicks`` times (stopping at 90 % IoU after 3 clicks); the metrics are the
mean IoU after 1 and after 3 clicks (``iou_1``, ``iou_3``), NoC@85 / NoC@90 (at
most ``val_clicks``) and ``miou`` = ``iou_3``, by which the best epoch is chosen.
The run's best checkpoint becomes the project's active click model
(setting ``active_click_checkpoint``) unless it is below the one it would replace.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import torch

from ...core.errors import SegStudioError
from ...core.project import Project
from ..config import TrainConfig
from ..models.segnet import GRAY_MEAN, GRAY_STD, IMAGENET_MEAN, IMAGENET_STD
from ..names import CLICK_USABLE
from ..plan.fingerprint import project_channels
from ..runs.checkpoint import Checkpoint, check_compatible, load_checkpoint
from ..runs.events import Event, Message
from ..train import data as D
from ..train.guard import Guard
from ..train.state import (
    BatchStep,
    ClassBalance,
    ModelInputs,
    Run,
    RunContext,
    RunData,
    Training,
    Validated,
)
from . import simulate as C
from .data import ValObject, click_batches, val_objects
from .model import ClickPredictor, ClickTrainStep, click_normalization, evaluate_objects

ACTIVE_CLICK = "active_click_checkpoint"


def active_click_model(project: Project, image_channels: int | None = None
                       ) -> Checkpoint | None:
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


class ClickTask:
    """One object sample per image and no class weights, the iterative click step, the
    simulated user's validation, and its own active model."""

    active_setting = ACTIVE_CLICK

    def model_inputs(self, project: Project, ckpt: Checkpoint | None) -> ModelInputs:
        image_ch = ckpt.image_channels if ckpt else project_channels(project)
        if ckpt is not None:
            mean, std = tuple(ckpt.mean), tuple(ckpt.std)
        else:
            rgb = image_ch == 3
            mean, std = click_normalization(IMAGENET_MEAN if rgb else GRAY_MEAN,
                                            IMAGENET_STD if rgb else GRAY_STD)
        return ModelInputs(image_channels=image_ch, in_channels=image_ch + C.CLICK_CHANNELS,
                           outputs=1, mean=tuple(mean), std=tuple(std),
                           fill=D.fill_value(mean[:image_ch]))

    def class_balance(self, ctx: RunContext, data: RunData
                      ) -> Generator[Event, None, ClassBalance]:
        return ClassBalance()  # every object is drawn alike; no class weights
        yield  # a generator, like the segmentation run's

    def make_step(self, ctx: RunContext, inputs: ModelInputs, training: Training,
                  net: torch.nn.Module, scaler: torch.amp.GradScaler | None) -> BatchStep:
        return ClickTrainStep(net, training.opt, ctx.device, inputs.mean, inputs.std,
                              training.channels_last, training.amp_dtype, scaler,
                              ctx.cfg.loss, ctx.cfg.click_iters, training.np_rng)

    def epoch_batches(self, run: Run, items: Sequence[D.Item]) -> Iterator[D.Batch]:
        cfg = run.cfg
        return click_batches(items, run.state.batch_size, run.training.np_rng,
                             run.data.loader, _size(cfg), cfg.scale, cfg.flip)

    def validate(self, run: Run, step: BatchStep) -> Validated:
        return (yield from self._score(run, step.model, step.mean, step.std))

    def _score(self, run: Run, model: torch.nn.Module, mean: Sequence[float],
               std: Sequence[float]) -> Validated:
        """The simulated user on the validation objects: (None, the click metrics)."""
        cfg = run.cfg
        gen = val_objects(run.data.snap.val, run.data.loader, cfg.val_objects, cfg.split_seed)
        objects = cast("list[ValObject]", (yield from run.warnings.through(gen)))
        if not objects:
            return None, None
        # the network alone (no GrabCut refinement): what the training changes, and cheaper
        predictor = ClickPredictor(model, mean, std, _size(cfg), run.ctx.device, refine=False)
        n = cfg.val_clicks
        m = evaluate_objects(predictor, objects, n, stop_iou=0.90, min_clicks=min(3, n),
                             cancel=run.ctx.cancel)
        if not m.get("objects"):
            return None, None
        m.pop("curves", None)
        m["miou"] = m["iou_3"]
        return None, m

    def previous_model(self, run: Run) -> Iterator[Event]:
        if not run.data.snap.val:
            return
        if run.ctx.checkpoint is not None:
            label = "the click model this round starts from"
            scored = self.validate(run, run.step)
        else:
            prev = active_click_model(run.ctx.project, run.inputs.image_channels)
            if prev is None:
                return
            label = "the active click model"
            scored = self._score(run, prev.build_model().to(run.ctx.device), prev.mean,
                                 prev.std)
        _, m = yield from scored
        if m and m.get("miou") is not None:
            run.guard.previous = (label, float(m["miou"]))
            yield Message("info", f"{label} scores {m['miou'] * 100:.1f} % mean IoU after 3 "
                                  f"clicks on this run's {m['objects']} validation objects")

    def before_start(self, run: Run) -> Iterator[Event]:
        """A new click model starts from a segmentation model's features
        (``features_from``)."""
        cfg = run.cfg
        src = cfg.features_from
        if run.ctx.checkpoint is not None or not src:
            return
        if src == "auto":
            src = run.ctx.project.settings.get("active_checkpoint", None)
            if not src or not Path(str(src)).is_file():
                return
        try:
            seg = load_checkpoint(src)
        except SegStudioError:
            if cfg.features_from == "auto":
                return
            raise
        mc, image_ch = seg.model_config, run.inputs.image_channels
        fits = (seg.task == "semantic" and mc["arch"] == cfg.arch
                and float(mc["width"]) == float(cfg.width) and seg.in_channels == image_ch)
        if not fits:
            if cfg.features_from != "auto":
                raise SegStudioError(f"{src}: a {mc['arch']} width {float(mc['width']):g} "
                                     f"model for {seg.image_channels} channels; the click model "
                                     f"is {cfg.arch} width {cfg.width:g} on {image_ch}")
            return
        with torch.no_grad():
            n = copy_features(run.training.model, seg)
        yield Message("info", f"the click model starts from the features of {src} ({n} "
                              "tensors)")

    def checkpoint_extra(self, cfg: TrainConfig) -> dict[str, Any]:
        return {"task": "click", "click": {"size": _size(cfg)}}

    def decide(self, guard: Guard, best_miou: float | None, has_active: bool
               ) -> tuple[bool, str | None]:
        """A click model is made active only when it is usable (:data:`CLICK_USABLE`) and
        measured better than the one it had to beat on the same validation objects."""
        if best_miou is None:
            if has_active:
                return False, ("this run had no validation objects, so it cannot be compared "
                               "with the active click model, which stays")
            return False, ("this run had no validation objects, so its click model is not "
                           "measured and is not used; label more images")
        if best_miou < CLICK_USABLE:
            low = (f"the new click model reaches only {best_miou * 100:.1f} % IoU after 3 "
                   f"clicks (a usable one reaches {CLICK_USABLE * 100:.0f} % at least)")
            if has_active:
                return False, low + ", so the active click model stays"
            return True, (low + "; it is the click model only because the project has no "
                          "other, and the Click tool says so; train it longer")
        prev = guard.previous
        if prev is None or best_miou > prev[1]:
            return True, None
        what, score = prev
        text = (f"the new click model ({best_miou * 100:.1f} % IoU after 3 clicks) is not "
                f"better than {what} ({score * 100:.1f} %) on the same validation objects")
        if has_active:
            return False, text + ", so the active click model stays"
        return True, text


def _size(cfg: TrainConfig) -> int:
    """The click model's square input side: the crop's height."""
    assert cfg.crop is not None, "a click run has a crop (TrainConfig.validate)"
    return int(cfg.crop[0])
