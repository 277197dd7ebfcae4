"""What a run writes to the project store (rank 0 alone under torchrun): each epoch's
checkpoints and record, and at the end the run's status and the active model.
Free of Qt."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ...core.atomic import atomic_write
from ...core.errors import SegStudioError
from ..runs.checkpoint import SMALL_METRICS, checkpoint_dict, copy_into, rng_state, save_checkpoint
from ..runs.events import EpochEnd, Finished
from .epoch import EpochPlan, EpochTally, Validation
from .guard import Guard, Verdict
from .state import Metrics, Run, RunContext, RunState
from .validation import epoch_metrics

if TYPE_CHECKING:
    from ..models.segnet import _Net


def save_epoch_checkpoint(run: Run, epoch: int, metrics: Metrics | None,
                          train_loss: float | None) -> bool:
    """Write the last checkpoint (weights and the whole training state, for resume), and
    copy it to the best one when this epoch scores best; returns whether it did."""
    state, cfg, training = run.state, run.cfg, run.training
    miou = metrics.get("miou") if metrics else None
    is_best = False
    if miou is not None:
        is_best = state.best_miou is None or miou > state.best_miou
    elif state.best_miou is None:
        is_best = True  # no validation: the best is the latest
    if is_best:
        state.best_miou = miou if miou is not None else state.best_miou
        state.best_epoch = epoch
    balance = training.balance
    train_state = {
        "epoch": epoch,
        "global_step": state.global_step,
        "optimizer": training.opt.state_dict(),
        "scheduler": {"name": cfg.schedule, "base_lr": cfg.lr, "epoch": epoch},
        "grad_scaler": training.scaler.state_dict() if training.scaler is not None else None,
        "rng": rng_state(training.np_rng, run.ctx.device),
        "config": cfg.to_dict(),
        "best_miou": state.best_miou,
        "best_epoch": state.best_epoch,
        "batch_size": state.batch_size,
        "course": state.course,
        "total_steps": run.length.total_steps if run.length.counted else None,
        "eval_every": run.length.eval_every if run.length.counted else None,
        "class_weights": (balance.weights.cpu().tolist() if balance.weights is not None
                          else None),
        "crop_preference": list(balance.focus.preference) if balance.focus is not None
        else None,
        "train_loss": train_loss,
    }
    small = None
    if metrics:
        small = {k: metrics[k] for k in SMALL_METRICS if k in metrics}
    model = cast("_Net", training.model)  # the built SegNet (tests may wrap it)
    data = checkpoint_dict(model, run.ctx.classes, run.inputs.mean, run.inputs.std,
                           train_state, state.run_id, epoch, small,
                           normalize=cfg.normalize if cfg.task == "semantic" else "project",
                           **run.ctx.task.checkpoint_extra(cfg))
    assert state.last_path is not None and state.best_path is not None
    save_checkpoint(state.last_path, data)
    state.have_last = True
    if is_best:
        last = state.last_path
        atomic_write(state.best_path, lambda fh: copy_into(last, fh))
        state.have_best = True
    return is_best


def record_epoch(run: Run, plan: EpochPlan, tally: EpochTally, val: Validation,
                 is_best: bool, verdict: Verdict, epoch_seconds: list[float]) -> EpochEnd:
    """The epoch's numbers into the run's record; its :class:`EpochEnd` event.
    ``epoch_seconds``: each epoch's time so far, this one's last (pauses left out)."""
    ctx, state = run.ctx, run.state
    train_s = tally.train_s
    record = epoch_metrics(
        plan.number, val.metrics, train_loss=tally.loss, val_loss=val.loss, lr=tally.last_lr,
        seconds=epoch_seconds[-1], images_per_sec=tally.seen / train_s if train_s > 0 else None,
        data_seconds=tally.data_s, compute_seconds=tally.compute_s, train_images=tally.seen,
        train_accuracy=tally.accuracy, val_seconds=val.seconds, val_images=len(plan.snap.val))
    best = str(state.best_path) if state.have_best else None
    if state.run_id is not None:
        ctx.project.runs.add_epoch(state.run_id, record)
        ctx.project.runs.update(state.run_id, checkpoint=str(state.last_path),
                                best_checkpoint=best, best_miou=state.best_miou)
    epochs = run.length.epochs
    eta = float(np.mean(epoch_seconds)) * max(0, epochs - plan.number)
    return EpochEnd(epochs=epochs, metrics=record, last_checkpoint=str(state.last_path),
                    best_checkpoint=best, is_best=is_best, best_miou=state.best_miou,
                    eta_seconds=eta, trivial_miou=verdict.trivial_miou,
                    trivial_accuracy=verdict.trivial_accuracy, beats_trivial=verdict.beats)


def finish_run(ctx: RunContext, state: RunState, guard: Guard | None, status: str,
               message: str, seconds: float) -> Finished:
    """The run's end in its record; its best checkpoint becomes the project's active model
    unless the guard (:meth:`Task.decide`) says it is worse.  ``guard`` None: the run did
    not get as far as its first epoch."""
    last = str(state.last_path) if state.have_last else None
    best = str(state.best_path) if state.have_best else None
    project = ctx.project
    if state.run_id is not None:
        try:  # noqa: SIM105
            project.runs.finish(state.run_id, status, last, best, state.best_miou, message)
        except SegStudioError:
            pass
    details: dict[str, Any] = {}
    if best is not None and guard is not None:
        try:
            active = project.settings.get(ctx.task.active_setting, None)
            activate, note = ctx.task.decide(guard, state.best_miou, bool(active))
            details = {"activated": activate, "verdict": note,
                       "trivial_miou": guard.trivial_miou,
                       "previous_miou": guard.previous[1] if guard.previous else None}
            if activate:
                project.settings.set(ctx.task.active_setting, best)
                # its validation score beside it (the Click tool warns of a weak model)
                project.settings.set(ctx.task.active_setting + "_score", state.best_miou)
        except SegStudioError:
            pass
    return Finished(status=status, run_id=state.run_id, epochs_done=state.epochs_done,
                    last_checkpoint=last, best_checkpoint=best, best_miou=state.best_miou,
                    message=message, seconds=seconds, details=details)
