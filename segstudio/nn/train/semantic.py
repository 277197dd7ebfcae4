"""A training run of the segmentation model: its :class:`~run_state.Task` for the engine
(:func:`segstudio.nn.train.engine.fit` with ``task="semantic"``).  Free of Qt."""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from typing import Any, cast

import torch

from ...core.project import Project
from ..config import TrainConfig
from ..models.segnet import GRAY_MEAN, GRAY_STD, IMAGENET_MEAN, IMAGENET_STD
from ..plan.fingerprint import project_channels
from ..runs.checkpoint import Checkpoint
from ..runs.events import Event, Message
from . import data as D
from .guard import Guard, comparable_active_model
from .losses import choose_class_weights, rare_classes
from .state import (
    BatchStep,
    ClassBalance,
    ModelInputs,
    Run,
    RunContext,
    RunData,
    Training,
    Validated,
)
from .step import TrainStep
from .validation import validate


class SemanticTask:
    """Class weights and rare-class crops, whole-image validation, the guard's verdict."""

    active_setting = "active_checkpoint"

    def model_inputs(self, project: Project, ckpt: Checkpoint | None) -> ModelInputs:
        ch = ckpt.in_channels if ckpt else project_channels(project)
        mean = ckpt.mean if ckpt else (IMAGENET_MEAN if ch == 3 else GRAY_MEAN)
        std = ckpt.std if ckpt else (IMAGENET_STD if ch == 3 else GRAY_STD)
        return ModelInputs(image_channels=ch, in_channels=ch,
                           outputs=project.classes.num_trainable, mean=tuple(mean),
                           std=tuple(std), fill=D.fill_value(mean))

    def class_balance(self, ctx: RunContext, data: RunData
                      ) -> Generator[Event, None, ClassBalance]:
        cfg = ctx.cfg
        mf = data.counts.weights()
        focus = None
        rare = rare_classes(mf)
        if cfg.rare_crops > 0 and data.counts.class_pixels.sum() > 0 and rare.any():
            # crops around the rare classes only: a mild imbalance keeps uniform crops
            focus = D.CropFocus(cfg.rare_crops, tuple(float(v) if r else 0.0
                                                      for v, r in zip(mf, rare, strict=True)))
        names = [c.name for c in ctx.classes.trainable]
        w, note = choose_class_weights(cfg.class_weights, mf, ctx.classes.weights, names)
        if note:
            level = "warning" if w is None and cfg.class_weights == "table" else "info"
            yield Message(level, note)
        weights = torch.tensor(w, dtype=torch.float32) if w is not None else None
        return ClassBalance(weights, focus)

    def make_step(self, ctx: RunContext, inputs: ModelInputs, training: Training,
                  net: torch.nn.Module, scaler: torch.amp.GradScaler | None) -> BatchStep:
        return TrainStep(net, training.opt, ctx.device, inputs.mean, inputs.std,
                         training.channels_last, training.amp_dtype, scaler,
                         training.balance.weights, ctx.cfg.loss)

    def epoch_batches(self, run: Run, items: Sequence[D.Item]) -> Iterator[D.Batch]:
        c = run.cfg
        return D.epoch_batches(items, run.state.batch_size, run.training.np_rng,
                               run.data.loader, c.crop, c.scale, c.flip, run.inputs.fill,
                               c.workers, run.training.balance.focus, augmentation(c))

    def validate(self, run: Run, step: BatchStep) -> Validated:
        """Loss and metrics on the split's validation images (warnings as events)."""
        gen = validate(cast(TrainStep, step), run.data.snap.val, run.data.loader,
                       run.ctx.classes, run.inputs.fill, run.state.batch_size,
                       run.cfg.val_max_pixels, run.ctx.cancel)
        done = yield from run.warnings.through(gen)
        return cast("tuple[float | None, dict[str, Any] | None]", done)

    def previous_model(self, run: Run) -> Iterator[Event]:
        """Validate the model this run should beat: the one a warm-started round starts
        from, else the project's active model when it fits this project."""
        if not run.data.snap.val:
            return
        step = run.step
        if run.ctx.checkpoint is not None:
            label = "the model this round starts from"
        else:
            prev = comparable_active_model(run.ctx.project, run.inputs.in_channels)
            if prev is None:
                return
            dev = run.ctx.device
            step = TrainStep(prev.build_model().to(dev), run.training.opt, dev, prev.mean,
                             prev.std)
            label = "the active model"
            if prev.normalize != run.data.loader.normalize:  # its own view of the images
                loader = D.SampleLoader(run.data.loader.lut, run.data.loader.in_channels,
                                        None, prev.normalize)
                gen = validate(step, run.data.snap.val, loader, run.ctx.classes,
                               run.inputs.fill, run.state.batch_size, run.cfg.val_max_pixels,
                               run.ctx.cancel)
                done = yield from run.warnings.through(gen)
                _, metrics = cast("tuple[float | None, dict[str, Any] | None]", done)
                yield from self._compared(run, label, metrics)
                return
        _, metrics = yield from self.validate(run, step)
        yield from self._compared(run, label, metrics)

    def _compared(self, run: Run, label: str, metrics: dict[str, Any] | None
                  ) -> Iterator[Event]:
        if metrics and metrics.get("miou") is not None:
            run.guard.previous = (label, float(metrics["miou"]))
            yield Message("info", f"{label} scores {metrics['miou'] * 100:.1f} % val mIoU on "
                                  f"this run's {len(run.data.snap.val)} validation images")

    def before_start(self, run: Run) -> Iterator[Event]:
        return iter(())

    def checkpoint_extra(self, cfg: TrainConfig) -> dict[str, Any]:
        return {}

    def decide(self, guard: Guard, best_miou: float | None, has_active: bool
               ) -> tuple[bool, str | None]:
        return guard.decide(best_miou, has_active=has_active)


def augmentation(cfg: TrainConfig) -> D.Augmentation:
    """The run's augmentation settings as the data's batches take them."""
    return D.Augmentation(cfg.scale, cfg.flip, cfg.rotate90, cfg.intensity, cfg.elastic)
