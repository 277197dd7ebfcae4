"""The small records that :func:`segstudio.nn.train.engine.fit` yields.

All are frozen dataclasses of plain Python values (safe to pass through a Qt
signal as ``object``).  Epoch numbers are 1-based.  An epoch's numbers are a
:class:`segstudio.core.run_types.EpochMetrics`, the record the project stores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...core.run_types import EpochMetrics


@dataclass(frozen=True)
class RunStarted:
    run_id: int | None  # row in the project's runs table (None with record_run=False)
    device: str  # "cuda:0", "cpu", ...
    device_name: str  # e.g. "cpu (2 threads)"
    config: dict[str, Any]  # TrainConfig.to_dict()
    model: dict[str, Any]  # {"arch", "width", "in_channels", "num_classes"}
    parameters: int
    train_images: int
    val_images: int
    start_epoch: int  # epochs already done (resume), 0 for a new run
    epochs: int  # total epochs of the run
    checkpoint_dir: str
    resumed_from: str | None = None


@dataclass(frozen=True)
class EpochStarted:
    epoch: int
    epochs: int
    steps: int  # batches planned this epoch
    train_ids: tuple[int, ...]  # image ids trained on this epoch (a fresh project snapshot)
    val_ids: tuple[int, ...]


@dataclass(frozen=True)
class Step:
    epoch: int
    step: int  # 1-based within the epoch
    steps_per_epoch: int
    loss: float
    accuracy: float | None  # pixel accuracy of this batch (labelled pixels)
    lr: float
    batch_size: int  # images in this batch
    data_seconds: float
    compute_seconds: float
    images_per_sec: float
    global_step: int


@dataclass(frozen=True)
class EpochEnd:
    epochs: int
    metrics: EpochMetrics  # the epoch's numbers, as the project's epochs table keeps them
    last_checkpoint: str
    best_checkpoint: str | None
    is_best: bool
    best_miou: float | None
    eta_seconds: float
    # the guard: the trivial predictor (every pixel the training set's majority class) on
    # this epoch's validation images, and whether this epoch's model beats it
    trivial_miou: float | None = None
    trivial_accuracy: float | None = None
    beats_trivial: bool | None = None

    @property
    def epoch(self) -> int:
        return self.metrics.epoch


@dataclass(frozen=True)
class Message:
    level: str  # "info" | "warning" | "error"
    text: str


@dataclass(frozen=True)
class Finished:
    status: str  # "completed" | "cancelled" | "failed"
    run_id: int | None
    epochs_done: int
    last_checkpoint: str | None
    best_checkpoint: str | None
    best_miou: float | None
    message: str = ""
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GpuMemory:
    """CUDA memory after a training step (MiB); the window sends one after each step's event."""

    global_step: int
    x: float  # fractional epoch of the step
    allocated_mb: float
    reserved_mb: float
    peak_mb: float


Event = RunStarted | EpochStarted | Step | EpochEnd | Message | Finished
