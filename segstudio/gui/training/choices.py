"""The Training panel's choices: (key, the short text a closed combo shows, the full
description as its tooltip), and the two helpers that build and set such combos."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

from ...nn.registry import LOSSES, MODELS, choices
from ...nn.registry import OPTIMIZERS as OPTIMIZER_ENTRIES

TASKS = (("semantic", "Segmentation", "The segmentation model: a class for every pixel "
                                      "(predictions, Label next)"),
         ("click", "Click model", "The Click tool's model (key C): an object's mask from "
                                  "clicks on it, learnt from the project's corrected masks"))
ARCH_LABELS = choices(MODELS)  # the registered models and optimizers, in their order
WIDTHS = (0.25, 0.5, 1.0)
WEIGHTS = (("auto", "Auto", "Rare classes weighted up, the others 1 (from the masks)"),
           ("none", "None", "No class weights"),
           ("median", "Median freq.", "Median-frequency weights from the masks (SegNet)"),
           ("table", "Class table", "The weights stored with the class table"))
RUN_IN = (("thread", "This window", "Training runs inside the window and stops with it"),
          ("process", "Separate process",
           "Training runs as 'segstudio train' in its own process: it goes on when the window "
           "closes, and a crash of it never takes the window down"))
OPTIMIZERS = choices(OPTIMIZER_ENTRIES)
LOSS_LABELS = choices(LOSSES)
SCORES = (("entropy", "Entropy", "Mean pixel entropy of the prediction"),
          ("mc-dropout", "MC dropout", "Disagreement of stochastic passes (a model trained "
                                       "with dropout)"),
          ("tta", "TTA", "Disagreement between the image, its mirror and 3/4 scale"),
          ("rare", "Rare classes", "Entropy weighted towards the rare classes"))
START = (("active", "Active model", "Continue from the active model: a correction round, a "
                                    "quarter of the budget at half the learning rate"),
         ("scratch", "Scratch", "From scratch (He initialisation)"),
         ("imagenet", "ImageNet", "ImageNet encoder (VGG16-BN)"),
         ("resume", "Checkpoint", "Continue a run from its checkpoint"),
         ("features", "Segmentation model", "The click model starts from the active "
                                            "segmentation model's features"))


def combo(parent, items) -> QComboBox:
    box = QComboBox(parent)
    for key, label, *tip in items:
        box.addItem(label, key)
        if tip:
            box.setItemData(box.count() - 1, tip[0], Qt.ItemDataRole.ToolTipRole)
    return box


def select(box: QComboBox, key) -> None:
    i = box.findData(key)
    if i >= 0:
        box.setCurrentIndex(i)


