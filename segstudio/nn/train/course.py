"""The guard that acts: a run whose model is not better than the trivial predictor (and
never was: a dip on a few validation images is no failure) after :data:`ACT_AT` of its
length (and at least :data:`MIN_STEPS` steps) changes course once, by itself, and says
what it did, instead of spending the rest of its budget at the class prior.

What it changes follows from what went wrong:

* the training loss does not fall (or is not finite): the learning rate is too high for
  this data -- it is cut to :data:`LR_CUT` of itself;
* the loss falls but the model paints the majority class (it learnt the class prior):
  the minority classes are too rare in what it sees -- the loss becomes cross-entropy +
  Dice (which counts each class's overlap, not its pixels), crops centre on the
  minority classes, and the learning rate is halved for the new objective.

Under torchrun rank 0 decides (it alone validates) and every process takes the same
course.  The course is kept in the checkpoints, so a resumed run goes on with it.
Free of Qt.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from ..runs.events import Event, Message
from . import data as D
from .guard import MARGIN
from .losses import make_loss
from .state import Run

ACT_AT = 0.3  # share of the run after which a model not better than trivial changes course
MIN_STEPS = 20  # and the optimizer steps before it: a shorter run says nothing of its trend
LR_CUT = 0.3
NOT_FALLING = 0.9  # the loss "does not fall" when the last is above this share of the first
DICE = "ce+dice"


@dataclass(frozen=True)
class Course:
    lr_scale: float = 1.0
    loss: str | None = None  # None: the run's own
    focus: bool = False  # crops centred on the minority classes
    why: str = ""

    @property
    def code(self) -> int:
        """One small number for the broadcast under torchrun (0: no change)."""
        return (1 if self.lr_scale != 1.0 else 0) + (2 if self.loss else 0) + \
            (4 if self.focus else 0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def choose(run: Run, progress: float, beats: bool | None,
           train_losses: Sequence[float]) -> Course | None:
    """The change of course for this run now, or None (it beats the trivial predictor,
    was not validated, already changed course, or it is too early)."""
    guard = run.guard
    if guard.acted or beats is not False or progress < ACT_AT or run.cfg.task != "semantic" \
            or run.state.global_step < MIN_STEPS:
        return None
    best, trivial = run.state.best_miou, guard.trivial_miou
    if best is not None and trivial is not None and best > trivial + MARGIN:
        return None  # it learnt once: a dip on a few validation images is no reason
    guard.acted = True
    losses = [v for v in train_losses if v is not None]
    stuck = len(losses) >= 2 and (not all(math.isfinite(v) for v in losses)
                                  or losses[-1] > NOT_FALLING * losses[0])
    if stuck:
        why = (f"the training loss does not fall ({losses[0]:.3g} -> {losses[-1]:.3g}): the "
               f"learning rate is cut to {LR_CUT:g} of itself")
        return Course(lr_scale=LR_CUT, why=why)
    current = run.cfg.loss if run.state.course is None else \
        (run.state.course.get("loss") or run.cfg.loss)
    if current == DICE and run.training.balance.focus is not None:
        return Course(lr_scale=LR_CUT, why="the loss falls but the model keeps the class "
                                           f"prior: the learning rate is cut to {LR_CUT:g}")
    return Course(lr_scale=0.5, loss=DICE, focus=True,
                  why=f"the loss falls but the model paints the class prior (every pixel "
                      f"'{guard.majority_name}'): it now trains with cross-entropy + Dice, "
                      "crops centred on the other classes, and half the learning rate")


def from_code(code: int, rank0: Course | None) -> Course | None:
    """The course rank 0 chose, rebuilt from its code in another process (the courses
    :func:`choose` makes: a cut of the rate, or Dice with minority crops at half the
    rate)."""
    if code == 0:
        return None
    if rank0 is not None:
        return rank0
    if code & 2:
        return Course(lr_scale=0.5, loss=DICE, focus=True)
    return Course(lr_scale=LR_CUT)


def apply(run: Run, course: Course) -> None:
    """Take ``course``: the learning rate's scale, the loss of the training and validation
    steps, the crops; recorded in the run's state for its checkpoints."""
    state = run.state
    state.lr_scale *= course.lr_scale
    if course.loss:
        fn = make_loss(course.loss)
        for step in (run.step, run.val_step):
            if hasattr(step, "loss_fn"):
                step.loss_fn = fn
    if course.focus:
        run.training.balance = replace(run.training.balance, focus=minority_focus(run))
    previous = dict(state.course or {})
    state.course = {"lr_scale": state.lr_scale, "loss": course.loss or previous.get("loss"),
                    "focus": course.focus or bool(previous.get("focus"))}


def restore(run: Run, saved: dict[str, Any] | None) -> None:
    """A resumed run's course, as its checkpoint kept it."""
    if not saved:
        return
    state = run.state
    state.lr_scale = 1.0
    apply(run, Course(lr_scale=float(saved.get("lr_scale", 1.0)), loss=saved.get("loss"),
                      focus=bool(saved.get("focus"))))
    run.guard.acted = True


def minority_focus(run: Run) -> D.CropFocus:
    """Crops centred on a pixel of a class other than the majority, in proportion to
    the classes' median-frequency weights (the rarer, the more often)."""
    mf = np.asarray(run.data.counts.weights(), np.float64)
    pref = mf.copy()
    pref[run.guard.majority] = 0.0
    if pref.sum() <= 0:
        pref = mf
    return D.CropFocus(0.5, tuple(float(v) for v in pref))


def act(run: Run, progress: float, beats: bool | None, train_losses: Sequence[float]
        ) -> Iterator[Event]:
    """Between epochs: change course when the guard says so (the same in every process)."""
    ctx = run.ctx
    course = choose(run, progress, beats, train_losses) if ctx.main else None
    if ctx.dist is not None:
        code = round(ctx.dist.sum(course.code if course is not None and ctx.main else 0))
        course = from_code(code, course)
        run.guard.acted = run.guard.acted or code != 0
    if course is None:
        return
    apply(run, course)
    if ctx.main:
        yield Message("warning", f"changing course after {progress * 100:.0f} % of the run: "
                                 f"the model is not better than {run.guard.trivial_text()}; "
                                 f"{course.why}")
