"""What the training views run on workers, free of Qt (torch is imported lazily).

* :class:`PredictorCache` keeps the loaded predictors by checkpoint file (its
  path, size and modification time, so a checkpoint rewritten after an epoch
  is loaded again) and device.
* :func:`torch_threads` sets torch's intra-op threads of the calling thread
  for the length of a job: while training runs on the CPU, predictions use
  one thread so that training keeps the cores and the GUI thread still gets
  CPU (see benchmarks/bench_training_gui.py).
* :func:`write_metrics_csv` writes a run's per-epoch records atomically.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ...core.atomic import atomic_write_bytes
from ...core.errors import SegStudioError
from ...core.prediction_model import CheckpointRef, ModelRef
from ...core.project import Project
from ...core.run_types import epochs_csv

ACTIVE_SETTING = "active_checkpoint"
CONFIG_SETTING = "gui.train_config"
CLICK_CONFIG_SETTING = "gui.click_train_config"  # the click model's settings, kept apart
ACTIVE_CLICK_SETTING = "active_click_checkpoint"


def config_setting(task: str) -> str:
    """The project setting holding the last settings a run of ``task`` started with."""
    return CLICK_CONFIG_SETTING if task == "click" else CONFIG_SETTING


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` intra-op threads on this thread (None: unchanged)."""
    if not n:
        yield
        return
    import torch

    before = torch.get_num_threads()
    if before != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def cpu_threads() -> int:
    """Threads torch uses for a CPU job when nothing else runs (physical cores)."""
    from ...nn.device import configure_cpu_threads

    return configure_cpu_threads()


class PredictorCache:
    """Loaded predictors by (checkpoint file state, device); thread-safe, small."""

    def __init__(self, size: int = 2):
        self.size = size
        self._lock = threading.Lock()
        self._items: dict[tuple, object] = {}
        self._epochs: dict[tuple, int | None] = {}  # file state -> the epoch it holds
        self.loads = 0  # checkpoints loaded so far (tests, benchmarks)

    @staticmethod
    def key(path: str | os.PathLike, device: str) -> tuple:
        p = Path(path)
        try:
            st = p.stat()
        except OSError as exc:
            raise SegStudioError(f"{p}: checkpoint not found ({exc.strerror}); train a model or "
                                 "choose another checkpoint in the Runs panel") from exc
        return (str(p.resolve()), st.st_size, st.st_mtime_ns, device)

    def get(self, path: str | os.PathLike, device: str, project: Project):
        """The predictor for ``path`` on ``device`` that fits ``project``'s classes; its
        ``checkpoint_path`` is a CheckpointRef (the path and the epoch of its weights),
        which every prediction it makes records."""
        from ...nn.inference import Predictor
        from ...nn.plan.fingerprint import project_channels
        from ...nn.runs.checkpoint import load_checkpoint

        key = self.key(path, device)
        classes = project.classes
        with self._lock:
            hit = self._items.get(key)
        if hit is not None and hit.classes.signature() == classes.signature():
            return hit
        ckpt = load_checkpoint(path)
        predictor = Predictor.from_checkpoint(ckpt, device, classes=classes,
                                              in_channels=project_channels(project))
        predictor.checkpoint_path = CheckpointRef(str(path), ckpt.epoch)
        with self._lock:
            self.loads += 1
            self._items[key] = predictor
            self._epochs[key[:3]] = ckpt.epoch
            while len(self._items) > self.size:
                self._items.pop(next(iter(self._items)))
        return predictor

    def known_model(self, path: str | os.PathLike) -> ModelRef | None:
        """The model ``path`` holds now when its epoch was read before, else None (no
        file read here: the GUI thread asks)."""
        state = self.key(path, "")[:3]
        with self._lock:
            if state not in self._epochs:
                return None
            return ModelRef(str(path), self._epochs[state])

    def model(self, path: str | os.PathLike) -> ModelRef:
        """The model ``path`` holds now (its epoch read once per state of the file)."""
        from ...nn.runs.checkpoint import load_checkpoint

        state = self.key(path, "")[:3]
        with self._lock:
            known = state in self._epochs
            epoch = self._epochs.get(state)
        if not known:
            epoch = load_checkpoint(path).epoch
            with self._lock:
                self._epochs[state] = epoch
                while len(self._epochs) > 64:  # a run rewrites last.pt every epoch
                    self._epochs.pop(next(iter(self._epochs)))
        return ModelRef(str(path), epoch)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._epochs.clear()


def active_checkpoint(project: Project) -> str | None:
    """The project's active model (set by training, or chosen in the Runs panel)."""
    path = project.settings.get(ACTIVE_SETTING, None)
    return str(path) if path else None


def has_active_click_model(project: Project) -> bool:
    """Whether the project's click model file is there (a round can continue from it)."""
    path = project.get_setting(ACTIVE_CLICK_SETTING, None)
    return bool(path) and Path(str(path)).is_file()


def imagenet_available() -> bool:
    """Whether torchvision's VGG16-BN ImageNet file is on this machine (never downloads)."""
    from ...nn.models.segnet import imagenet_cache_path

    return imagenet_cache_path().is_file()


def checkpoint_epoch(path: str | os.PathLike) -> int:
    """Epochs a run continued from this checkpoint starts after (0 when it holds no
    training state: its weights then start a new run)."""
    from ...nn.runs.checkpoint import load_checkpoint

    ckpt = load_checkpoint(path)
    if ckpt.train_state is None:
        return 0
    return int(ckpt.train_state.get("epoch", ckpt.epoch or 0))


def metrics_csv(project: Project, run_id: int) -> str:
    """A run's per-epoch metrics as CSV text (one column per class IoU at the end)."""
    return epochs_csv(project.runs.epochs(run_id))


def write_metrics_csv(project: Project, run_id: int, path: str | os.PathLike) -> Path:
    path = Path(path)
    atomic_write_bytes(path, metrics_csv(project, run_id).encode("utf-8"))
    return path


def saved_config(project: Project | None, task: str = "semantic"):
    """(device, TrainConfig) the project's last run of ``task`` started with: ("", None)
    when there is none, a None config when it no longer reads as valid settings."""
    from ...nn.config import TrainConfig

    saved = project.get_setting(config_setting(task), None) if project is not None else None
    if not isinstance(saved, dict):
        return "", None
    device = str(saved.get("device") or "")
    try:
        return device, TrainConfig.from_dict(saved.get("config") or {}).validate()
    except (SegStudioError, TypeError, ValueError, AttributeError):
        return device, None


def freeze_heap() -> None:
    """Exempt the objects alive now (torch, Qt, pyqtgraph: some 350,000) from the
    garbage collector: a full collection over them holds the GIL for ~120 ms, which
    stalled the window while training ran.  New objects are still collected."""
    import gc

    gc.freeze()
