"""The training engine: a generator of small event records, free of Qt.

    for event in fit(project, config, cancel=cancel_event, pause=pause_event):
        ...  # RunStarted, EpochStarted, Step, EpochEnd, Message, Finished

``cancel`` and ``pause`` are ``threading.Event`` objects checked before every
batch (a set ``pause`` blocks between batches until it is cleared or
``cancel`` is set).  The generator always ends with a :class:`Finished`
event and does not raise for user-facing problems (status "failed" with a
one-line message instead).

Every epoch re-reads the project (:func:`data.snapshot`): images whose masks
were corrected or reviewed meanwhile join the next epoch.

:func:`fit` is a composition of small functions, as in torchvision's references:
:func:`setup` (:mod:`run_setup`: the model, its optimizer, the data, the restored
checkpoint, the run's record), then per epoch :mod:`train_epoch` (train, with the
out-of-memory back-off, and validate) and :mod:`run_store` (save the checkpoint,
record the epoch, and at the end the run).  The records they share are in
:mod:`run_state`; what a segmentation run and a click-model run do their own way
is their :class:`~run_state.Task` (:mod:`semantic_run`, :mod:`click_run`).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import torch

from ...core.errors import SegStudioError
from ...core.project import Project
from ..config import TrainConfig
from ..device import resolve_device
from ..models.segnet import build_model
from ..plan.fingerprint import project_channels
from ..registry import TASKS
from ..runs.checkpoint import check_compatible
from ..runs.control import RunChannel, RunGate
from ..runs.events import Event, Finished, Message
from . import course
from .distributed import device_for
from .distributed import from_env as dist_from_env
from .epoch import plan_epoch, train_one_epoch, validate_epoch
from .request import RunRequest, resolve
from .setup import (
    assemble,
    augmentation_rng,
    begin,
    initialise_weights,
    load_data,
    restore,
    to_device,
)
from .state import BatchHook, Run, RunContext, RunState, Stop, Task, Training
from .step import amp_settings, make_optimizer
from .store import finish_run, record_epoch, save_epoch_checkpoint


def fit(project: Project, config: TrainConfig | RunRequest | None = None, *,
        device: str | torch.device = "auto",
        cancel: threading.Event | None = None, pause: threading.Event | None = None,
        resume: str | Path | None = None, out: str | Path | None = None,
        record_run: bool = True,
        batch_hook: Callable[[int, tuple[int, ...]], None] | None = None,
        start_from: str | Path | None = None) -> Iterator[Event]:
    """Train on the project's corrected/reviewed images; yields events, ends with Finished.

    ``config`` is a :class:`~request.RunRequest` (what the window and the CLI send:
    :func:`request.resolve` makes the settings), or complete settings, or None: the
    device's defaults with the recipe the project's fingerprint chooses.  With
    ``resume`` the checkpoint's settings, weights, optimizer, schedule and RNG
    states are restored and training continues to ``config.epochs`` (if given;
    else the checkpoint's own), so N epochs + resume M equals N+M epochs.  A
    checkpoint without training state (a shipped model, an exported one) starts
    a new run from its weights instead: its architecture, width and
    normalisation, ``config``'s other settings, a fresh optimizer, epoch 0.
    ``out`` names the best checkpoint file (the last one is written beside it as
    ``<stem>-last.pt``); by default both go to ``checkpoints/run-<id>/``.
    ``batch_hook(epoch, image_ids)`` is called for each training batch.

    ``start_from`` (a checkpoint: the active model, usually) warm-starts a new run
    from its weights only -- a round of corrections fine-tunes the model the
    project has instead of starting over (:func:`config.round_config` gives the
    short schedule).  The run is compared with that model on the same
    validation images, and its best checkpoint becomes the active model only
    when it is not worse (see :mod:`guard`).

    A recorded run writes its events to its journal and obeys its control file
    (:mod:`journal`, :mod:`control`), so another process can follow and steer it."""
    cancel = cancel if cancel is not None else threading.Event()
    pause = pause if pause is not None else threading.Event()
    channel = RunChannel(project, cancel, pause)
    events = _run(project, config, device, cancel, pause, resume, out, record_run, batch_hook,
                  start_from)
    try:
        for ev in events:
            channel.see(ev)
            yield ev
    finally:
        events.close()
        channel.close()


def setup(ctx: RunContext, state: RunState) -> Generator[Event, None, Run]:
    """The model and its optimizer, the data, the checkpoint restored, the run recorded."""
    cfg, task = ctx.cfg, ctx.task
    if ctx.checkpoint is not None:
        check_compatible(ctx.checkpoint, ctx.classes, project_channels(ctx.project))
    inputs = task.model_inputs(ctx.project, ctx.checkpoint)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.arch, inputs.outputs, inputs.in_channels, cfg.width)
    model.dropout = cfg.dropout
    yield from initialise_weights(model, ctx)
    channels_last = to_device(model, ctx)
    opt = make_optimizer(cfg, model.parameters())
    amp_dtype, scaler = amp_settings(ctx.device, cfg.amp)
    data = yield from load_data(ctx, inputs)
    np_rng = augmentation_rng(ctx)
    balance = yield from restore(ctx, model, opt, scaler, np_rng, state)
    if balance is None:  # a new run: class weights and crops from the training masks
        balance = yield from task.class_balance(ctx, data)
    training = Training(model, opt, amp_dtype, scaler, channels_last, np_rng, balance)
    run = assemble(ctx, inputs, training, data, state)
    if ctx.resumes and ctx.checkpoint is not None and ctx.checkpoint.train_state:
        course.restore(run, ctx.checkpoint.train_state.get("course"))
    yield from begin(run)
    return run


def train(run: Run) -> Iterator[Event]:
    """The epochs: train, validate, save the checkpoint, record the epoch."""
    ctx, state = run.ctx, run.state
    epoch_seconds: list[float] = []
    epoch = state.start_epoch
    if run.length.counted and run.length.fixed and ctx.main:
        yield Message("info", run.length.note(len(run.data.snap.train), state.batch_size))
    while not run.length.finished(epoch, state.global_step):
        plan = yield from plan_epoch(run, epoch)  # a fresh snapshot of the project
        tally = yield from train_one_epoch(run, plan)
        val = yield from validate_epoch(run)
        state.epochs_done = plan.number
        verdict = run.guard.epoch(plan.number, val.metrics)
        if verdict.warning:
            yield from run.warnings.once(verdict.warning)
        is_best = save_epoch_checkpoint(run, plan.number, val.metrics, tally.loss) \
            if ctx.main else False
        if ctx.dist is not None:
            ctx.dist.barrier()  # the others wait for rank 0's validation and checkpoint
        epoch_seconds.append(ctx.clock() - plan.started - tally.paused_s)
        yield record_epoch(run, plan, tally, val, is_best, verdict, epoch_seconds)
        epoch += 1
        if tally.loss is not None:
            state.train_losses.append(tally.loss)
        progress = run.length.progress(epoch, 0, 1, state.global_step)
        yield from course.act(run, progress, verdict.beats, state.train_losses)


def as_request(config: TrainConfig | RunRequest | None, resume: str | Path | None,
               start_from: str | Path | None) -> RunRequest:
    """What :func:`fit` was given, as a :class:`RunRequest`: complete settings start from
    scratch, resume a run (whose own settings then apply: ``config`` may only change its
    epochs, workers and cache) or start from a checkpoint's weights as they are."""
    if isinstance(config, RunRequest):
        if resume is not None or start_from is not None:
            raise SegStudioError("give the checkpoint in the run request, not beside it")
        return config
    if resume is not None and start_from is not None:
        raise SegStudioError("give either a checkpoint to resume or one to start from, not both")
    task = config.task if config is not None else "semantic"
    if resume is not None:
        keep = {"workers": config.workers, "cache_mb": config.cache_mb} if config else {}
        epochs = config.epochs if config is not None and config.budget is None else None
        return RunRequest(task=task, start="resume", checkpoint=str(resume), config=config,
                          settings=keep, epochs=epochs)
    if start_from is not None:
        return RunRequest(task=task, start="checkpoint", checkpoint=str(start_from),
                          config=config, round=False)
    if config is None:
        return RunRequest()
    return RunRequest(task=task, start="scratch", config=config)


def _clock() -> float:
    """The run's clock (the tests move it)."""
    return time.perf_counter()


def _task(cfg: TrainConfig) -> Task:
    """The run's :class:`Task`: the segmentation model's, or the Click tool's model's
    (:data:`registry.TASKS`)."""
    import importlib

    module, name = TASKS[cfg.task]
    task: Task = getattr(importlib.import_module(module), name)()
    return task


def _run(project: Project, config: TrainConfig | RunRequest | None,
         device: str | torch.device,
         cancel: threading.Event, pause: threading.Event, resume: str | Path | None,
         out: str | Path | None, record_run: bool, batch_hook: BatchHook | None,
         start_from: str | Path | None) -> Generator[Event, None, None]:
    """The run, ended by its Finished event whatever happens."""
    t0 = _clock()
    ctx: RunContext | None = None
    state: RunState | None = None
    run: Run | None = None

    def finished(status: str, message: str) -> Finished:
        seconds = _clock() - t0
        if ctx is None or state is None:
            return Finished(status=status, run_id=None, epochs_done=0, last_checkpoint=None,
                            best_checkpoint=None, best_miou=None, message=message,
                            seconds=seconds)
        return finish_run(ctx, state, run.guard if run else None, status, message, seconds)

    try:
        dev = device_for(resolve_device(device))
        dist = dist_from_env(dev)
        if dist is not None and not dist.is_main:
            record_run = False  # rank 0 alone writes the project store
        resolved = resolve(project, as_request(config, resume, start_from), dev)
        if dist is None or dist.is_main:
            for note in resolved.notes:
                yield Message("info", note)
        cfg, ck = resolved.config, resolved.checkpoint
        ctx = RunContext(
            project=project, classes=project.classes, cfg=cfg, task=_task(cfg), device=dev,
            dist=dist, checkpoint=ck, warm_start=resolved.warm_start,
            out=Path(out) if out is not None else None, record_run=record_run,
            batch_hook=batch_hook, gate=RunGate(cancel, pause, dist, clock=_clock),
            clock=_clock)
        state = RunState(batch_size=cfg.batch_size)
        run = yield from setup(ctx, state)
        yield from train(run)
        yield finished("completed", f"trained {state.epochs_done} epochs")
    except Stop as stop:
        yield finished(stop.status, stop.message)
    except SegStudioError as exc:
        yield finished("failed", str(exc))
    except (GeneratorExit, KeyboardInterrupt):
        if state is not None:
            finished("cancelled", "stopped by the caller")
        raise
    except Exception as exc:  # noqa: BLE001 - the GUI must never crash on a training error
        tb = traceback.format_exc(limit=6)
        first = str(exc).splitlines()[0] if str(exc) else ""
        yield Message("error", tb)
        yield finished("failed", f"training failed: {type(exc).__name__}: {first}")
