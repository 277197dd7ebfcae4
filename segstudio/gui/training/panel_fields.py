"""The Training panel's fields as the settings declare them (:mod:`segstudio.nn.settings`):
each field's label, tooltip, choices and range come from its :class:`Spec`, so the panel
and ``segstudio train``'s flags say the same things.  Plus the run's *length*, one value
with its unit: minutes or steps (a budget, the default) or epochs."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QSpinBox, QWidget

from ...nn.config import TrainConfig
from ...nn.plan.budget import parse_budget
from ...nn.settings import Spec, spec_of

UNITS = (("min", "min", "A budget of minutes on this device: the run times its first steps "
                        "and trains as many as fit"),
         ("steps", "steps", "A budget of optimizer steps"),
         ("epochs", "epochs", "Passes over the training images"))


def spec(name: str) -> Spec:
    return spec_of(TrainConfig, name)


def tooltip(name: str) -> str:
    s = spec(name)
    return s.label[:1].upper() + s.label[1:] + (f": {s.help}" if s.help else "")


def label(name: str) -> str:
    s = spec(name)
    return s.label[:1].upper() + s.label[1:]


def int_box(parent: QWidget, name: str, maximum: int = 1_000_000) -> QSpinBox:
    s = spec(name)
    box = QSpinBox(parent)
    box.setRange(int(s.low if s.low is not None else 0),
                 int(min(s.high, maximum) if s.high is not None else maximum))
    box.setToolTip(tooltip(name))
    return box


def float_box(parent: QWidget, name: str, decimals: int, step: float) -> QDoubleSpinBox:
    s = spec(name)
    box = QDoubleSpinBox(parent)
    box.setDecimals(decimals)
    low = s.low if s.low is not None else 0.0
    box.setRange(max(low, 10.0 ** -decimals) if low > 0 else low,
                 (s.high - 10.0 ** -decimals if s.open_high else s.high)
                 if s.high is not None else 1e6)
    box.setSingleStep(step)
    box.setToolTip(tooltip(name))
    return box


def length_of(cfg) -> tuple[int, str]:
    """(value, unit) of a config's length: its budget, else its epochs."""
    if cfg.budget is None:
        return int(cfg.epochs), "epochs"
    b = parse_budget(cfg.budget)
    if b.steps is not None:
        return b.steps, "steps"
    return max(1, round((b.seconds or 60.0) / 60.0)), "min"


def length_changes(value: int, unit: str) -> dict:
    """The settings a length stands for."""
    if unit == "epochs":
        return {"epochs": value, "budget": None}
    if unit == "steps":
        return {"budget": f"{value} steps"}
    return {"budget": f"{value}m"}


def select_unit(box: QComboBox, unit: str) -> None:
    i = box.findData(unit)
    if i >= 0:
        box.setCurrentIndex(i)
