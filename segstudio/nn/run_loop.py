"""One training run's state and its epoch loop (:class:`_Trainer`), driven by
:func:`segstudio.nn.engine.fit`.  Free of Qt."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

from ..core.atomic import atomic_write
from ..core.errors import SegStudioError
from ..core.project import Project
from . import data as D
from .checkpoint import (
    SMALL_METRICS,
    Checkpoint,
    CheckpointError,
    check_compatible,
    checkpoint_dict,
    checkpoint_paths,
    copy_into,
    rng_state,
    save_checkpoint,
)
from .config import TrainConfig
from .control import RunGate
from .device import describe
from .distributed import Distributed
from .distributed import wrap as ddp_wrap
from .events import EpochEnd, EpochStarted, Event, Finished, Message, RunStarted, Step
from .guard import Guard, comparable_active_model
from .losses import IGNORE, MedianFrequency, choose_class_weights, rare_classes
from .run_config import restore_train_state
from .segnet import (
    GRAY_MEAN,
    GRAY_STD,
    IMAGENET_MEAN,
    IMAGENET_STD,
    ImagenetWeightsError,
    build_model,
    count_parameters,
    load_imagenet_encoder,
)
from .step import (
    TrainStep,
    amp_settings,
    is_out_of_memory,
    lr_factor,
    make_optimizer,
    recalibrate_batchnorm,
    use_channels_last,
)
from .validation import epoch_metrics, validate


class _Stop(Exception):
    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class _Trainer:
    """State of one run; :func:`fit` drives it."""

    def __init__(self, project: Project, cfg: TrainConfig, device: torch.device,
                 cancel: threading.Event, pause: threading.Event | None,
                 resume: Checkpoint | None, out: Path | None, record_run: bool,
                 batch_hook: Callable[[int, tuple[int, ...]], None] | None,
                 warm_start: bool = False, dist: Distributed | None = None):
        self.project = project
        self.cfg = cfg
        self.device = device
        # stop / pause between batches, timed on this module's clock
        self.gate = RunGate(cancel, pause, dist, clock=lambda: time.perf_counter())
        self.cancel, self.pause = self.gate.cancel, self.gate.pause
        self.resume = resume
        self.out = out
        self.record_run = record_run
        self.batch_hook = batch_hook
        self.warm_start = warm_start  # resume holds the weights of the model a round starts from
        self.dist = dist  # torchrun: this process's rank (rank 0 alone writes the project)
        self.main = dist is None or dist.is_main
        self.classes = project.classes
        self.k = self.classes.num_trainable
        self.names = [c.name for c in self.classes.trainable]
        self.warned: set[str] = set()
        self.run_id: int | None = None
        self.last_path: Path | None = None
        self.best_path: Path | None = None
        self.best_miou: float | None = None
        self.best_epoch = 0
        self.epochs_done = 0
        self.global_step = 0
        self.have_last = False
        self.have_best = False
        self.batch_size = cfg.batch_size
        self.paused_s = 0.0

    # -- setup -----------------------------------------------------------------------
    def setup(self) -> Iterator[Event]:
        cfg = self.cfg
        ckpt = self.resume
        if ckpt is not None:
            check_compatible(ckpt, self.classes, D.project_channels(self.project))
        self._model_inputs(ckpt)
        torch.manual_seed(cfg.seed)
        # each process its own augmentation stream (the same weights: DDP broadcasts them)
        self.np_rng = np.random.default_rng(cfg.seed + (self.dist.rank if self.dist else 0))
        self.model = build_model(cfg.arch, self.outputs, self.in_ch, cfg.width)
        self.model.dropout = cfg.dropout
        if ckpt is None and cfg.arch == "segnet" and cfg.imagenet and cfg.task == "semantic":
            path = None if cfg.imagenet == "auto" else cfg.imagenet
            try:
                note = load_imagenet_encoder(self.model, path)  # type: ignore[arg-type]
            except ImagenetWeightsError as exc:
                raise SegStudioError(str(exc)) from exc
            yield Message("info" if "initialised from" in note else "warning", note)
        elif ckpt is None:
            yield Message("info", "starting from He initialisation")
        dev = self.device
        cl = use_channels_last(dev, cfg.width, cfg.batch_size, cfg.channels_last)
        self.fmt = torch.channels_last if cl else torch.contiguous_format
        self.model = self.model.to(dev).to(memory_format=self.fmt)
        self.opt = make_optimizer(cfg, self.model.parameters())
        if dev.type == "cuda":
            torch.backends.cudnn.benchmark = True
        self.amp_dtype, self.scaler = amp_settings(dev, cfg.amp)
        self.cache = D.ImageCache(D.cache_budget(cfg.cache_mb))
        self.loader = D.SampleLoader(self.classes.train_lut(IGNORE), self.image_ch, self.cache)
        self.snap = D.snapshot(self.project, cfg.val_split, cfg.split_seed)
        self.weights: torch.Tensor | None = None
        self.counts = yield from self._count_classes()
        start_epoch = 0
        if ckpt is not None and ckpt.train_state is not None:
            ts = ckpt.train_state
            st = restore_train_state(ckpt, self.model, self.opt, self.scaler, self.np_rng, dev)
            start_epoch, self.global_step = st["epoch"], st["global_step"]
            self.best_miou, self.best_epoch = st["best_miou"], st["best_epoch"]
            self.batch_size = st["batch_size"] or cfg.batch_size
            w = st["class_weights"]
            self.weights = torch.tensor(w, dtype=torch.float32) if w is not None else None
            pref = ts.get("crop_preference")
            self.focus = D.CropFocus(cfg.rare_crops, tuple(pref)) if pref else None
            yield Message("info", f"resuming from {ckpt.path} after epoch {start_epoch}")
        else:
            if ckpt is not None:  # weights only: a new run starts from them
                try:
                    self.model.load_state_dict(ckpt.model_state)
                except RuntimeError as exc:
                    raise CheckpointError(f"{ckpt.path}: the weights do not fit ({exc})") from exc
                if self.warm_start:
                    yield Message("info", f"a new round from the weights of {ckpt.path} "
                                          f"({cfg.epochs} epochs, lr {cfg.lr:g})")
                else:
                    yield Message("info", f"starting from the weights of {ckpt.path} (no "
                                          "training state in it: a new run with a fresh "
                                          "optimizer)")
            self.weights = yield from self._class_weights()
        if self.weights is not None:
            self.weights = self.weights.to(dev)
        net = self.model if self.dist is None else ddp_wrap(self.model, dev)
        self.step = self._make_step(net, self.scaler)
        # validation and precise BatchNorm use the model itself, never the DDP wrapper
        self.val_step = self.step if self.dist is None else self._make_step(self.model, None)
        if self.dist is not None and self.main:
            yield Message("info", self.dist.note(self.batch_size))
        self.start_epoch = start_epoch
        self.epochs_done = start_epoch
        self.guard = Guard(self.names, self.counts.class_pixels, cfg.epochs)
        if self.main and (ckpt is None or ckpt.train_state is None):  # what it has to beat
            yield from self._previous_model(ckpt)
        if self.record_run:
            self.run_id = self.project.runs.create(
                dict(cfg.to_dict(), resumed_from=self._resumed_from(),
                     started_from=str(ckpt.path) if self.warm_start and ckpt else None),
                str(dev))
        self.last_path, self.best_path = checkpoint_paths(self.project, self.run_id, self.out)
        yield RunStarted(self.run_id, str(dev), describe(dev), cfg.to_dict(), self.model.config(),
                         count_parameters(self.model), len(self.snap.train), len(self.snap.val),
                         start_epoch, cfg.epochs, str(self.last_path.parent),
                         self._resumed_from())

    # -- what a click run (click_run.ClickTrainer) does its own way --------------------------
    active_setting = "active_checkpoint"  # the project setting of the model a run replaces

    def _model_inputs(self, ckpt: Checkpoint | None) -> None:
        """The model's outputs, input channels and normalisation; the images' channels."""
        self.image_ch = self.in_ch = ckpt.in_channels if ckpt else D.project_channels(self.project)
        self.outputs = self.k
        self.mean = ckpt.mean if ckpt else (IMAGENET_MEAN if self.in_ch == 3 else GRAY_MEAN)
        self.std = ckpt.std if ckpt else (IMAGENET_STD if self.in_ch == 3 else GRAY_STD)
        self.fill = D.fill_value(self.mean)

    def _make_step(self, net, scaler):
        return TrainStep(net, self.opt, self.device, self.mean, self.std,
                         self.fmt is torch.channels_last, self.amp_dtype, scaler, self.weights,
                         self.cfg.loss)

    def _epoch_batches(self, items):
        c = self.cfg
        return D.epoch_batches(items, self.batch_size, self.np_rng, self.loader, c.crop, c.scale,
                               c.flip, self.fill, c.workers, self.focus)

    def _checkpoint_extra(self) -> dict:  # what else the checkpoint records (its task)
        return {}

    def _decide(self, has_active: bool) -> tuple[bool, str | None]:
        return self.guard.decide(self.best_miou, has_active=has_active)

    def _previous_model(self, start: Checkpoint | None) -> Iterator[Event]:
        """Validate the model this run should beat: the one a warm-started round starts
        from, else the project's active model when it fits this project."""
        if not self.snap.val:
            return
        step, label = self.step, None
        if start is not None:
            label = "the model this round starts from"
        else:
            prev = comparable_active_model(self.project, self.in_ch)
            if prev is None:
                return
            step = TrainStep(prev.build_model().to(self.device), self.opt, self.device,
                             prev.mean, prev.std)
            label = "the active model"
        _, metrics = yield from self._validated(step)
        if metrics and metrics.get("miou") is not None:
            self.guard.previous = (label, float(metrics["miou"]))
            yield Message("info", f"{label} scores {metrics['miou'] * 100:.1f} % val mIoU on "
                                  f"this run's {len(self.snap.val)} validation images")

    def _resumed_from(self) -> str | None:
        if self.resume is None or self.warm_start:
            return None
        return str(self.resume.path)

    def _count_classes(self) -> Iterator[Event]:
        """Pixels per class of the training masks (for weights, crops and the guard)."""
        acc = MedianFrequency(self.k)
        for item in self.snap.train:
            try:
                acc.add(self.loader.target(item))
            except SegStudioError as exc:
                yield from self._warn_once(str(exc))
        return acc

    def _class_weights(self) -> Iterator[Event]:
        mf = self.counts.weights()
        self.focus = None
        rare = rare_classes(mf)
        if self.cfg.rare_crops > 0 and self.counts.class_pixels.sum() > 0 and rare.any():
            # crops around the rare classes only: a mild imbalance keeps uniform crops
            self.focus = D.CropFocus(self.cfg.rare_crops,
                                     tuple(float(v) if r else 0.0
                                           for v, r in zip(mf, rare, strict=True)))
        w, note = choose_class_weights(self.cfg.class_weights, mf, self.classes.weights,
                                       self.names)
        if note:
            level = "warning" if w is None and self.cfg.class_weights == "table" else "info"
            yield Message(level, note)
        return torch.tensor(w, dtype=torch.float32) if w is not None else None

    def _validated(self, step: TrainStep) -> Iterator[Event]:
        """Validate ``step.model`` on the split's validation images (warnings as events);
        returns (val loss, metrics)."""
        gen = validate(step, self.snap.val, self.loader, self.classes, self.fill,
                       self.batch_size, self.cfg.val_max_pixels, self.cancel)
        while True:
            try:
                text = next(gen)
            except StopIteration as done:
                return done.value
            yield from self._warn_once(text)

    def _warn_once(self, text: str) -> Iterator[Event]:
        if text not in self.warned:
            self.warned.add(text)
            yield Message("warning", text)

    # -- one step ------------------------------------------------------------------------
    def _wait_if_paused(self) -> Iterator[Event]:
        self.paused_s += yield from self.gate.wait()  # a pause is not training time

    # -- epochs --------------------------------------------------------------------------
    def run(self) -> Iterator[Event]:
        cfg = self.cfg
        epoch_times: list[float] = []
        for epoch in range(self.start_epoch, cfg.epochs):
            self.gate.sync()
            if self.cancel.is_set():
                raise _Stop("cancelled", "cancelled")
            t_epoch = time.perf_counter()
            self.paused_s = 0.0
            if epoch > self.start_epoch:
                self.snap = D.snapshot(self.project, cfg.val_split, cfg.split_seed)
            snap = self.snap
            live = {i.key for i in snap.train + snap.val}
            live |= {("mask",) + i.mask_key for i in snap.train + snap.val}
            self.cache.drop_stale(live)
            if not snap.train:
                raise _Stop("failed", "no corrected or reviewed images in the training split; "
                                      "correct or import some masks first")
            items = snap.train if self.dist is None else self.dist.shard(snap.train, epoch,
                                                                           cfg.seed)
            steps = math.ceil(len(items) / self.batch_size)
            yield EpochStarted(epoch + 1, cfg.epochs, steps, snap.train_ids, snap.val_ids)
            self.model.train()
            losses, accs, seen = [], [], 0
            last_lr = cfg.lr * lr_factor(cfg.schedule, epoch / cfg.epochs)
            data_s = compute_s = 0.0
            step = 0
            calibration: list[np.ndarray] = []  # the epoch's last batches, for precise BN
            batches = self._epoch_batches(items)
            while True:
                yield from self._wait_if_paused()
                if self.cancel.is_set():
                    raise _Stop("cancelled", f"cancelled during epoch {epoch + 1}")
                try:
                    batch = next(batches)
                except StopIteration:
                    break
                for text in batch.skipped:
                    yield from self._warn_once(text)
                if batch.images is None:
                    continue
                if self.batch_hook is not None:
                    self.batch_hook(epoch + 1, batch.ids)
                data_s += batch.seconds
                bs = self.batch_size  # smaller than the epoch's after an out-of-memory halving
                chunks = [(batch.images[i:i + bs], batch.targets[i:i + bs])
                          for i in range(0, len(batch.images), bs)]
                while chunks:
                    imgs, tgts = chunks.pop(0)
                    progress = (epoch + min(step, steps) / max(steps, 1)) / cfg.epochs
                    lr = cfg.lr * lr_factor(cfg.schedule, progress, self.global_step,
                                            cfg.warmup_steps)
                    t0 = time.perf_counter()
                    try:
                        loss, acc = self.step(imgs, tgts, lr)
                    except Exception as exc:  # noqa: BLE001 - only memory errors are handled
                        if not is_out_of_memory(exc):
                            raise
                        if self.dist is not None:  # the processes must take equal steps
                            raise _Stop("failed", f"out of memory with {len(imgs)} images per "
                                                  "process; choose a smaller --batch-size") \
                                from exc
                        self.opt.zero_grad(set_to_none=True)
                        if self.device.type == "cuda":
                            torch.cuda.empty_cache()
                        if len(imgs) <= 1:
                            raise _Stop("failed", "out of memory even with one image per batch "
                                        f"at crop {cfg.crop}; choose a smaller --crop or --width") \
                                from exc
                        half = max(1, len(imgs) // 2)
                        self.batch_size = half
                        yield Message("warning", f"out of memory with {len(imgs)} images per "
                                      f"batch; continuing with batch size {half}")
                        chunks = [(imgs[i:i + half], tgts[i:i + half])
                                  for i in range(0, len(imgs), half)] + chunks
                        steps = step + math.ceil(
                            (len(snap.train) - seen) / self.batch_size)
                        continue
                    dt = time.perf_counter() - t0
                    last_lr = lr
                    compute_s += dt
                    step += 1
                    self.global_step += 1
                    seen += len(imgs)
                    losses.append((loss, len(imgs)))
                    if cfg.precise_bn:
                        calibration = (calibration + [imgs])[-cfg.precise_bn:]
                    if acc is not None:
                        accs.append((acc, len(imgs)))
                    share = batch.seconds * len(imgs) / max(len(batch.ids), 1)
                    yield Step(epoch + 1, step, max(steps, step), loss, acc, lr, len(imgs),
                               share, dt, len(imgs) / max(dt + share, 1e-9), self.global_step)
            if self.dist is not None:
                seen = round(self.dist.sum(seen))  # images of this epoch over all processes
            if calibration and self.main:
                t_bn = time.perf_counter()
                with self.step.autocast():
                    recalibrate_batchnorm(self.model, [
                        D.to_tensor(b, self.mean, self.std, self.device,
                                    self.fmt is torch.channels_last) for b in calibration])
                compute_s += time.perf_counter() - t_bn
            train_s = data_s + compute_s
            train_loss = _wmean(losses)
            train_acc = _wmean(accs)
            t_val = time.perf_counter()
            val_loss, metrics = None, None
            if snap.val and self.main:
                val_loss, metrics = yield from self._validated(self.val_step)
            val_s = time.perf_counter() - t_val
            self.epochs_done = epoch + 1
            verdict = self.guard.epoch(epoch + 1, metrics)
            if verdict.warning:
                yield from self._warn_once(verdict.warning)
            is_best = self._save(epoch + 1, metrics, train_loss) if self.main else False
            if self.dist is not None:
                self.dist.barrier()  # the others wait for rank 0's validation and checkpoint
            secs = time.perf_counter() - t_epoch - self.paused_s
            epoch_times.append(secs)
            eta = float(np.mean(epoch_times)) * (cfg.epochs - epoch - 1)
            record = epoch_metrics(
                epoch + 1, metrics, train_loss=train_loss, val_loss=val_loss, lr=last_lr,
                seconds=secs, images_per_sec=seen / train_s if train_s > 0 else None,
                data_seconds=data_s, compute_seconds=compute_s, train_images=seen,
                train_accuracy=train_acc, val_seconds=val_s, val_images=len(snap.val))
            if self.run_id is not None:
                self.project.runs.add_epoch(self.run_id, record)
                self.project.runs.update(self.run_id, checkpoint=str(self.last_path),
                                         best_checkpoint=str(self.best_path) if self.have_best
                                         else None, best_miou=self.best_miou)
            yield EpochEnd(cfg.epochs, record, str(self.last_path),
                           str(self.best_path) if self.have_best else None, is_best,
                           self.best_miou, eta, verdict.trivial_miou, verdict.trivial_accuracy,
                           verdict.beats)

    def _save(self, epoch: int, metrics: dict | None, train_loss: float | None) -> bool:
        miou = metrics.get("miou") if metrics else None
        is_best = False
        if miou is not None:
            is_best = self.best_miou is None or miou > self.best_miou
        elif self.best_miou is None:
            is_best = True  # no validation: the best is the latest
        if is_best:
            self.best_miou = miou if miou is not None else self.best_miou
            self.best_epoch = epoch
        ts = {
            "epoch": epoch,
            "global_step": self.global_step,
            "optimizer": self.opt.state_dict(),
            "scheduler": {"name": self.cfg.schedule, "base_lr": self.cfg.lr, "epoch": epoch},
            "grad_scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "rng": rng_state(self.np_rng, self.device),
            "config": self.cfg.to_dict(),
            "best_miou": self.best_miou,
            "best_epoch": self.best_epoch,
            "batch_size": self.batch_size,
            "class_weights": (self.weights.cpu().tolist() if self.weights is not None else None),
            "crop_preference": list(self.focus.preference) if self.focus is not None else None,
            "train_loss": train_loss,
        }
        small = None
        if metrics:
            small = {k: metrics[k] for k in SMALL_METRICS if k in metrics}
        data = checkpoint_dict(self.model, self.classes, self.mean, self.std, ts, self.run_id,
                               epoch, small, **self._checkpoint_extra())
        assert self.last_path is not None and self.best_path is not None
        save_checkpoint(self.last_path, data)
        self.have_last = True
        if is_best:
            last = self.last_path
            atomic_write(self.best_path, lambda fh: copy_into(last, fh))
            self.have_best = True
        return is_best

    def finish(self, status: str, message: str, t0: float) -> Finished:
        last = str(self.last_path) if self.have_last else None
        best = str(self.best_path) if self.have_best else None
        if self.run_id is not None:
            try:  # noqa: SIM105
                self.project.runs.finish(self.run_id, status, last, best, self.best_miou, message)
            except SegStudioError:
                pass
        details: dict = {}
        if best is not None:
            try:
                active = self.project.settings.get(self.active_setting, None)
                activate, note = self._decide(bool(active))
                details = {"activated": activate, "verdict": note,
                           "trivial_miou": self.guard.trivial_miou,
                           "previous_miou": self.guard.previous[1] if self.guard.previous
                           else None}
                if activate:
                    self.project.settings.set(self.active_setting, best)
            except SegStudioError:
                pass
        return Finished(status, self.run_id, self.epochs_done, last, best, self.best_miou,
                        message, time.perf_counter() - t0, details)


def _wmean(pairs: list[tuple[float, int]]) -> float | None:
    n = sum(w for _, w in pairs)
    return sum(v * w for v, w in pairs) / n if n else None
