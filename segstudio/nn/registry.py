"""The models, optimizers and losses segstudio can train with, one record each.

Everything that lists or builds them reads these registries: the training
settings' checks (:mod:`config`), :func:`segnet.build_model`,
:func:`step.make_optimizer`, :func:`losses.make_loss`, the CLI's ``--model`` /
``--optimizer`` / ``--loss`` choices and the Training panel's combos (their labels
and tooltips).  This module does not import
torch (the window reads the names at start-up); a record's builder imports what it
needs when it is called.

A new model: a module in ``segstudio/nn`` with the model class (it must expose
``num_classes`` and ``in_channels`` and a ``config()`` that :func:`segnet.model_from_config`
rebuilds it from), plus one :class:`ModelEntry` in :data:`MODELS`.  A new optimizer: a
:class:`OptimizerEntry` in :data:`OPTIMIZERS`.  A new loss: its term function in
:mod:`losses` (``TERMS``) and a :class:`LossEntry` in :data:`LOSSES` naming the terms
it adds up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from .config import TrainConfig
    from .models.segnet import _Net


@dataclass(frozen=True)
class ModelEntry:
    name: str  # the key in settings, checkpoints and the CLI
    label: str  # what a closed combo shows
    description: str  # its tooltip and the CLI's help
    build: Callable[[int, int, float], _Net]  # (classes, input channels, width) -> model


@dataclass(frozen=True)
class OptimizerEntry:
    name: str
    label: str
    description: str
    lr: float  # the learning rate a switch to it starts from
    weight_decay: float
    make: Callable[[TrainConfig, Iterable[torch.nn.Parameter]], torch.optim.Optimizer]


@dataclass(frozen=True)
class LossEntry:
    name: str
    label: str
    description: str
    terms: tuple[str, ...]  # the :data:`losses.TERMS` it adds up
    tasks: tuple[str, ...] = ("semantic",)  # the click model trains with ce or ce+dice


# the tasks a run can have: (module, class) of its Task (nn.train.state.Task), imported when
# a run starts, so the engine knows no task's module (an import-linter contract)
TASKS: MappingProxyType[str, tuple[str, str]] = MappingProxyType({
    "semantic": ("segstudio.nn.train.semantic", "SemanticTask"),
    "click": ("segstudio.nn.click.run", "ClickTask"),
})


def losses_for(task: str) -> tuple[str, ...]:
    """The names of the losses a run of ``task`` can train with."""
    return tuple(e.name for e in _LOSSES if task in e.tasks)


def _segnet(num_classes: int, in_channels: int, width: float) -> _Net:
    from .models.segnet import SegNet

    return SegNet(num_classes, in_channels, width)


def _segnet_basic(num_classes: int, in_channels: int, width: float) -> _Net:
    from .models.segnet import SegNetBasic

    return SegNetBasic(num_classes, in_channels, width)


def _sgd(cfg: TrainConfig, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    import torch

    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum,
                           weight_decay=cfg.weight_decay)


def _adamw(cfg: TrainConfig, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    import torch

    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


_MODELS = (
    ModelEntry("segnet", "SegNet", "SegNet with the VGG16-BN encoder (the paper's model)",
               _segnet),
    ModelEntry("segnet-basic", "SegNet-Basic", "SegNet-Basic: 4 + 4 layers, 7x7 kernels",
               _segnet_basic),
)
_OPTIMIZERS = (
    OptimizerEntry("sgd", "SGD", "SGD with momentum 0.9 (the paper's)", 0.05, 5e-4, _sgd),
    OptimizerEntry("adamw", "AdamW", "AdamW", 1e-3, 1e-2, _adamw),
)
_LOSSES = (
    LossEntry("ce", "Cross-entropy", "Cross-entropy over the labelled pixels", ("ce",),
              ("semantic", "click")),
    LossEntry("ce+dice", "CE + Dice", "Cross-entropy plus soft Dice over the classes present "
              "(rewards the overlap of small and thin classes)", ("ce", "dice"),
              ("semantic", "click")),
    LossEntry("ce+lovasz", "CE + Lovász", "Cross-entropy plus the Lovász-softmax surrogate of "
              "the IoU", ("ce", "lovasz")),
    LossEntry("focal", "Focal", "Focal loss: pixels already right count less", ("focal",)),
)
MODELS: MappingProxyType[str, ModelEntry] = MappingProxyType({e.name: e for e in _MODELS})
OPTIMIZERS: MappingProxyType[str, OptimizerEntry] = MappingProxyType(
    {e.name: e for e in _OPTIMIZERS})
LOSSES: MappingProxyType[str, LossEntry] = MappingProxyType({e.name: e for e in _LOSSES})


def choices(registry: MappingProxyType[str, ModelEntry] | MappingProxyType[str, OptimizerEntry]
            | MappingProxyType[str, LossEntry]) -> tuple[tuple[str, str, str], ...]:
    """(name, label, description) of every record, in registry order (the panel's combos)."""
    return tuple((e.name, e.label, e.description) for e in registry.values())
