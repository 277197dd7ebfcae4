"""Training settings and their per-device defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from .names import ARCHS, LOSSES
from .plan.budget import parse_budget, scaled
from .registry import LOSSES as LOSS_ENTRIES
from .registry import MODELS, losses_for
from .registry import OPTIMIZERS as OPTIMIZER_ENTRIES
from .registry import TASKS as TASK_ENTRIES
from .settings import ConfigError, Spec, parse_hw, parse_optional_path, setting, specs

__all__ = ["ConfigError", "TrainConfig", "default_train_config", "default_click_config",
           "round_config", "switch_optimizer", "OPTIMIZERS", "TASKS", "SCHEDULES",
           "CLASS_WEIGHTS", "NORMALIZE", "WIDTHS", "MAX_SEED", "OPTIMIZER_DEFAULTS"]


def _crop(text: str) -> tuple[int, int] | None:
    return None if text.strip().lower() in ("none", "whole") else parse_hw(text)


OPTIMIZERS = tuple(OPTIMIZER_ENTRIES)
TASKS = tuple(TASK_ENTRIES)  # the segmentation model, the Click tool's model
SCHEDULES = ("poly", "cosine", "constant")
CLASS_WEIGHTS = ("auto", "none", "median", "table")
NORMALIZE = ("project", "image")
WIDTHS = (0.25, 0.5, 1.0)
MAX_SEED = 2 ** 63 - 1  # torch.manual_seed takes 64-bit seeds


def _budget_text(text: str) -> str:
    parse_budget(text)  # a ValueError in words when it does not read
    return text


S = Spec


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a run, each declared once with its :class:`~settings.Spec` (its
    words, choices or range, and command-line flag)."""

    # semantic: the class model; click: the click model of the editor's Click tool
    # (interactive segmentation, nn/click_model.py), trained on the same masks
    task: str = setting("semantic", S(
        "task", "semantic: the segmentation model; click: the click model of the editor's "
        "Click tool (learnt from the same masks), which becomes the project's click model",
        choices=TASKS))
    arch: str = setting("segnet", S("model", "the architecture: " + "; ".join(
        f"{e.name}: {e.description}" for e in MODELS.values()), choices=ARCHS, flag="--model"))
    width: float = setting(1.0, S("width", "channel multiplier of the network: 1.0 is the paper's "
                            "SegNet, 0.25 is 16x cheaper (fits a CPU)", choices=WIDTHS))
    epochs: int = setting(40, S("epochs", "passes over the training images; gives the run a fixed "
                          "number of epochs instead of a budget", low=1, metavar="N"))
    # None: count the run in epochs; else a time on this device ("10m") or optimizer steps
    # ("1500 steps"), see plan/budget.py
    budget: str | None = setting(None, S(
        "training budget", "how long to train: a time on this device (10m, 90s, 1h), turned "
        "into a number of steps from a timing of the first steps, or a number of optimizer "
        "steps (1500 steps); --epochs counts passes over the images instead",
        metavar="10m|N steps", parse=_budget_text, optional=True))
    eval_every: int = setting(0, S("validation interval", "with a budget: optimizer steps between "
                             "validations and checkpoints (0: chosen from the budget)", low=0,
                             metavar="K"))
    batch_size: int = setting(8, S("batch size", "images per optimizer step", low=1, metavar="B"))
    crop: tuple[int, int] | None = setting((360, 480), S(
        "crop", "training crop as HxW, e.g. 192x256 (images smaller than the crop are padded "
        "with the ignore class); none: whole images", metavar="HxW", parse=_crop,
        optional=True))
    lr: float = setting(0.05, S("learning rate", "the base learning rate", low=1e-12, metavar="X"))
    optimizer: str = setting("sgd", S("optimizer", "sgd (momentum, as in the paper) or adamw",
                                choices=OPTIMIZERS))
    momentum: float = setting(0.9, S("momentum", low=0.0, high=1.0, open_high=True, flag=None))
    weight_decay: float = setting(5e-4, S("weight decay", "the optimizer's weight decay", low=0.0,
                                    high=1.0, metavar="X"))
    schedule: str = setting("poly", S("learning-rate schedule", "per step: poly (power 0.9), "
                                "cosine or constant", choices=SCHEDULES))
    val_split: float = setting(0.3, S("validation share", "share of the labelled images kept for "
                                "validation", low=0.0, high=1.0, open_high=True, metavar="F"))
    split_seed: int = setting(0, S("split seed", low=0, flag=None))
    class_weights: str = setting("auto", S(
        "class weights", "auto: weights only for rare classes (the square root of their "
        "median-frequency weight, at most 5); median: the median-frequency weights as they "
        "are (SegNet); table: the class table's; none", choices=CLASS_WEIGHTS))
    loss: str = setting("ce", S("loss", "the training loss: " + "; ".join(
        f"{e.name}: {e.description}" for e in LOSS_ENTRIES.values()), choices=LOSSES))
    rare_crops: float = setting(0.5, S(
        "rare-class crop share", "share of training crops centred on a pixel of a rare class",
        low=0.0, high=1.0, metavar="F"))
    warmup_steps: int = setting(0, S("warm-up steps", "linear learning-rate warm-up over the first "
                               "optimizer steps", low=0, metavar="N"))
    precise_bn: int = setting(8, S("precise BatchNorm batches", "before validating, BatchNorm "
                             "statistics from this many of the last batches under the current "
                             "weights (0: the running ones)", low=0, flag=None))
    dropout: float = setting(0.0, S(
        "dropout", "dropout after the central encoder and decoder blocks (Bayesian SegNet; "
        "needed for MC-dropout scores)", low=0.0, high=1.0, open_high=True, metavar="P"))
    # "auto": torchvision's cache if present; a path; None: He initialisation
    imagenet: str | None = setting("auto", S(
        "ImageNet encoder", "VGG16-BN ImageNet weights file for the encoder; none for He init "
        "(default: torchvision's cache if present; nothing is downloaded)", metavar="FILE",
        parse=parse_optional_path, optional=True))
    seed: int = setting(0, S("seed", "random seed", low=0, high=MAX_SEED, metavar="N"))
    workers: int = setting(0, S("data-loading processes", "worker processes that load the data "
                          "(0: in the training process)", low=0, metavar="N"))
    scale: tuple[float, float] = setting((0.75, 1.25), S("scale range", flag=None))
    flip: bool = setting(True, S("horizontal flips", "mirror training crops left-right"))
    # vertical flips and 90-degree rotations: for images without an up (microscopy, slides)
    rotate90: bool = setting(False, S("rotations", "also flip training crops top-bottom and rotate "
                                "them by 90 degrees (images without an up: microscopy, "
                                "inspection from above)"))
    intensity: float = setting(0.0, S("intensity augmentation", "strength of random brightness, "
                                "contrast and gamma changes (0: none)", low=0.0, high=1.0,
                                metavar="F"))
    elastic: float = setting(0.0, S(
        "elastic deformation", "standard deviation in pixels of a smooth random deformation "
        "of half the training crops (0: none)", low=0.0, high=50.0, metavar="PX"))
    normalize: str = setting("project", S(
        "normalisation", "project: one mean and standard deviation for every image; image: "
        "each image stretched between its own 0.5th and 99.5th percentiles first (for "
        "projects whose images differ in brightness)", choices=NORMALIZE))
    amp: bool = setting(True, S("mixed precision", "bf16/fp16 on CUDA", flag="--amp"))
    channels_last: bool | None = None  # None: CUDA yes; CPU at width <= 0.25, batch >= 4
    cache_mb: int = setting(2048, S("image cache", low=0, flag=None))
    val_max_pixels: int = setting(2_400_000, S("validation tile size", low=1024, flag=None))
    # the click model: simulated-click rounds before a step (0..this, RITM's iterative
    # training), validation objects and the most clicks simulated on each
    click_iters: int = setting(3, S("click rounds", low=0, flag=None))
    val_objects: int = setting(40, S("validation objects", low=1, flag=None))
    val_clicks: int = setting(5, S("validation clicks", low=1, flag=None))
    # a new click model starts from the features of a segmentation model trained on the
    # same kind of images: "auto" the project's active model when it fits (same arch,
    # width and channels), a checkpoint path, or None (He initialisation)
    features_from: str | None = setting("auto", S(
        "click model's start", "the segmentation checkpoint a new click model starts from "
        "(its features; default: the project's active model when it fits); none: He "
        "initialisation", metavar="CKPT|none", parse=parse_optional_path, optional=True))

    def validate(self) -> TrainConfig:
        for name, spec in specs(TrainConfig).items():
            spec.check(getattr(self, name))
        if self.budget is not None:
            try:
                parse_budget(self.budget)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        if self.task == "click":
            if self.crop is None or self.crop[0] != self.crop[1] or self.crop[0] % 32:
                raise ConfigError("The click model's crop is its square input, a multiple of "
                                  "32 such as 160x160")
            if self.loss not in losses_for("click"):
                raise ConfigError(f"Loss {self.loss!r}: the click model trains with "
                                  f"{' or '.join(losses_for('click'))}")
        if self.crop is not None and (min(self.crop) < 32):
            raise ConfigError(f"Crop {self.crop[0]}x{self.crop[1]}: both sides must be at "
                              "least 32")
        lo, hi = self.scale
        if not 0.1 <= lo <= hi <= 10:
            raise ConfigError(f"Scale range {self.scale}: must be 0.1 <= low <= high <= 10")
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


ROUND_SHARE = 0.25  # a correction round's share of a full run's budget or epochs


def round_config(cfg: TrainConfig, epochs: int | None = None) -> TrainConfig:
    """The short fine-tuning schedule of a correction round that continues from the
    active model: a quarter of the budget (or ``epochs``, default :func:`round_epochs`)
    at half the learning rate, with a short warm-up (the optimizer starts fresh)."""
    budget = cfg.budget if cfg.budget is None or epochs is not None \
        else scaled(cfg.budget, ROUND_SHARE)
    return cfg.replace(epochs=epochs if epochs is not None else round_epochs(cfg.epochs),
                       budget=None if epochs is not None else budget,
                       lr=cfg.lr / 2, warmup_steps=max(cfg.warmup_steps, 10))
