"""What a resumed run restores from its checkpoint (:func:`restore_train_state`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

import numpy as np
import torch

from ..runs.checkpoint import (
    Checkpoint,
    CheckpointError,
    set_rng_state,
)

if TYPE_CHECKING:
    pass


class ResumeCounters(TypedDict):
    """The counters a resumed run continues from (:func:`restore_train_state`)."""

    epoch: int
    global_step: int
    best_miou: float | None
    best_epoch: int
    batch_size: int | None  # None: the configured one
    class_weights: list[float] | None
    total_steps: int | None  # a run with a budget: its step count and validation interval
    eval_every: int | None


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
                "class_weights": ts.get("class_weights"),
                "total_steps": int(ts["total_steps"]) if ts.get("total_steps") else None,
                "eval_every": int(ts["eval_every"]) if ts.get("eval_every") else None}
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{ckpt.path}: damaged training state ({exc})") from exc
