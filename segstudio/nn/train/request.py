"""One request for every way to start training, and the one function that resolves it.

The window (in its thread or a separate process), ``segstudio train`` and every
process under torchrun describe a run the same way -- a :class:`RunRequest`: the task,
how it starts (:data:`STARTS`), the settings the user chose, and how long it trains --
and :func:`resolve` turns it into the run's settings and the checkpoint it starts from:

1. a resumed run (``start="resume"``) takes its own settings from its checkpoint;
2. otherwise the device's defaults, and for a segmentation run the recipe that the
   project's fingerprint chooses (:mod:`plan.recipe`), unless the request brings a
   complete ``config`` (a settings file, a test);
3. the length asked for (a budget or epochs) is a full run's: a run that continues
   from the active model or a checkpoint is a correction round, a quarter of that
   length at half the learning rate (:func:`config.round_config`), with the
   checkpoint's architecture, width and normalisation;
4. then every setting the user chose (an explicit learning rate is kept as it is), and
   the checks.

Each setting's value may be given as text (the CLI, a JSON file): it is read the way
its :class:`~settings.Spec` says.  Free of Qt.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...core.errors import SegStudioError
from ..config import (
    TrainConfig,
    default_click_config,
    default_train_config,
    round_config,
    switch_optimizer,
)
from ..runs.checkpoint import Checkpoint, CheckpointError, check_compatible, load_checkpoint
from ..settings import ConfigError, specs

if TYPE_CHECKING:
    import torch

    from ...core.project import Project
    from ..plan.fingerprint import Fingerprint

# auto: the active model when it fits (a round), else scratch; active: the active model
# (an error without one); scratch; checkpoint: a round from a file's weights; resume: a
# run's checkpoint goes on (a file without training state starts a new run from it)
STARTS = ("auto", "active", "scratch", "checkpoint", "resume")


@dataclass(frozen=True)
class RunRequest:
    task: str = "semantic"
    start: str = "auto"
    checkpoint: str | None = None  # for start "checkpoint" and "resume"
    settings: Mapping[str, Any] = field(default_factory=dict)  # what the user chose
    budget: str | None = None  # None: the defaults' (or a round's share of it)
    epochs: int | None = None  # count the run in epochs instead of a budget
    add_epochs: int | None = None  # resume: this many epochs more than the checkpoint has
    config: TrainConfig | None = None  # complete settings instead of defaults and recipe
    recipe: bool = True  # let the fingerprint choose the recipe (config None only)
    round: bool = True  # a warm start is a round: a quarter of the budget at half the rate

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["settings"] = {k: _plain(v) for k, v in self.settings.items()}
        d["config"] = self.config.to_dict() if self.config is not None else None
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRequest:
        known = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in data.items() if k in known}
        if kw.get("config") is not None:
            kw["config"] = TrainConfig.from_dict(kw["config"])
        kw["settings"] = dict(kw.get("settings") or {})
        return cls(**kw)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True)
class ResolvedRun:
    config: TrainConfig
    checkpoint: Checkpoint | None  # what the run resumes or starts from
    warm_start: bool  # a round from the checkpoint's weights
    notes: tuple[str, ...] = ()  # the fingerprint, the recipe, the start: for the log
    fingerprint: Fingerprint | None = None


def resolve(project: Project, request: RunRequest, device: torch.device) -> ResolvedRun:
    """The run's settings and starting checkpoint (see the module doc); raises
    :class:`SegStudioError` with a message in words when the request cannot run."""
    if request.start not in STARTS:
        raise ConfigError(f"Start {request.start!r}: choose {', '.join(STARTS)}")
    if request.start in ("checkpoint", "resume") and not request.checkpoint:
        raise ConfigError(f"Start {request.start!r} needs a checkpoint file")
    if request.start == "resume":
        assert request.checkpoint is not None
        resumed = load_checkpoint(request.checkpoint)
        if resumed.train_state is not None:
            return _resumed(resumed, request)
    notes: list[str] = []
    fp = None
    base = request.config
    if base is None:
        base = default_click_config(device.type) if request.task == "click" \
            else default_train_config(device.type)
        if request.recipe and request.task == "semantic":
            from ..plan.recipe import planned

            fp, base, lines = planned(project, base, device.type)
            notes += lines
    base = base.replace(task=request.task)
    if request.epochs is not None:  # the length of a full run: a round takes its share
        base = base.replace(epochs=request.epochs, budget=None)
    elif request.budget is not None:
        base = base.replace(budget=request.budget)
    chosen = {k: read_setting(k, v) for k, v in request.settings.items()}
    ck, warm, note = _start(project, request, chosen)
    if note:
        notes.append(note)
    cfg = base
    if ck is not None:
        if warm and request.round:
            cfg = round_config(cfg)
        mc = ck.model_config
        size = {"crop": (ck.click_size, ck.click_size)} if ck.task == "click" else {}
        cfg = cfg.replace(arch=mc["arch"], width=float(mc["width"]), imagenet=None,
                          normalize=ck.normalize, **size)
    cfg = apply_settings(cfg, chosen)
    return ResolvedRun(cfg.validate(), ck, warm, tuple(notes), fp)


def read_setting(name: str, value: Any) -> Any:
    """A setting's value from text (the CLI, a JSON file) or as it is."""
    all_specs = specs(TrainConfig)
    if name not in all_specs:
        raise ConfigError(f"unknown setting {name!r}")
    spec = all_specs[name]
    default = TrainConfig.__dataclass_fields__[name].default
    if isinstance(value, list):
        value = tuple(value)
    if not isinstance(value, str) or isinstance(default, str) and spec.parse is None:
        return value
    text = value.strip()
    label = spec.label[:1].upper() + spec.label[1:]
    if spec.parse is not None:
        try:
            return spec.parse(text)
        except ValueError as exc:
            raise ConfigError(f"{label}: {exc}") from None
    try:
        if text.lower() == "none" and spec.optional:
            return None
        if isinstance(default, bool):
            if text.lower() in ("true", "yes", "on", "1"):
                return True
            if text.lower() in ("false", "no", "off", "0"):
                return False
            raise ValueError(text)
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
    except ValueError:
        raise ConfigError(f"{label} {text!r}: not a valid value") from None
    return value


def apply_settings(cfg: TrainConfig, chosen: Mapping[str, Any]) -> TrainConfig:
    """The user's settings over ``cfg``: a new optimizer brings its weight decay and,
    unless a learning rate is chosen too, its default rate."""
    chosen = dict(chosen)
    if "optimizer" in chosen:
        cfg = switch_optimizer(cfg, str(chosen.pop("optimizer")), chosen.pop("lr", None))
    if chosen.get("epochs") is not None and "budget" not in chosen:
        chosen["budget"] = None  # epochs given: the run counts epochs
    return cfg.replace(**chosen)


def _resumed(ck: Checkpoint, request: RunRequest) -> ResolvedRun:
    """A run that goes on from its checkpoint: its own settings; only the length (epochs
    or added epochs), workers and cache may change."""
    assert ck.train_state is not None
    if "config" not in ck.train_state:
        raise CheckpointError(f"{ck.path}: damaged training state (no config)")
    if ck.task != request.task:
        what = "a click model" if ck.task == "click" else "a segmentation model"
        raise CheckpointError(f"{ck.path}: {what}; a {request.task} run cannot resume it")
    cfg = TrainConfig.from_dict(ck.train_state["config"])
    keep = {k: read_setting(k, v) for k, v in request.settings.items()
            if k in ("workers", "cache_mb")}
    if request.add_epochs is not None:
        keep["epochs"] = int(ck.train_state.get("epoch", 0)) + request.add_epochs
    elif request.epochs is not None:
        keep["epochs"] = request.epochs
    return ResolvedRun(cfg.replace(**keep).validate(), ck, False,
                       (f"resuming {ck.path}",))


def _start(project: Project, request: RunRequest, chosen: Mapping[str, Any]
           ) -> tuple[Checkpoint | None, bool, str | None]:
    """(the checkpoint a new run starts from, whether it is a round, a note)."""
    if request.start == "scratch":
        return None, False, None
    if request.start == "resume":  # a file without training state: a new run from it
        assert request.checkpoint is not None
        ck = load_checkpoint(request.checkpoint)
        return ck, False, f"starting from the weights of {ck.path} (no training state in it)"
    given = request.checkpoint if request.start == "checkpoint" else \
        ("active" if request.start == "active" else None)
    path, note = choose_start(project, given, chosen.get("arch"), chosen.get("width"),
                              request.task)
    if path is None:
        return None, False, note
    # the weights only: a round is a new run with a fresh optimizer
    return dataclasses.replace(load_checkpoint(path), train_state=None), True, note


def choose_start(project: Project, given: str | None, arch: str | None = None,
                 width: float | None = None, task: str = "semantic"
                 ) -> tuple[str | None, str | None]:
    """What a new run starts from: (checkpoint to warm-start from or None for scratch,
    a note for the user).  ``given``: "active", "scratch", a checkpoint path, or None --
    the active model of ``task`` when it fits the project (classes, channels, and
    ``arch`` / ``width`` when given), else scratch.  Asked-for models that do not fit
    raise."""
    from ..plan.fingerprint import project_channels

    if given == "scratch":
        return None, None
    if given is None or given == "active":
        key = "active_click_checkpoint" if task == "click" else "active_checkpoint"
        stored = project.settings.get(key, None)
        if not stored:
            if given == "active":
                what = "click model" if task == "click" else "model"
                raise SegStudioError(f"the project has no active {what} yet to continue from; "
                                     "train one from scratch first")
            return None, None
        path: str = stored
    else:
        path = given
    try:
        ck = load_checkpoint(path)
        check_compatible(ck, project.classes, project_channels(project))
        if ck.task != task:
            raise SegStudioError(f"{path} is a {ck.task} model, not a {task} one")
        mc = ck.model_config
        if arch is not None and arch != mc["arch"]:
            raise SegStudioError(f"{path} is a {mc['arch']} model, not {arch}")
        if width is not None and float(width) != float(mc["width"]):
            raise SegStudioError(f"{path} has width {float(mc['width']):g}, not {width:g}")
    except SegStudioError as exc:
        if given is not None:  # asked for: say why it cannot be used
            raise
        return None, f"starting from scratch: the active model does not fit ({exc})"
    what = "the active model" if given in (None, "active") else "the weights of"
    return str(Path(path)), f"continuing from {what} {path} (a correction round; start " \
                            "from scratch to start over)"
