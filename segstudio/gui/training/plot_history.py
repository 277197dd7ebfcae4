"""A run's numbers as the plots draw them, kept in preallocated arrays (no Qt).

:class:`RunHistory` takes the engine's events (:meth:`add`) and fills
:class:`Series` (x, y arrays that double their capacity when full, so a
plot's ``setData`` gets views without copies).  Steps are placed at their
fractional epoch (``epoch - 1 + step / steps``), epoch values at the epoch
number, so step and epoch curves share one axis.  :attr:`dirty` names the
plots with new data since the last :meth:`take_dirty`.
"""

from __future__ import annotations

import numpy as np

from ...core.run_types import EpochMetrics, RunRecord
from ...nn.runs.events import EpochEnd, EpochStarted, GpuMemory, RunStarted, Step

SMOOTH = 0.9  # exponential smoothing of the step loss (bias-corrected)


class Series:
    """Growable float64 (x, y) arrays; ``x``/``y`` are views of the filled part."""

    def __init__(self, capacity: int = 256):
        self._x = np.empty(capacity)
        self._y = np.empty(capacity)
        self.n = 0

    def append(self, x: float, y: float | None) -> None:
        if self.n == len(self._x):
            self._x = np.concatenate([self._x, np.empty(len(self._x))])
            self._y = np.concatenate([self._y, np.empty(len(self._y))])
        self._x[self.n] = x
        self._y[self.n] = np.nan if y is None else y
        self.n += 1

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.n]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.n]

    def clear(self) -> None:
        self.n = 0

    def __len__(self) -> int:
        return self.n


STEP_SERIES = ("loss", "loss_smooth", "step_ips", "data_ms", "compute_ms")
EPOCH_SERIES = ("train_loss", "val_loss", "miou", "epoch_seconds", "epoch_ips")
GPU_SERIES = ("gpu_allocated", "gpu_reserved")


class RunHistory:
    def __init__(self) -> None:
        self.series: dict[str, Series] = {k: Series(1024 if k in STEP_SERIES else 64)
                                          for k in STEP_SERIES + EPOCH_SERIES + GPU_SERIES}
        self.class_iou: dict[str, Series] = {}
        self.inference_ms = Series(256)
        self.dirty: set[str] = set()
        self.reset()

    def reset(self) -> None:
        for s in self.series.values():
            s.clear()
        self.class_iou = {}
        self.run_id: int | None = None
        self.epochs = 0
        self.epoch = 0
        self.eta: float | None = None
        self.best_miou: float | None = None
        self.last_ips: float | None = None
        self.device = ""
        self._ema = 0.0
        self._ema_n = 0
        self.dirty |= {"loss", "iou", "epoch", "speed", "step_time", "gpu", "classes"}

    # -- events ------------------------------------------------------------------------
    def add(self, ev) -> None:
        match ev:
            case RunStarted():
                self._on_run_started(ev)
            case EpochStarted():
                self._on_epoch_started(ev)
            case Step():
                self._on_step(ev)
            case EpochEnd():
                self._on_epoch_end(ev)
            case GpuMemory():
                self._on_gpu_memory(ev)

    def _on_run_started(self, ev) -> None:
        if not ev.start_epoch:
            self.reset()
        self.run_id = ev.run_id
        self.epochs = ev.epochs
        self.device = ev.device

    def _on_epoch_started(self, ev) -> None:
        self.epoch = ev.epoch
        self.epochs = ev.epochs

    def _on_step(self, ev) -> None:
        s = self.series
        x = ev.epoch - 1 + ev.step / max(ev.steps_per_epoch, 1)
        s["loss"].append(x, ev.loss)
        self._ema = SMOOTH * self._ema + (1 - SMOOTH) * ev.loss
        self._ema_n += 1
        s["loss_smooth"].append(x, self._ema / (1 - SMOOTH ** self._ema_n))
        s["step_ips"].append(x, ev.images_per_sec)
        s["data_ms"].append(x, ev.data_seconds * 1000)
        s["compute_ms"].append(x, ev.compute_seconds * 1000)
        self.last_ips = ev.images_per_sec
        self.dirty |= {"loss", "speed", "step_time"}

    def _on_epoch_end(self, ev: EpochEnd) -> None:
        m = ev.metrics
        if m.per_class_iou and any(n not in self.class_iou for n in m.per_class_iou):
            self.dirty.add("classes")
        self._add_epoch(m)
        self.eta = ev.eta_seconds
        self.best_miou = ev.best_miou
        self.dirty |= {"loss", "iou", "epoch", "speed"}

    def _add_epoch(self, m: EpochMetrics) -> None:
        s, e = self.series, m.epoch
        s["train_loss"].append(e, m.train_loss)
        s["val_loss"].append(e, m.val_loss)
        s["miou"].append(e, m.miou)
        s["epoch_seconds"].append(e, m.seconds)
        s["epoch_ips"].append(e, m.images_per_sec)
        for name, iou in (m.per_class_iou or {}).items():
            self.class_iou.setdefault(name, Series(64)).append(e, iou)
        self.epoch = e

    def _on_gpu_memory(self, ev) -> None:
        self.series["gpu_allocated"].append(ev.x, ev.allocated_mb)
        self.series["gpu_reserved"].append(ev.x, ev.reserved_mb)
        self.dirty.add("gpu")

    def add_inference(self, ms: float) -> None:
        self.inference_ms.append(len(self.inference_ms) + 1, ms)
        self.dirty.add("inference")

    def load_epochs(self, run: RunRecord, rows: list[EpochMetrics]) -> None:
        """Show a finished run from the project database (epoch values only)."""
        self.reset()
        self.run_id = run.id
        self.device = run.device or ""
        self.epochs = int((run.config or {}).get("epochs") or len(rows))
        for m in rows:
            self._add_epoch(m)
        self.best_miou = run.best_miou
        self.dirty |= {"classes"}

    def take_dirty(self) -> set[str]:
        out, self.dirty = self.dirty, set()
        return out
