"""One epoch of a run: plan it on a fresh snapshot of the project, train on its batches
(halving the batch after an out-of-memory error), recalibrate BatchNorm, validate.
Free of Qt."""

from __future__ import annotations

import math
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ..runs.events import EpochStarted, Event, Message, Step
from . import data as D
from .state import Metrics, Run, Stop
from .step import is_out_of_memory, lr_factor, recalibrate_batchnorm


@dataclass(frozen=True)
class EpochPlan:
    index: int  # 0-based (the events count from 1)
    started: float  # on the run's clock
    snap: D.Snapshot
    items: Sequence[D.Item]  # this process's share of the training images
    steps: int  # batches planned

    @property
    def number(self) -> int:
        return self.index + 1


@dataclass
class EpochTally:
    """What an epoch's training steps add up to."""

    steps: int  # batches planned (re-planned after an out-of-memory halving)
    last_lr: float
    step: int = 0  # steps taken
    seen: int = 0  # images trained on (over all processes once the epoch is done)
    losses: list[tuple[float, int]] = field(default_factory=list)  # (loss, images)
    accuracies: list[tuple[float, int]] = field(default_factory=list)
    data_s: float = 0.0
    compute_s: float = 0.0
    paused_s: float = 0.0  # a pause is not training time
    calibration: list[np.ndarray] = field(default_factory=list)  # the last batches, for BN

    @property
    def loss(self) -> float | None:
        return _wmean(self.losses)

    @property
    def accuracy(self) -> float | None:
        return _wmean(self.accuracies)

    @property
    def train_s(self) -> float:
        return self.data_s + self.compute_s


@dataclass(frozen=True)
class Validation:
    loss: float | None
    metrics: Metrics | None
    seconds: float


def plan_epoch(run: Run, epoch: int) -> Generator[Event, None, EpochPlan]:
    """Stop if asked to; renew the project's snapshot (new corrections join); EpochStarted."""
    ctx, cfg, data = run.ctx, run.cfg, run.data
    ctx.gate.sync()
    if ctx.cancel.is_set():
        raise Stop("cancelled", "cancelled")
    started = ctx.clock()
    if epoch > run.state.start_epoch:
        data.snap = D.snapshot(ctx.project, cfg.val_split, cfg.split_seed)
    snap = data.snap
    live = {i.key for i in snap.train + snap.val}
    live |= {("mask",) + i.mask_key for i in snap.train + snap.val}
    data.cache.drop_stale(live)
    if not snap.train:
        raise Stop("failed", "no corrected or reviewed images in the training split; "
                             "correct or import some masks first")
    items = snap.train if ctx.dist is None else ctx.dist.shard(snap.train, epoch, cfg.seed)
    if run.length.counted:  # an interval of the budget: as many steps as it holds
        steps = run.length.steps_in(run.state.global_step)
    else:
        steps = math.ceil(len(items) / run.state.batch_size)
    yield EpochStarted(epoch=epoch + 1, epochs=run.length.epochs, steps=steps,
                       train_ids=snap.train_ids, val_ids=snap.val_ids)
    return EpochPlan(index=epoch, started=started, snap=snap, items=items, steps=steps)


def train_one_epoch(run: Run, plan: EpochPlan) -> Generator[Event, None, EpochTally]:
    """Every batch of the epoch (pause and stop are checked before each); then precise
    BatchNorm on the epoch's last batches."""
    ctx, cfg = run.ctx, run.cfg
    run.training.model.train()
    start = run.length.progress(plan.index, 0, plan.steps, run.state.global_step)
    tally = EpochTally(steps=plan.steps, last_lr=cfg.lr * run.state.lr_scale
                       * lr_factor(cfg.schedule, start))
    counted = run.length.counted
    batches = batch_stream(run, plan.items, plan.steps) if counted else \
        ctx.task.epoch_batches(run, plan.items)
    while not counted or tally.step < tally.steps:
        tally.paused_s += yield from ctx.gate.wait()  # blocks while paused
        if ctx.cancel.is_set():
            raise Stop("cancelled", f"cancelled during epoch {plan.number}")
        batch = next(batches, None)
        if batch is None:
            break
        yield from train_batch(run, plan, batch, tally)
    if ctx.dist is not None:
        tally.seen = round(ctx.dist.sum(tally.seen))  # images of this epoch over all processes
    if tally.calibration and ctx.main:
        t0 = ctx.clock()
        recalibrate(run, tally.calibration)
        tally.compute_s += ctx.clock() - t0
    return tally


def train_batch(run: Run, plan: EpochPlan, batch: D.Batch, tally: EpochTally
                ) -> Iterator[Event]:
    """One loaded batch: a Step event per optimizer step, in chunks of the run's batch
    size (smaller than the batch after an out-of-memory halving)."""
    ctx, cfg, state = run.ctx, run.cfg, run.state
    for text in batch.skipped:
        yield from run.warnings.once(text)
    if batch.images is None or batch.targets is None:  # no sample of it loaded
        return
    if ctx.batch_hook is not None:
        ctx.batch_hook(plan.number, batch.ids)
    tally.data_s += batch.seconds
    chunks = _chunks(batch.images, batch.targets, state.batch_size)
    while chunks and not (run.length.counted and tally.step >= tally.steps):
        imgs, tgts = chunks.pop(0)
        progress = run.length.progress(plan.index, tally.step, tally.steps, state.global_step)
        lr = cfg.lr * state.lr_scale * lr_factor(cfg.schedule, progress, state.global_step,
                                                 cfg.warmup_steps)
        if run.length.started_at is None:
            run.length.started_at = ctx.clock() - batch.seconds
        t0 = ctx.clock()
        try:
            loss, acc = run.step(imgs, tgts, lr)
        except Exception as exc:  # noqa: BLE001 - only memory errors are handled
            if not is_out_of_memory(exc):
                raise
            half = yield from halve_batch(run, exc, len(imgs))
            chunks = _chunks(imgs, tgts, half) + chunks
            if not run.length.counted:  # a budget keeps its count of steps
                tally.steps = tally.step + math.ceil((len(plan.snap.train) - tally.seen) / half)
            continue
        dt = ctx.clock() - t0
        n = len(imgs)
        tally.last_lr = lr
        tally.compute_s += dt
        tally.step += 1
        state.global_step += 1
        tally.seen += n
        tally.losses.append((loss, n))
        if cfg.precise_bn:
            tally.calibration = (tally.calibration + [imgs])[-cfg.precise_bn:]
        if acc is not None:
            tally.accuracies.append((acc, n))
        share = batch.seconds * n / max(len(batch.ids), 1)
        timed = run.length.timed_step(dt + share)
        yield Step(epoch=plan.number, step=tally.step,
                   steps_per_epoch=max(tally.steps, tally.step), loss=loss, accuracy=acc,
                   lr=lr, batch_size=n, data_seconds=share, compute_seconds=dt,
                   images_per_sec=n / max(dt + share, 1e-9), global_step=state.global_step)
        if timed:  # the time budget is a count of steps from now on
            yield from settle_budget(run, tally)


def batch_stream(run: Run, items: Sequence[D.Item], steps: int) -> Iterator[D.Batch]:
    """Full batches for an interval of ``steps`` steps: the items repeated as often as the
    interval needs and shuffled together (so no pass ends in a short batch); more
    passes follow if an out-of-memory halving asks for them."""
    if not items:
        return
    reps = math.ceil(steps * run.state.batch_size / len(items)) + 1
    while True:
        empty = True
        for batch in run.ctx.task.epoch_batches(run, list(items) * reps):
            empty = False
            yield batch
        if empty:
            return


def settle_budget(run: Run, tally: EpochTally) -> Iterator[Event]:
    """A time budget, timed over the first steps, becomes the run's count of steps (rank
    0's count in every process under torchrun); the first interval takes its length."""
    ctx, state, length = run.ctx, run.state, run.length
    assert length.started_at is not None
    elapsed = ctx.clock() - length.started_at
    length.settle_from_timing(elapsed, state.global_step, run.cfg.eval_every)
    if ctx.dist is not None:
        assert length.total_steps is not None
        total = round(ctx.dist.sum(length.total_steps if ctx.main else 0))
        length.settle(total, run.cfg.eval_every)
    tally.steps = max(length.steps_in(0), tally.step)
    if ctx.main:
        yield Message("info", length.note(len(run.data.snap.train), state.batch_size))


def halve_batch(run: Run, exc: BaseException, size: int) -> Generator[Event, None, int]:
    """After an out-of-memory error on ``size`` images: the halved batch size, kept for the
    rest of the run.  Stops the run at one image, and under torchrun (the processes must
    take equal steps)."""
    ctx = run.ctx
    if ctx.dist is not None:
        raise Stop("failed", f"out of memory with {size} images per process; choose a smaller "
                             "--batch-size") from exc
    run.training.opt.zero_grad(set_to_none=True)
    if ctx.device.type == "cuda":
        torch.cuda.empty_cache()
    if size <= 1:
        raise Stop("failed", "out of memory even with one image per batch at crop "
                             f"{run.cfg.crop}; choose a smaller --crop or --width") from exc
    half = max(1, size // 2)
    run.state.batch_size = half
    yield Message("warning", f"out of memory with {size} images per batch; continuing with "
                             f"batch size {half}")
    return half


def recalibrate(run: Run, batches: list[np.ndarray]) -> None:
    """Precise BatchNorm: the statistics of ``batches`` under the epoch's final weights."""
    ctx, inputs = run.ctx, run.inputs
    with run.step.autocast():
        recalibrate_batchnorm(run.training.model, [
            D.to_tensor(b, inputs.mean, inputs.std, ctx.device, run.training.channels_last)
            for b in batches])


def validate_epoch(run: Run) -> Generator[Event, None, Validation]:
    """Rank 0 validates on the epoch's validation images (none: no metrics)."""
    ctx = run.ctx
    t0 = ctx.clock()
    loss, metrics = None, None
    if run.data.snap.val and ctx.main:
        loss, metrics = yield from ctx.task.validate(run, run.val_step)
    return Validation(loss=loss, metrics=metrics, seconds=ctx.clock() - t0)


def _chunks(images: np.ndarray, targets: np.ndarray, size: int
            ) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(images[i:i + size], targets[i:i + size]) for i in range(0, len(images), size)]


def _wmean(pairs: list[tuple[float, int]]) -> float | None:
    n = sum(w for _, w in pairs)
    return sum(v * w for v, w in pairs) / n if n else None
