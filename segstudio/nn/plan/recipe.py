"""The training recipe a project's fingerprint chooses, by fixed rules.

Each rule is one :class:`Rule`: a condition on the :class:`~.fingerprint.Fingerprint`,
the settings it changes, and the reason shown in the log.  The rules were chosen from
the quality suite (``benchmarks/bench_quality.py``: CamVid, a thin CamVid class,
real microscopy, EM-like sections, pavement cracks); the README's table gives each
rule with the measurement behind it.  The user's own settings are applied after the
recipe (:func:`segstudio.nn.train.request.resolve`), so every field can still be overridden.
Free of Qt and torch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..config import TrainConfig
from .fingerprint import Fingerprint, fingerprint

if TYPE_CHECKING:
    from ...core.project import Project

DEFAULT_BUDGET = {"cpu": "10m", "cuda": "10m", "mps": "10m"}
# Not a rule: per-image normalisation (each image stretched to its 0.5th/99.5th
# percentiles, ``--normalize image``) on the dark fluorescence of the nuclei set cut the
# nucleus IoU from 0.39 to 0.19 (800 steps, seed 0; README's rules table): it stays a
# setting the user may choose.
LAYOUT_UP = 0.10  # fingerprint.layout above this: the images have an up (no rotations)
IMAGE_LAYOUT_UP = 0.2  # the same for fingerprint.image_layout (a sky above a road: 0.5)


@dataclass(frozen=True)
class Rule:
    name: str
    applies: Callable[[Fingerprint], bool]
    changes: Callable[[Fingerprint, TrainConfig], Mapping[str, Any]]
    why: Callable[[Fingerprint], str]
    fields: tuple[str, ...] = ()  # the settings it changes (a user's choice overrides)


def _square(cfg: TrainConfig) -> tuple[int, int] | None:
    """A square crop of about the same area as ``cfg.crop`` (rotated crops must fit)."""
    if cfg.crop is None:
        return None
    side = int(round((cfg.crop[0] * cfg.crop[1]) ** 0.5 / 32.0)) * 32
    return (side, side)


RULES: tuple[Rule, ...] = (
    Rule("rotations",
         lambda fp: fp.layout <= LAYOUT_UP and fp.image_layout <= IMAGE_LAYOUT_UP,
         lambda fp, cfg: {"rotate90": True, "crop": _square(cfg)},
         lambda fp: f"neither the classes nor the brightness depend on the height in the "
                    f"image (layout {fp.layout:.2f} / {fp.image_layout:.2f}): crops are "
                    "rotated and flipped every way, and square", ("rotate90", "crop")),
    Rule("Dice for thin classes",
         lambda fp: bool(fp.thin_classes),
         lambda fp, cfg: {"loss": "ce+dice"},
         lambda fp: "thin classes (" + ", ".join(
             f"'{c.name}' {c.thickness:.0f} px" for c in fp.thin_classes)
         + "): cross-entropy plus Dice", ("loss",)),
)


def recipe(fp: Fingerprint, base: TrainConfig, device: str = "cpu"
           ) -> tuple[TrainConfig, list[str]]:
    """``base`` (the device's defaults) with the rules that apply to ``fp``, and a line
    for each rule that changed something."""
    cfg = base
    lines = []
    if cfg.budget is None:
        cfg = cfg.replace(budget=DEFAULT_BUDGET.get(device.split(":", 1)[0], "10m"))
    for rule in RULES:
        if rule.applies(fp):
            changes = dict(rule.changes(fp, cfg))
            if any(getattr(cfg, k) != v for k, v in changes.items()):
                cfg = cfg.replace(**changes)
                lines.append(f"recipe: {rule.name}: {rule.why(fp)}")
    return cfg, lines


def overridden(lines: list[str], chosen: Mapping[str, Any]) -> list[str]:
    """The recipe's log lines, each rule whose settings the user chose otherwise marked
    so (what the run does is the user's choice)."""
    by_name = {r.name: r for r in RULES}
    out = []
    for line in lines:
        name = line[len("recipe: "):].split(": ", 1)[0] if line.startswith("recipe: ") else ""
        rule = by_name.get(name)
        mine = [f for f in (rule.fields if rule else ()) if f in chosen]
        if mine:
            line += " (overridden: " + ", ".join(f"{f} {chosen[f]}" for f in mine) + ")"
        out.append(line)
    return out


def planned(project: Project, base: TrainConfig, device: str = "cpu"
            ) -> tuple[Fingerprint, TrainConfig, list[str]]:
    """The project's fingerprint, the recipe it chooses over ``base``, and the log's
    lines (the fingerprint's summary first)."""
    fp = fingerprint(project)
    cfg, lines = recipe(fp, base, device)
    return fp, cfg, [f"project: {fp.summary()}"] + lines
