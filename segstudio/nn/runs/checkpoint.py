"""Checkpoint files: one ``torch.save`` dict, written atomically, read with
``torch.load(weights_only=True)`` so that a file can never run code.

Contents::

    format          "segstudio-checkpoint"
    version         1
    model_state     the model's state dict (CPU tensors)
    model_config    {"arch", "width", "in_channels", "num_classes"}
    classes         the class table as its JSON dict
    normalization   {"mean": [...], "std": [...]}  (of pixel / 255, per channel), and
                    "per_image": "percentile" when each image is first stretched between
                    its own percentiles (:mod:`normalize`; absent: not)
    train_state     None, or {"epoch", "global_step", "optimizer", "scheduler",
                    "grad_scaler", "rng", "config", "best_miou", "best_epoch",
                    "history"}
    run_id, epoch, metrics, created_at
    task            "semantic" (absent in older files) or "click": a click model
                    (:mod:`click_model`) with 1 output and the image's channels + 3
    click           for a click model: {"size": its square input side}
"""

from __future__ import annotations

import math
import os
import pickle
import shutil
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NotRequired, TypedDict, cast

import numpy as np
import torch

from ...core.atomic import atomic_write
from ...core.classes import ClassTable
from ...core.errors import ClassTableError, SegStudioError
from ..models.segnet import ModelConfig, ModelConfigError, _Net, model_from_config
from ..registry import TASKS as TASK_ENTRIES

if TYPE_CHECKING:
    from ...core.project import Project

FORMAT = "segstudio-checkpoint"
VERSION = 1
TASKS = tuple(TASK_ENTRIES)
CLICK_MAPS = 3  # a click model's extra inputs: positive, negative, previous mask
# the validation metrics a checkpoint keeps (a click model's: IoU after k clicks, NoC)
SMALL_METRICS = ("global_accuracy", "class_accuracy", "miou", "per_class_iou", "iou_1",
                 "iou_3", "noc85", "noc90", "objects", "max_clicks")


class CheckpointError(SegStudioError):
    """A checkpoint is missing, not a checkpoint, unsafe, or does not fit the project."""


class ClickInfo(TypedDict):
    """A click model's ``click`` entry."""

    size: int  # the side of its square input


class Normalization(TypedDict):
    mean: list[float]  # of pixel / 255, per input channel
    std: list[float]
    per_image: NotRequired[str]  # "percentile": normalize.stretch_image first


class CheckpointData(TypedDict):
    """What a checkpoint file holds (see the module doc); :func:`checkpoint_dict`."""

    format: str
    version: int
    model_state: dict[str, torch.Tensor]
    model_config: dict[str, Any]  # the model's config(): a ModelConfig
    classes: dict[str, Any]  # ClassTable.to_json_dict()
    normalization: Normalization
    train_state: dict[str, Any] | None
    run_id: int | None
    epoch: int | None
    metrics: dict[str, Any] | None
    created_at: float
    task: str
    click: ClickInfo | None


class RngState(TypedDict):
    torch: torch.Tensor
    numpy: Mapping[str, Any]  # the numpy bit generator's state
    cuda: NotRequired[torch.Tensor]  # on CUDA


@dataclass
class Checkpoint:
    path: Path | None
    model_config: ModelConfig
    classes: ClassTable
    mean: tuple[float, ...]
    std: tuple[float, ...]
    model_state: dict[str, torch.Tensor]
    train_state: dict[str, Any] | None
    run_id: int | None
    epoch: int | None
    metrics: dict[str, Any] | None
    task: str = "semantic"
    click: ClickInfo | None = None
    normalize: str = "project"  # "image": each image stretched first (nn.normalize)

    @property
    def num_classes(self) -> int:
        return int(self.model_config["num_classes"])

    @property
    def in_channels(self) -> int:
        return int(self.model_config["in_channels"])

    @property
    def image_channels(self) -> int:
        """Channels of the images it takes (a click model takes 3 maps more)."""
        return self.in_channels - (CLICK_MAPS if self.task == "click" else 0)

    @property
    def click_size(self) -> int:
        return int(self.click.get("size", 160)) if self.click else 160

    def build_model(self) -> _Net:
        """The model with these weights (CPU, eval mode)."""
        where = self.path or "checkpoint"
        try:
            model = model_from_config(self.model_config)
        except ModelConfigError as exc:
            raise CheckpointError(f"{where}: {exc}") from exc
        try:
            model.load_state_dict(self.model_state, strict=True)
        except (RuntimeError, KeyError, TypeError) as exc:
            first = str(exc).strip().splitlines()[0]
            raise CheckpointError(f"{where}: the weights do not fit the model it names ({first})"
                                  ) from exc
        return model.eval()


def checkpoint_dict(model: _Net, classes: ClassTable, mean: Sequence[float],
                    std: Sequence[float], train_state: dict[str, Any] | None = None,
                    run_id: int | None = None, epoch: int | None = None,
                    metrics: dict[str, Any] | None = None, task: str = "semantic",
                    click: ClickInfo | None = None, normalize: str = "project"
                    ) -> CheckpointData:
    cfg = model.config()
    if task == "click":
        if cfg["num_classes"] != 1:
            raise CheckpointError(f"a click model has 1 output, not {cfg['num_classes']}")
    elif cfg["num_classes"] != classes.num_trainable:
        raise CheckpointError(f"the model has {cfg['num_classes']} outputs but the class table "
                              f"trains {classes.num_trainable} classes")
    return {
        "format": FORMAT,
        "version": VERSION,
        "model_state": {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()},
        "model_config": cfg,
        "classes": classes.to_json_dict(),
        "normalization": _normalization(mean, std, normalize),
        "train_state": train_state,
        "run_id": run_id,
        "epoch": epoch,
        "metrics": metrics,
        "created_at": time.time(),
        "task": task,
        "click": click,
    }


def _normalization(mean: Sequence[float], std: Sequence[float], mode: str) -> Normalization:
    norm: Normalization = {"mean": [float(v) for v in mean], "std": [float(v) for v in std]}
    if mode == "image":
        norm["per_image"] = "percentile"
    return norm


def save_checkpoint(path: str | os.PathLike[str], data: CheckpointData) -> Path:
    """Write a checkpoint dict atomically (temp file, fsync, rename)."""
    path = Path(path)
    atomic_write(path, lambda fh: torch.save(data, fh))
    return path


def load_checkpoint(path: str | os.PathLike[str], map_location: str | torch.device = "cpu"
                    ) -> Checkpoint:
    """Read and check a checkpoint; any problem is a :class:`CheckpointError`."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: checkpoint not found")
    if not path.is_file():
        raise CheckpointError(f"{path}: not a file; give a checkpoint (.pt) file")
    try:
        empty = path.stat().st_size == 0
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read ({exc.strerror})") from exc
    if empty:
        raise CheckpointError(f"{path}: the checkpoint file is empty (0 bytes; an interrupted "
                              "copy or a full disk?); use another checkpoint")
    try:
        raw = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        if "weights_only" in text.lower().replace(" ", "_") or "Weights only" in text:
            raise CheckpointError(
                f"{path}: refused to load: the file holds Python objects that would run code "
                "when unpickled (it is not a segstudio checkpoint, or was tampered with); "
                "nothing in it was executed") from exc
        raise CheckpointError(f"{path}: not a segstudio checkpoint (unreadable pickle)") from exc
    except (RuntimeError, zipfile.BadZipFile, EOFError, ValueError, OSError,
            AttributeError, ImportError, IndexError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: not a segstudio checkpoint "
                              f"(not a PyTorch file: {first_line(exc)})") from exc
    return parse_checkpoint(raw, path)


def first_line(exc: BaseException, limit: int = 120) -> str:
    """The first non-empty line of an exception's message (its type when it has none)."""
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()[:limit]
    return type(exc).__name__


def parse_checkpoint(raw: Any, path: Path | None = None) -> Checkpoint:
    where = path or "checkpoint"
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise CheckpointError(f"{where}: a PyTorch file but not a segstudio checkpoint "
                              "(train one with 'segstudio train')")
    if int(raw.get("version", 0)) > VERSION:
        raise CheckpointError(f"{where}: written by a newer segstudio (checkpoint version "
                              f"{raw.get('version')}); update segstudio")
    try:
        # checked below as far as loading needs (channels, outputs); model_from_config
        # checks the rest when the model is built
        cfg = cast(ModelConfig, dict(raw["model_config"]))
        classes = ClassTable.from_json_dict(raw["classes"], f"{where} (class table)")
        norm = raw["normalization"]
        mean = tuple(float(v) for v in norm["mean"])
        std = tuple(float(v) for v in norm["std"])
        per_image = norm.get("per_image")
        if per_image not in (None, "percentile"):
            raise ValueError(f"unknown per-image normalisation {per_image!r}")
        state = raw["model_state"]
        if not isinstance(state, dict):
            raise TypeError("model_state is not a dict")
    except ClassTableError as exc:
        raise CheckpointError(str(exc)) from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{where}: damaged segstudio checkpoint ({exc})") from exc
    if not all(math.isfinite(v) and v > 0 for v in std) or not all(
            math.isfinite(v) for v in mean):
        raise CheckpointError(f"{where}: damaged checkpoint (normalisation std {list(std)} must "
                              "be positive and mean finite)")
    if len(mean) != int(cfg.get("in_channels", -1)) or len(std) != len(mean):
        raise CheckpointError(f"{where}: damaged checkpoint (normalisation does not match the "
                              "input channels)")
    task = raw.get("task") or "semantic"
    if task not in TASKS:
        raise CheckpointError(f"{where}: a model for {task!r}, which this segstudio does not "
                              "know; update segstudio")
    want = 1 if task == "click" else classes.num_trainable
    if int(cfg.get("num_classes", -1)) != want:
        raise CheckpointError(f"{where}: damaged checkpoint ({cfg.get('num_classes')} outputs "
                              f"for {want} classes)")
    click = raw.get("click") if task == "click" else None
    if task == "click" and not (isinstance(click, dict) and int(click.get("size", 0)) >= 32):
        raise CheckpointError(f"{where}: damaged click model (no input size)")
    click = cast("ClickInfo | None", click)
    return Checkpoint(path, cfg, classes, mean, std, state, raw.get("train_state"),
                      raw.get("run_id"), raw.get("epoch"), raw.get("metrics"), task, click,
                      "image" if per_image else "project")


def check_compatible(ckpt: Checkpoint, classes: ClassTable, in_channels: int | None = None) -> None:
    """Refuse a checkpoint trained for another class table or channel count (a click
    model knows no classes: only its image channels must fit)."""
    where = ckpt.path or "checkpoint"
    theirs, ours = ckpt.classes.signature(), classes.signature()
    if theirs != ours and ckpt.task != "click":
        def fmt(sig: list[tuple[int, str]]) -> str:
            return ", ".join(f"{i}:{n}" for i, n in sig[:12]) + (" ..." if len(sig) > 12 else "")
        raise CheckpointError(
            f"{where}: trained for other classes ({fmt(theirs)}) than the project's "
            f"({fmt(ours)}); use a checkpoint trained on this class table or train a new one")
    if in_channels is not None and ckpt.image_channels != in_channels:
        kind = {1: "grayscale (1 channel)", 3: "RGB (3 channels)"}
        raise CheckpointError(
            f"{where}: trained on {kind.get(ckpt.image_channels, ckpt.image_channels)} images "
            f"but the "
            f"project's images are {kind.get(in_channels, in_channels)}; train a new model")


def checkpoint_summary(ckpt: Checkpoint) -> str:
    c = ckpt.model_config
    if ckpt.task == "click":
        s = f"click model: {c['arch']} width {c['width']:g}, {ckpt.image_channels} ch + clicks"
        if ckpt.epoch is not None:
            s += f", epoch {ckpt.epoch}"
        if ckpt.metrics and ckpt.metrics.get("iou_3") is not None:
            s += f", val IoU after 3 clicks {ckpt.metrics['iou_3'] * 100:.1f} %"
        return s
    s = f"{c['arch']} width {c['width']:g}, {c['in_channels']} ch, {c['num_classes']} classes"
    if ckpt.epoch is not None:
        s += f", epoch {ckpt.epoch}"
    if ckpt.metrics and ckpt.metrics.get("miou") is not None:
        s += f", val mIoU {ckpt.metrics['miou'] * 100:.1f} %"
    return s


# -- run files ----------------------------------------------------------------------

def checkpoint_paths(project: Project, run_id: int | None, out: str | Path | None
                     ) -> tuple[Path, Path]:
    """(last, best).  ``out`` names the best checkpoint; the last one sits beside it."""
    if out is not None:
        out = Path(out)
        return out.with_name(out.stem + "-last" + (out.suffix or ".pt")), out
    folder = project.checkpoints_dir / (f"run-{run_id}" if run_id is not None
                                        else time.strftime("run-%Y%m%d-%H%M%S"))
    return folder / "last.pt", folder / "best.pt"


def rng_state(np_rng: np.random.Generator, device: torch.device) -> RngState:
    state: RngState = {"torch": torch.get_rng_state(), "numpy": np_rng.bit_generator.state}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: RngState, np_rng: np.random.Generator, device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    np_rng.bit_generator.state = state["numpy"]
    if device.type == "cuda" and state.get("cuda") is not None:
        torch.cuda.set_rng_state(state["cuda"], device)


def copy_into(src: Path, fh: IO[bytes]) -> None:
    with open(src, "rb") as s:
        shutil.copyfileobj(s, fh, 1 << 20)
