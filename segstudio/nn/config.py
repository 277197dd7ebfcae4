"""Training settings and their per-device defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from ..core.errors import SegStudioError
from .names import ARCHS, LOSSES
from .registry import OPTIMIZERS as OPTIMIZER_ENTRIES


class ConfigError(SegStudioError):
    """A training setting is out of range."""


OPTIMIZERS = tuple(OPTIMIZER_ENTRIES)
TASKS = ("semantic", "click")
CLICK_LOSSES = ("ce", "ce+dice")  # for the click model: binary cross-entropy (+ Dice)
SCHEDULES = ("poly", "cosine", "constant")
CLASS_WEIGHTS = ("auto", "none", "median", "table")


@dataclass(frozen=True)
class TrainConfig:
    # semantic: the class model; click: the click model of the editor's Click tool
    # (interactive segmentation, nn/click_model.py), trained on the same masks
    task: str = "semantic"
    arch: str = "segnet"
    width: float = 1.0
    epochs: int = 40
    batch_size: int = 8
    crop: tuple[int, int] | None = (360, 480)  # (H, W) training crop; None: whole images
    lr: float = 0.05
    optimizer: str = "sgd"  # sgd (momentum, as in the paper) | adamw
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "poly"  # poly (power 0.9) | cosine | constant, per step
    val_split: float = 0.3
    split_seed: int = 0
    # auto: weights only for rare classes (median-frequency weight > 3: the square root of
    # it, at most 5), 1 for the rest; median: the median-frequency weights as they are
    # (SegNet); table: the class table's; none
    class_weights: str = "auto"
    loss: str = "ce"  # ce | ce+dice | ce+lovasz | focal
    rare_crops: float = 0.5  # share of crops centred on a pixel of a rare class (if any)
    warmup_steps: int = 0  # linear learning-rate warm-up over the first optimizer steps
    precise_bn: int = 8  # before validating, BatchNorm statistics from this many of the
    #                      epoch's batches under the current weights (0: the running ones)
    dropout: float = 0.0  # dropout after the central encoder/decoder blocks (Bayesian SegNet)
    imagenet: str | None = "auto"  # "auto": torchvision's cache if present; a path; None: He init
    seed: int = 0
    workers: int = 0  # DataLoader worker processes; 0 loads in this process
    scale: tuple[float, float] = (0.75, 1.25)  # random rescale range before cropping
    flip: bool = True
    amp: bool = True  # mixed precision on CUDA (bf16 where supported, else fp16 + GradScaler)
    channels_last: bool | None = None  # None: CUDA yes; CPU at width <= 0.25, batch >= 4
    cache_mb: int = 2048  # decoded-image cache budget
    val_max_pixels: int = 2_400_000  # validation images above this are tiled
    # the click model: simulated-click rounds before a step (0..this, RITM's iterative
    # training), validation objects and the most clicks simulated on each
    click_iters: int = 3
    val_objects: int = 40
    val_clicks: int = 5
    # a new click model starts from the features of a segmentation model trained on the
    # same kind of images: "auto" the project's active model when it fits (same arch,
    # width and channels), a checkpoint path, or None (He initialisation)
    features_from: str | None = "auto"

    def validate(self) -> TrainConfig:
        if self.task not in TASKS:
            raise ConfigError(f"--task {self.task!r}: choose {' or '.join(TASKS)}")
        if self.task == "click":
            if self.crop is None or self.crop[0] != self.crop[1] or self.crop[0] % 32:
                raise ConfigError("--crop for the click model is its square input, a multiple "
                                  "of 32 such as 160x160")
            if self.loss not in CLICK_LOSSES:
                raise ConfigError(f"--loss {self.loss!r}: the click model trains with "
                                  f"{' or '.join(CLICK_LOSSES)} (binary cross-entropy, + Dice)")
            if self.click_iters < 0 or self.val_objects < 1 or self.val_clicks < 1:
                raise ConfigError("click rounds must be >= 0, validation objects and clicks "
                                  ">= 1")
        if self.arch not in ARCHS:
            raise ConfigError(f"unknown model {self.arch!r}; choose {' or '.join(ARCHS)}")
        if not 0.0625 <= self.width <= 2.0:
            raise ConfigError(f"--width {self.width}: use 0.25, 0.5 or 1.0")
        if self.epochs < 1:
            raise ConfigError("--epochs must be at least 1")
        if self.batch_size < 1:
            raise ConfigError("--batch-size must be at least 1")
        if self.crop is not None and (min(self.crop) < 32):
            raise ConfigError(f"--crop {self.crop[0]}x{self.crop[1]}: both sides must be >= 32")
        if not self.lr > 0:
            raise ConfigError("--lr must be positive")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}; choose "
                              f"{' or '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"unknown schedule {self.schedule!r}; choose {', '.join(SCHEDULES)}")
        if not 0.0 <= self.val_split < 1.0:
            raise ConfigError(f"--val-split {self.val_split}: must be in [0, 1)")
        if self.class_weights not in CLASS_WEIGHTS:
            raise ConfigError(f"--class-weights {self.class_weights!r}: choose "
                              f"{', '.join(CLASS_WEIGHTS)}")
        if self.loss not in LOSSES:
            raise ConfigError(f"--loss {self.loss!r}: choose {', '.join(LOSSES)}")
        if not 0.0 <= self.rare_crops <= 1.0:
            raise ConfigError(f"rare-class crop share {self.rare_crops}: must be in [0, 1]")
        if self.precise_bn < 0:
            raise ConfigError("precise BatchNorm batches must be >= 0")
        if self.warmup_steps < 0:
            raise ConfigError("warm-up steps must be >= 0")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"--dropout {self.dropout}: must be in [0, 1)")
        if self.workers < 0:
            raise ConfigError("--workers must be >= 0")
        lo, hi = self.scale
        if not 0.1 <= lo <= hi <= 10:
            raise ConfigError(f"scale range {self.scale} is not 0.1 <= low <= high <= 10")
        return self

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["crop"] = list(self.crop) if self.crop else None
        d["scale"] = list(self.scale)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        kw: dict[str, Any] = {k: v for k, v in data.items() if k in known}
        if kw.get("crop") is not None:
            kw["crop"] = tuple(int(v) for v in kw["crop"])
        if kw.get("scale") is not None:
            kw["scale"] = tuple(float(v) for v in kw["scale"])
        return cls(**kw)

    def replace(self, **changes: Any) -> TrainConfig:  # as dataclasses.replace takes them
        return replace(self, **changes)


# per optimizer: the learning rate a switch to it starts from, and its weight decay
OPTIMIZER_DEFAULTS = {e.name: {"lr": e.lr, "weight_decay": e.weight_decay}
                      for e in OPTIMIZER_ENTRIES.values()}


def switch_optimizer(cfg: TrainConfig, optimizer: str, lr: float | None = None) -> TrainConfig:
    """``cfg`` with another optimizer: its weight decay, and ``lr`` or its default rate.
    Choosing the optimizer ``cfg`` already has changes nothing but ``lr``."""
    if optimizer == cfg.optimizer:
        return cfg if lr is None else cfg.replace(lr=lr)
    d = OPTIMIZER_DEFAULTS.get(optimizer)
    if d is None:
        raise ConfigError(f"unknown optimizer {optimizer!r}; choose "
                          f"{' or '.join(OPTIMIZERS)}")
    return cfg.replace(optimizer=optimizer, weight_decay=d["weight_decay"],
                       lr=d["lr"] if lr is None else lr)


def default_train_config(device: str = "cpu") -> TrainConfig:
    """Sensible settings per device type ('cpu', 'cuda', 'cuda:N', 'mps').

    CPU: SegNet at width 0.25 on 192x256 crops, batch 4, AdamW 3e-3 (on 14
    CamVid images it reached 23.5 % val mIoU in 40 epochs, against 21.0 % for
    SGD 0.1 and 18.3 % for SGD 0.05) -- an epoch over 20 CamVid-size images
    takes a few seconds on 2 cores and a 480x360 image is predicted in about
    0.15 s.  GPU: the paper's SegNet (width 1.0, ImageNet encoder when
    available, SGD with momentum 0.9) on 360x480 crops, batch 8."""
    kind = str(device).split(":", 1)[0]
    if kind == "cuda":
        return TrainConfig(arch="segnet", width=1.0, batch_size=8, crop=(360, 480), epochs=100,
                           lr=0.05)
    if kind == "mps":
        return TrainConfig(arch="segnet", width=1.0, batch_size=4, crop=(360, 480), epochs=60,
                           lr=0.05)
    return TrainConfig(arch="segnet", width=0.25, batch_size=4, crop=(192, 256), epochs=40,
                       optimizer="adamw", lr=3e-3,
                       weight_decay=OPTIMIZER_DEFAULTS["adamw"]["weight_decay"])


def default_click_config(device: str = "cpu") -> TrainConfig:
    """The click model per device type.  CPU: SegNet width 0.25 on 160x160 object boxes,
    batch 8, AdamW 1e-2, binary cross-entropy + Dice (a click updates a 480x360 image in
    well under 0.3 s on 2 cores); GPU: width 1.0 on 320x320 boxes, batch 16.  AdamW 1e-2,
    not the class model's 3e-3: overfitting four CamVid object samples from He init, 3e-3
    stayed at 25 % IoU after 40 steps (the small objects predicted empty), 1e-2 reached
    83 %."""
    common = TrainConfig(task="click", arch="segnet", optimizer="adamw", lr=1e-2,
                         weight_decay=OPTIMIZER_DEFAULTS["adamw"]["weight_decay"],
                         loss="ce+dice", class_weights="none", rare_crops=0.0, imagenet=None,
                         schedule="poly")
    kind = str(device).split(":", 1)[0]
    if kind in ("cuda", "mps"):
        return common.replace(width=1.0, batch_size=16, crop=(320, 320), epochs=60)
    return common.replace(width=0.25, batch_size=8, crop=(160, 160), epochs=30)


def round_epochs(epochs: int) -> int:
    """Epochs of a correction round after a full run of ``epochs``: a quarter, at least 3."""
    return max(3, round(epochs / 4))


def round_config(cfg: TrainConfig, epochs: int | None = None) -> TrainConfig:
    """The short fine-tuning schedule of a correction round that continues from the
    active model: ``epochs`` (default :func:`round_epochs`) at half the learning rate,
    with a short warm-up (the optimizer starts fresh)."""
    return cfg.replace(epochs=epochs if epochs is not None else round_epochs(cfg.epochs),
                       lr=cfg.lr / 2, warmup_steps=max(cfg.warmup_steps, 10))
