"""Setting a run up, step by step as :func:`segstudio.nn.train.engine.fit` calls them: the
model's first weights and device, the data, the restored checkpoint, the steps that
train it, and the run's record and :class:`~events.RunStarted`.  Free of Qt."""

from __future__ import annotations

import dataclasses
from collections.abc import Generator, Iterator
from typing import cast

import numpy as np
import torch

from ...core.errors import SegStudioError
from ..device import describe
from ..models.segnet import ImagenetWeightsError, SegNet, count_parameters, load_imagenet_encoder
from ..runs.checkpoint import CheckpointError, checkpoint_paths
from ..runs.events import Event, Message, RunStarted
from . import data as D
from .distributed import wrap as ddp_wrap
from .guard import Guard
from .length import RunLength, validation_cost
from .losses import IGNORE, MedianFrequency
from .resume import restore_train_state
from .state import ClassBalance, ModelInputs, Run, RunContext, RunData, RunState, Training
from .step import use_channels_last

PARTIAL_VALIDATION = (
    "validation: {} of the {} validation images are only partially labelled, so the figures "
    "count the pixels people labelled there (regions the review queue chose where the model "
    "was likely wrong read lower than whole images); validation uses fully labelled images "
    "alone once the project has enough of them")


def initialise_weights(model: torch.nn.Module, ctx: RunContext) -> Iterator[Event]:
    """A new segmentation model's encoder from ImageNet when asked for; else He's
    initialisation, kept (a checkpoint's weights come later, in :func:`restore`)."""
    cfg = ctx.cfg
    if ctx.checkpoint is None and cfg.arch == "segnet" and cfg.imagenet and \
            cfg.task == "semantic":
        path = None if cfg.imagenet == "auto" else cfg.imagenet
        try:
            note = load_imagenet_encoder(cast(SegNet, model), path)
        except ImagenetWeightsError as exc:
            raise SegStudioError(str(exc)) from exc
        yield Message("info" if "initialised from" in note else "warning", note)
    elif ctx.checkpoint is None:
        yield Message("info", "starting from He initialisation")


def to_device(model: torch.nn.Module, ctx: RunContext) -> bool:
    """Move the model to the run's device, channels_last where that is faster; returns
    whether it is channels_last."""
    cfg, dev = ctx.cfg, ctx.device
    channels_last = use_channels_last(dev, cfg.width, cfg.batch_size, cfg.channels_last)
    model.to(dev).to(memory_format=torch.channels_last if channels_last
                     else torch.contiguous_format)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
    return channels_last


def load_data(ctx: RunContext, inputs: ModelInputs) -> Generator[Event, None, RunData]:
    """The image cache and loader, the project's first snapshot, and the training masks'
    pixels per class (for class weights, crops and the guard)."""
    cfg = ctx.cfg
    cache = D.ImageCache(D.cache_budget(cfg.cache_mb))
    loader = D.SampleLoader(ctx.classes.train_lut(IGNORE), inputs.image_channels, cache,
                            cfg.normalize if cfg.task == "semantic" else "project")
    snap = D.snapshot(ctx.project, cfg.val_split, cfg.split_seed)
    if snap.partial_val and ctx.main:
        yield Message("info", PARTIAL_VALIDATION.format(snap.partial_val, len(snap.val)))
    data = RunData(cache, loader, snap, MedianFrequency(ctx.classes.num_trainable))
    for item in snap.train:
        try:
            data.counts.add(loader.target(item))
        except SegStudioError as exc:
            yield from data.warnings.once(str(exc))
    return data


def augmentation_rng(ctx: RunContext) -> np.random.Generator:
    """Each process its own augmentation stream (the same weights: DDP broadcasts them)."""
    return np.random.default_rng(ctx.cfg.seed + (ctx.dist.rank if ctx.dist else 0))


def restore(ctx: RunContext, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
            scaler: torch.amp.GradScaler | None, np_rng: np.random.Generator,
            state: RunState) -> Generator[Event, None, ClassBalance | None]:
    """Resume: the checkpoint's weights, optimizer, grad scaler, RNG states and counters;
    returns its class balance.  A checkpoint without training state (or a round's
    start): its weights only, in a new run; returns None, as for a run from scratch."""
    ckpt, cfg = ctx.checkpoint, ctx.cfg
    if ckpt is None:
        return None
    if ckpt.train_state is not None:
        st = restore_train_state(ckpt, model, optimizer, scaler, np_rng, ctx.device)
        state.start_epoch, state.global_step = st["epoch"], st["global_step"]
        state.best_miou, state.best_epoch = st["best_miou"], st["best_epoch"]
        state.batch_size = st["batch_size"] or cfg.batch_size
        state.total_steps, state.eval_every = st["total_steps"], st["eval_every"]
        state.train_losses = [float(v) for v in ckpt.train_state.get("train_losses") or []]
        w = st["class_weights"]
        pref = ckpt.train_state.get("crop_preference")
        yield Message("info", f"resuming from {ckpt.path} after epoch {state.start_epoch}")
        return ClassBalance(torch.tensor(w, dtype=torch.float32) if w is not None else None,
                            D.CropFocus(cfg.rare_crops, tuple(pref)) if pref else None)
    try:
        model.load_state_dict(ckpt.model_state)
    except RuntimeError as exc:
        raise CheckpointError(f"{ckpt.path}: the weights do not fit ({exc})") from exc
    if ctx.warm_start:
        how_long = f"budget {cfg.budget}" if cfg.budget else f"{cfg.epochs} epochs"
        yield Message("info", f"a new round from the weights of {ckpt.path} "
                              f"({how_long}, lr {cfg.lr:g})")
    else:
        yield Message("info", f"starting from the weights of {ckpt.path} (no training state "
                              "in it: a new run with a fresh optimizer)")
    return None


def assemble(ctx: RunContext, inputs: ModelInputs, training: Training, data: RunData,
             state: RunState) -> Run:
    """The run: its class weights on the device, its steps (the training one through DDP
    under torchrun; validation and precise BatchNorm use the model itself), its guard."""
    weights = training.balance.weights
    if weights is not None:
        training.balance = dataclasses.replace(training.balance, weights=weights.to(ctx.device))
    model = training.model
    net = model if ctx.dist is None else ddp_wrap(model, ctx.device)
    step = ctx.task.make_step(ctx, inputs, training, net, training.scaler)
    val_step = step if ctx.dist is None else ctx.task.make_step(ctx, inputs, training, model,
                                                                None)
    length = run_length(ctx, data, state)
    guard = Guard([c.name for c in ctx.classes.trainable], data.counts.class_pixels,
                  length.epochs)
    return Run(ctx, inputs, training, data, state, guard, step, val_step, length)


def run_length(ctx: RunContext, data: RunData, state: RunState) -> RunLength:
    """The run's epochs, or its budget: its steps (a resumed run keeps its own count) and
    its validation interval."""
    cfg = ctx.cfg
    snap = data.snap
    if cfg.crop is not None:
        crop_px = cfg.crop[0] * cfg.crop[1]
    else:
        crop_px = int(sum(i.height * i.width for i in snap.train) / max(len(snap.train), 1))
    val_px = sum(i.height * i.width for i in snap.val)
    length = RunLength.of(cfg, validation_cost(val_px, cfg.batch_size, crop_px,
                                               cfg.precise_bn))
    if ctx.resumes and state.total_steps:  # goes on to its own count
        length.restore(state.total_steps, state.eval_every or cfg.eval_every or 1)
    return length


def begin(run: Run) -> Iterator[Event]:
    """What the run has to beat, its record and checkpoint files, :class:`RunStarted`."""
    ctx, state, cfg = run.ctx, run.state, run.cfg
    if ctx.dist is not None and ctx.main:
        yield Message("info", ctx.dist.note(state.batch_size))
    state.epochs_done = state.start_epoch
    if ctx.main and not ctx.resumes:  # a new run: the model it has to beat
        yield from ctx.task.previous_model(run)
    ckpt = ctx.checkpoint
    if ctx.record_run:
        started_from = str(ckpt.path) if ctx.warm_start and ckpt else None
        state.run_id = ctx.project.runs.create(
            dict(cfg.to_dict(), resumed_from=ctx.resumed_from, started_from=started_from),
            str(ctx.device))
    state.last_path, state.best_path = checkpoint_paths(ctx.project, state.run_id, ctx.out)
    yield from ctx.task.before_start(run)
    model = run.training.model
    yield RunStarted(run_id=state.run_id, device=str(ctx.device), device_name=describe(ctx.device),
                     config=cfg.to_dict(), model=model.config(),  # type: ignore[operator]
                     parameters=count_parameters(model), train_images=len(run.data.snap.train),
                     val_images=len(run.data.snap.val), start_epoch=state.start_epoch,
                     epochs=run.length.epochs, checkpoint_dir=str(state.last_path.parent),
                     resumed_from=ctx.resumed_from)
