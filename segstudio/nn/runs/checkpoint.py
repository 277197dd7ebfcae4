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

Before a file is read, its zip directory is checked (:func:`check_records`): a
checkpoint's records are stored as ``torch.save`` writes them (never
compressed: a small file cannot inflate to gigabytes), and its tensors together
may not exceed what its model needs (the weights, an optimizer's state, the
random-number state: :data:`STATE_FACTOR` times the model's tensors, plus
:data:`SLACK_BYTES`) -- the tensors' sizes are taken from the file's pickle
alone, loaded onto the ``meta`` device, before any record is read.
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
from ...core.bounded import UnsafeFileError, open_regular
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
PICKLE_LIMIT = 64 << 20  # a checkpoint's data.pkl: its structure, history and class table
STATE_FACTOR = 4  # weights + an optimizer's state (Adam: 2 per weight) + a spare copy
SLACK_BYTES = 64 << 20  # RNG states, grad scaler, history ...
MAX_IN_CHANNELS = 64
WIDTHS = (0.0, 4.0)  # a model's channel multiplier lies in (0, 4]


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


class _Recording:
    """A file that keeps the OSError of a failed write: torch.save turns it into a
    RuntimeError ("[enforce fail at inline_container.cc] ...") that names neither the
    file nor the cause."""

    def __init__(self, fh: IO[bytes]):
        self.fh = fh
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        try:
            return self.fh.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        self.fh.flush()


def _normalization(mean: Sequence[float], std: Sequence[float], mode: str) -> Normalization:
    norm: Normalization = {"mean": [float(v) for v in mean], "std": [float(v) for v in std]}
    if mode == "image":
        norm["per_image"] = "percentile"
    return norm


def save_checkpoint(path: str | os.PathLike[str], data: CheckpointData) -> Path:
    """Write a checkpoint dict atomically (temp file, fsync, rename); a full disk is an
    OSError ENOSPC naming the file (the previous checkpoint is intact)."""
    path = Path(path)

    def write(fh: IO[bytes]) -> None:
        rec = _Recording(fh)
        try:
            torch.save(data, rec)  # type: ignore[arg-type]  # a file-like object is enough
        except RuntimeError:
            if rec.error is not None:
                raise rec.error from None
            raise

    atomic_write(path, write)
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
    records = check_records(path)
    try:
        shape = torch.load(path, map_location="meta", weights_only=True)  # no record is read
        check_sizes(parse_checkpoint(shape, path), records, path)
        raw = torch.load(path, map_location=map_location, weights_only=True)
    except CheckpointError:
        raise
    except pickle.UnpicklingError as exc:
        text = str(exc)
        if "weights_only" in text.lower().replace(" ", "_") or "Weights only" in text:
            raise CheckpointError(
                f"{path}: refused to load: the file holds Python objects that would run code "
                "when unpickled (it is not a segstudio checkpoint, or was tampered with); "
                "nothing in it was executed") from exc
        raise CheckpointError(f"{path}: not a segstudio checkpoint (unreadable pickle)") from exc
    except (RuntimeError, zipfile.BadZipFile, EOFError, ValueError, OSError,
            AttributeError, ImportError, IndexError, KeyError, TypeError,
            RecursionError, MemoryError) as exc:
        raise CheckpointError(f"{path}: not a segstudio checkpoint "
                              f"(not a PyTorch file: {first_line(exc)})") from exc
    return parse_checkpoint(raw, path)


def check_records(path: Path) -> int:
    """The bytes of a checkpoint's records, from its zip directory alone; CheckpointError
    for a file that is not a zip torch.save wrote: not a zip at all, a compressed record
    (a small file that would inflate to gigabytes), sizes beyond the file's own."""
    try:
        fd = open_regular(path, follow=True, what="checkpoint (.pt) file")
    except UnsafeFileError as exc:
        raise CheckpointError(str(exc)) from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        try:
            with zipfile.ZipFile(fh) as zf:
                infos = zf.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise CheckpointError(
                f"{path}: not a segstudio checkpoint (not a PyTorch zip file: "
                f"{first_line(exc)}); nothing in it was read") from None
    total = 0
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED:
            raise CheckpointError(
                f"{path}: its record {info.filename} is compressed, which torch.save never "
                f"does ({info.compress_size:,} bytes inflating to {info.file_size:,}); "
                "refused before reading it")
        if info.filename.endswith("/data.pkl") and info.file_size > PICKLE_LIMIT:
            raise CheckpointError(f"{path}: its pickle is {info.file_size >> 20} MiB, more than "
                                  "a checkpoint's ever is; refused before reading it")
        total += info.file_size
    if total > size:
        raise CheckpointError(f"{path}: its records claim {total:,} bytes in a file of "
                              f"{size:,}; a damaged or forged checkpoint, refused")
    return total


def check_sizes(shape: Checkpoint, records: int, path: Path) -> None:
    """Refuse a checkpoint whose records hold more than its model needs, before they
    are read (``shape``: the checkpoint loaded onto the meta device)."""
    try:
        with torch.device("meta"):
            model = model_from_config(shape.model_config)
    except ModelConfigError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    need = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    limit = STATE_FACTOR * need + SLACK_BYTES
    if records > limit:
        c = shape.model_config
        raise CheckpointError(
            f"{path}: its records hold {records / (1 << 20):,.0f} MiB but a {c['arch']} width "
            f"{c['width']:g} model and its training state need at most "
            f"{limit / (1 << 20):,.0f} MiB; refused before reading them")


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
    version = raw.get("version", 0)
    if not _is_int(version):
        raise CheckpointError(f"{where}: damaged segstudio checkpoint (version {version!r} is "
                              "not a number)")
    if version > VERSION:
        raise CheckpointError(f"{where}: written by a newer segstudio (checkpoint version "
                              f"{raw.get('version')}); update segstudio")
    try:
        # checked below as far as loading needs (channels, outputs); model_from_config
        # checks the rest when the model is built
        cfg = cast(ModelConfig, dict(raw["model_config"]))
        _check_config(cfg)
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
    run_id, epoch = raw.get("run_id"), raw.get("epoch")
    for name, value in (("run_id", run_id), ("epoch", epoch)):
        if value is not None and not _is_int(value):
            raise CheckpointError(f"{where}: damaged checkpoint ({name} {value!r} is not a "
                                  "number)")
    return Checkpoint(path, cfg, classes, mean, std, state, raw.get("train_state"),
                      run_id, epoch, _metrics(raw.get("metrics"), where), task, click,
                      "image" if per_image else "project")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_config(cfg: Mapping[str, Any]) -> None:
    """The model configuration's numbers as a file may hold them: ValueError (a damaged
    checkpoint) for one that is not a number or out of range."""
    for key, top in (("in_channels", MAX_IN_CHANNELS), ("num_classes", 255)):
        v = cfg.get(key)
        if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= top:
            raise ValueError(f"model_config {key} {v!r} is not a whole number 1..{top}")
    w = cfg.get("width")
    if not isinstance(w, (int, float)) or isinstance(w, bool) or not (
            WIDTHS[0] < w <= WIDTHS[1]):
        raise ValueError(f"model_config width {w!r} is not a number in (0, 4]")
    if not isinstance(cfg.get("arch"), str):
        raise ValueError(f"model_config arch {cfg.get('arch')!r} is not a name")


def _metrics(raw: object, where: object) -> dict[str, Any] | None:
    """The stored validation metrics with their numbers checked: they are printed and
    compared, so a file whose mIoU is "x" is refused as damaged."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise CheckpointError(f"{where}: damaged checkpoint (metrics is not a dict)")
    for key in SMALL_METRICS:
        v = raw.get(key)
        if key == "per_class_iou" or v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise CheckpointError(f"{where}: damaged checkpoint (metrics.{key} {v!r} is not a "
                                  "number)")
    return raw


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
