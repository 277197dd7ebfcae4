"""The neural-network layer: SegNet models, training engine, evaluation, inference.

Qt-free.  The GUI drives :func:`fit` (a generator of events, see
:mod:`segstudio.nn.events`) from a worker thread and uses :class:`Predictor`
for masks; the CLI commands train/predict/eval/export-model use the same code.
"""

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

__all__ = [
    "Checkpoint", "CheckpointError", "check_compatible", "checkpoint_summary", "load_checkpoint",
    "TrainConfig", "default_train_config", "project_channels", "DeviceChoice", "DeviceError",
    "available_devices",
    "resolve_device", "fit", "evaluate_project", "predict_project", "EpochEnd", "EpochStarted",
    "Event", "Finished", "Message", "RunStarted", "Step", "PredictionResult", "Predictor",
    "SegNet", "SegNetBasic", "build_model", "count_parameters",
]
