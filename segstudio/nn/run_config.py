"""What a training run starts from, and the settings that follow from it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

import numpy as np
import torch

from ..core.errors import SegStudioError
from .checkpoint import (
    Checkpoint,
    CheckpointError,
    check_compatible,
    load_checkpoint,
    set_rng_state,
)
from .config import TrainConfig, default_train_config

if TYPE_CHECKING:
    from ..core.project import Project


class ResumeCounters(TypedDict):
    """The counters a resumed run continues from (:func:`restore_train_state`)."""

    epoch: int
    global_step: int
    best_miou: float | None
    best_epoch: int
    batch_size: int | None  # None: the configured one
    class_weights: list[float] | None


def run_config(config: TrainConfig | None, device: torch.device, resume: str | Path | None,
               start_from: str | Path | None) -> tuple[TrainConfig, Checkpoint | None]:
    """(the run's settings, the checkpoint it starts from or None).

    * ``resume`` with training state: that run's own settings (``config`` may only
      extend its epochs and change workers / cache);
    * ``resume`` without training state, or ``start_from``: a new run from the
      checkpoint's weights (its architecture and width; no ImageNet encoder);
    * neither: ``config`` or the device defaults."""
    if resume is not None and start_from is not None:
        raise SegStudioError("give either a checkpoint to resume or one to start from, not both")
    base = config if config is not None else default_train_config(device.type)
    source = start_from if start_from is not None else resume
    if source is None:
        return base, None
    ck = load_checkpoint(source)
    if start_from is not None:
        ck = dataclasses.replace(ck, train_state=None)
    if ck.train_state is None:  # weights only: fine-tune them in a new run
        if ck.task != base.task:
            what = "a click model" if ck.task == "click" else "a segmentation model"
            raise CheckpointError(f"{ck.path}: {what}; a {base.task} run cannot start from it")
        mc = ck.model_config
        size = {"crop": (ck.click_size, ck.click_size)} if ck.task == "click" else {}
        return base.replace(arch=mc["arch"], width=float(mc["width"]), imagenet=None,
                            **size), ck
    if "config" not in ck.train_state:
        raise CheckpointError(f"{resume}: damaged training state (no config)")
    cfg = TrainConfig.from_dict(ck.train_state["config"])
    if config is not None:
        cfg = cfg.replace(epochs=config.epochs, workers=config.workers, cache_mb=config.cache_mb)
    return cfg, ck


def choose_start(project: Project, given: str | None, arch: str | None = None,
                 width: float | None = None, task: str = "semantic"
                 ) -> tuple[str | None, str | None]:
    """What a new run starts from: (checkpoint to warm-start from or None for scratch,
    a note for the user).  ``given``: "active", "scratch", a checkpoint path, or None --
    the active model when it fits the project (classes, channels, and ``arch`` /
    ``width`` when given), else scratch.  Asked-for models that do not fit raise.
    ``task`` "click": the project's active click model instead."""
    from .data import project_channels

    if given == "scratch":
        return None, None
    if given is None or given == "active":
        key = "active_click_checkpoint" if task == "click" else "active_checkpoint"
        stored = project.settings.get(key, None)
        if not stored:
            if given == "active":
                raise SegStudioError("--from active: the project has no active model yet; "
                                     "train one first (--from scratch)")
            return None, None
        path: str = stored
    else:
        path = given
    try:
        ck = load_checkpoint(path)
        check_compatible(ck, project.classes, project_channels(project))
        if ck.task != task:
            raise SegStudioError(f"{path} is a {ck.task} model, not a {task} one")
        mc = ck.model_config
        if arch is not None and arch != mc["arch"]:
            raise SegStudioError(f"{path} is a {mc['arch']} model, not {arch}")
        if width is not None and float(width) != float(mc["width"]):
            raise SegStudioError(f"{path} has width {float(mc['width']):g}, not {width:g}")
    except SegStudioError as exc:
        if given is not None:  # asked for: say why it cannot be used
            raise
        return None, f"starting from scratch: the active model does not fit ({exc})"
    what = "the active model" if given in (None, "active") else "the weights of"
    return str(path), f"continuing from {what} {path} (a fine-tuning round; --from scratch " \
                      "starts over)"


def restore_train_state(ckpt: Checkpoint, model: torch.nn.Module,
                        opt: torch.optim.Optimizer, scaler: torch.amp.GradScaler | None,
                        np_rng: np.random.Generator, device: torch.device) -> ResumeCounters:
    """Load a resumed run's weights, optimizer, grad scaler and RNG states; returns its
    counters (epoch, global_step, best_miou, best_epoch, batch_size, class_weights)."""
    ts = ckpt.train_state or {}
    try:
        model.load_state_dict(ckpt.model_state)
        opt.load_state_dict(ts["optimizer"])
        if scaler is not None and ts.get("grad_scaler"):
            scaler.load_state_dict(ts["grad_scaler"])
        set_rng_state(ts["rng"], np_rng, device)
        return {"epoch": int(ts["epoch"]), "global_step": int(ts.get("global_step", 0)),
                "best_miou": ts.get("best_miou"), "best_epoch": int(ts.get("best_epoch", 0)),
                "batch_size": int(ts["batch_size"]) if ts.get("batch_size") else None,
                "class_weights": ts.get("class_weights")}
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{ckpt.path}: damaged training state ({exc})") from exc
