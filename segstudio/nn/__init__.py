"""The neural-network layer: SegNet models, training engine, evaluation, inference.

Qt-free.  The GUI drives :func:`fit` (a generator of events, see
:mod:`segstudio.nn.events`) from a worker thread and uses :class:`Predictor`
for masks; the CLI commands train/predict/eval/export-model use the same code.
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names as mypy sees them; at run time they come from __getattr__
    from .checkpoint import (
        Checkpoint,
        CheckpointError,
        check_compatible,
        checkpoint_summary,
        load_checkpoint,
    )
    from .config import TrainConfig, default_train_config
    from .data import project_channels
    from .device import DeviceChoice, DeviceError, available_devices, resolve_device
    from .engine import fit
    from .evaluate import evaluate_project, predict_project
    from .events import EpochEnd, EpochStarted, Event, Finished, Message, RunStarted, Step
    from .inference import PredictionResult, Predictor
    from .segnet import SegNet, SegNetBasic, build_model, count_parameters

# Imported on first use (PEP 562): ``segstudio.nn.config`` and friends stay light, so the
# window can build its training defaults without importing torch on the GUI thread.
_WHERE = {
    "Checkpoint": "checkpoint", "CheckpointError": "checkpoint",
    "check_compatible": "checkpoint", "checkpoint_summary": "checkpoint",
    "load_checkpoint": "checkpoint", "TrainConfig": "config",
    "default_train_config": "config", "project_channels": "data",
    "DeviceChoice": "device", "DeviceError": "device", "available_devices": "device",
    "resolve_device": "device", "fit": "engine", "evaluate_project": "evaluate",
    "predict_project": "evaluate", "EpochEnd": "events", "EpochStarted": "events",
    "Event": "events", "Finished": "events", "Message": "events", "RunStarted": "events",
    "Step": "events", "PredictionResult": "inference", "Predictor": "inference",
    "SegNet": "segnet", "SegNetBasic": "segnet", "build_model": "segnet",
    "count_parameters": "segnet",
}


def __getattr__(name: str) -> object:
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Checkpoint", "CheckpointError", "check_compatible", "checkpoint_summary", "load_checkpoint",
    "TrainConfig", "default_train_config", "project_channels", "DeviceChoice", "DeviceError",
    "available_devices",
    "resolve_device", "fit", "evaluate_project", "predict_project", "EpochEnd", "EpochStarted",
    "Event", "Finished", "Message", "RunStarted", "Step", "PredictionResult", "Predictor",
    "SegNet", "SegNetBasic", "build_model", "count_parameters",
]
