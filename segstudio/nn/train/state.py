"""The records one training run shares between the engine's functions
(:mod:`engine`, :mod:`run_setup`, :mod:`train_epoch`, :mod:`run_store`), and the
:class:`Task` that a segmentation run (:mod:`semantic_run`) and a click-model run
(:mod:`click_run`) each do their own way.  Free of Qt."""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from ...core.classes import ClassTable
from ...core.project import Project
from ..config import TrainConfig
from ..runs.checkpoint import Checkpoint
from ..runs.control import RunGate
from ..runs.events import Event, Message
from . import data as D
from .distributed import Distributed
from .guard import Guard
from .length import RunLength
from .losses import MedianFrequency

Clock = Callable[[], float]
BatchHook = Callable[[int, tuple[int, ...]], None]
Metrics = dict[str, Any]  # what validation returns (nn.metrics, or a click model's scores)
Validated = Generator[Event, None, tuple[float | None, Metrics | None]]  # (val loss, metrics)


class Stop(Exception):
    """Ends a run early with a status ("cancelled", "failed") and a one-line message."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class RunContext:
    """What a run was asked to do, fixed while it runs."""

    project: Project
    classes: ClassTable
    cfg: TrainConfig
    task: Task
    device: torch.device
    dist: Distributed | None  # torchrun: this process's rank (rank 0 alone writes the project)
    checkpoint: Checkpoint | None  # the checkpoint it resumes or starts from
    warm_start: bool  # the checkpoint holds the weights of the model a round starts from
    out: Path | None
    record_run: bool
    batch_hook: BatchHook | None
    gate: RunGate  # stop / pause between batches
    clock: Clock  # the engine's clock: every duration of the run is measured on it

    @property
    def main(self) -> bool:
        return self.dist is None or self.dist.is_main

    @property
    def cancel(self) -> threading.Event:
        return self.gate.cancel

    @property
    def resumes(self) -> bool:
        """A checkpoint with training state: the run goes on where it stopped."""
        return self.checkpoint is not None and self.checkpoint.train_state is not None

    @property
    def resumed_from(self) -> str | None:
        if self.checkpoint is None or self.warm_start:
            return None
        return str(self.checkpoint.path)


@dataclass
class RunState:
    """What a run has done so far: the counters its checkpoints keep (restored on resume)
    and its record and files, as its :class:`~events.Finished` event reports them."""

    batch_size: int  # smaller than the configured one after an out-of-memory halving
    start_epoch: int = 0  # epochs done before this process started (resume)
    epochs_done: int = 0
    global_step: int = 0
    best_miou: float | None = None
    best_epoch: int = 0
    total_steps: int | None = None  # with a budget (restored on resume)
    eval_every: int | None = None
    lr_scale: float = 1.0  # the guard's change of course (nn.course) scales the rate
    course: dict[str, Any] | None = None  # that change, as the checkpoints keep it
    train_losses: list[float] = field(default_factory=list)  # each epoch's, this process
    run_id: int | None = None
    last_path: Path | None = None
    best_path: Path | None = None
    have_last: bool = False  # the files are written (they are named before that)
    have_best: bool = False


@dataclass(frozen=True)
class ModelInputs:
    """What the model takes and gives: its outputs, input channels and normalisation,
    and the channels of the images (a click model adds its click maps)."""

    image_channels: int
    in_channels: int
    outputs: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    fill: tuple[int, ...]  # the uint8 colour that pads the images


@dataclass(frozen=True)
class ClassBalance:
    """Per-class loss weights and rare-class crop sampling (None: none)."""

    weights: torch.Tensor | None = None
    focus: D.CropFocus | None = None


class Warnings:
    """Each warning text of a run once."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def once(self, text: str) -> Iterator[Event]:
        if text not in self.seen:
            self.seen.add(text)
            yield Message("warning", text)

    def through(self, gen: Iterator[Any]) -> Generator[Event, None, Any]:
        """Run ``gen`` (a generator that yields warning texts), yielding each warning once;
        returns its value."""
        while True:
            try:
                text = next(gen)
            except StopIteration as done:
                return done.value
            yield from self.once(text)


@dataclass
class RunData:
    """The images a run trains on: the project's snapshot (renewed every epoch), their
    loader and cache, and the training masks' pixels per class."""

    cache: D.ImageCache
    loader: D.SampleLoader
    snap: D.Snapshot
    counts: MedianFrequency
    warnings: Warnings = field(default_factory=Warnings)


@dataclass
class Training:
    """The model and what trains it."""

    model: torch.nn.Module
    opt: torch.optim.Optimizer
    amp_dtype: torch.dtype | None
    scaler: torch.amp.GradScaler | None
    channels_last: bool
    np_rng: np.random.Generator  # this process's augmentation stream
    balance: ClassBalance  # its weights on the device


class BatchStep(Protocol):
    """One optimizer step on a uint8 batch (:class:`step.TrainStep`, or the click model's
    :class:`click_model.ClickTrainStep`); validation takes its model and normalisation."""

    model: torch.nn.Module
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __call__(self, images: np.ndarray, targets: np.ndarray, lr: float | None = None
                 ) -> tuple[float, float | None]: ...

    def autocast(self) -> AbstractContextManager[Any]: ...


@dataclass
class Run:
    """A run once it is set up: everything its epochs use."""

    ctx: RunContext
    inputs: ModelInputs
    training: Training
    data: RunData
    state: RunState
    guard: Guard
    step: BatchStep  # trains (through the DDP wrapper under torchrun)
    val_step: BatchStep  # validates and recalibrates BatchNorm: the model itself
    length: RunLength  # epochs, or a budget of steps or time

    @property
    def cfg(self) -> TrainConfig:
        return self.ctx.cfg

    @property
    def warnings(self) -> Warnings:
        return self.data.warnings


class Task(Protocol):
    """What a segmentation run and a click-model run each do their own way."""

    active_setting: str  # the project setting of the model a run replaces

    def model_inputs(self, project: Project, ckpt: Checkpoint | None) -> ModelInputs: ...

    def class_balance(self, ctx: RunContext, data: RunData
                      ) -> Generator[Event, None, ClassBalance]:
        """A new run's class balance, from the training masks."""
        ...

    def make_step(self, ctx: RunContext, inputs: ModelInputs, training: Training,
                  net: torch.nn.Module, scaler: torch.amp.GradScaler | None) -> BatchStep: ...

    def epoch_batches(self, run: Run, items: Sequence[D.Item]) -> Iterator[D.Batch]: ...

    def validate(self, run: Run, step: BatchStep) -> Validated: ...

    def previous_model(self, run: Run) -> Iterator[Event]:
        """Score the model the run has to beat (``run.guard.previous``)."""
        ...

    def before_start(self, run: Run) -> Iterator[Event]:
        """Last words before :class:`~events.RunStarted`."""
        ...

    def checkpoint_extra(self, cfg: TrainConfig) -> dict[str, Any]:
        """What else a checkpoint records (its task)."""
        ...

    def decide(self, guard: Guard, best_miou: float | None, has_active: bool
               ) -> tuple[bool, str | None]:
        """(make the best checkpoint the active model?, what to tell the user)."""
        ...
