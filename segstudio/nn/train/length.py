"""How long a run trains: a number of epochs (passes over the training images), or a
budget of optimizer steps or of time (:mod:`plan.budget`).

With a budget the run is a sequence of *intervals* of ``eval_every`` steps, each
ending with validation and a checkpoint; the events, the journal, the plots and the
run's record call them epochs, so everything that follows a run works unchanged.
Each interval draws its batches from passes over a fresh snapshot of the project
(new corrections join at the next interval), as many as it needs.

A time budget becomes a step count once the run has timed its first steps
(:data:`TIMING_STEPS`, the first :data:`WARM_STEPS` left out); from then on the
number of steps, the learning-rate schedule and the ETA are fixed.  Under torchrun
rank 0 times and every process takes its count.  Free of Qt.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from ..config import TrainConfig
from ..plan.budget import Budget, describe_seconds, eval_interval, parse_budget, steps_for_time

WARM_STEPS = 2  # the first steps are slower (allocation, oneDNN's kernels): not timed
TIMING_STEPS = 10  # steps timed to turn a time budget into a step count


@dataclass
class RunLength:
    budget: Budget | None  # None: ``epochs`` passes
    epochs: int  # passes, or (with a budget) the number of intervals once known
    total_steps: int | None = None  # with a budget: known at once (steps) or after timing
    eval_every: int = 0
    val_cost_steps: float = 0.0  # a validation's cost in training steps (an estimate)
    started_at: float | None = None  # the run's clock when the first step began
    step_times: list[float] = field(default_factory=list)
    fixed: bool = False  # the count is settled (a steps budget, or timed)

    @classmethod
    def of(cls, cfg: TrainConfig, val_cost_steps: float) -> RunLength:
        if cfg.budget is None:
            return cls(None, cfg.epochs, fixed=True)
        b = parse_budget(cfg.budget)
        length = cls(b, 1, val_cost_steps=val_cost_steps)
        if b.steps is not None:
            length.settle(b.steps, cfg.eval_every)
        else:  # until timed: a provisional interval, as if a step took half a second
            guess = max(1, int((b.seconds or 0.0) / 0.5))
            length.total_steps = guess
            length.eval_every = eval_interval(guess, val_cost_steps, cfg.eval_every)
            length.epochs = math.ceil(guess / length.eval_every)
        return length

    @property
    def counted(self) -> bool:
        """Counted in steps (a budget), not in passes."""
        return self.budget is not None

    def settle(self, total: int, eval_every: int = 0) -> None:
        self.total_steps = max(1, int(total))
        self.eval_every = eval_interval(self.total_steps, self.val_cost_steps, eval_every)
        self.epochs = math.ceil(self.total_steps / self.eval_every)
        self.fixed = True

    def restore(self, total: int, eval_every: int) -> None:
        """A resumed run's own count."""
        self.total_steps = total
        self.eval_every = eval_every
        self.epochs = math.ceil(total / max(eval_every, 1))
        self.fixed = True

    def finished(self, epoch: int, global_step: int) -> bool:
        """No interval (or pass) number ``epoch`` (0-based) left to train."""
        if not self.counted:
            return epoch >= self.epochs
        assert self.total_steps is not None
        return global_step >= self.total_steps

    def steps_in(self, global_step: int) -> int:
        """The steps of the interval that starts after ``global_step`` steps."""
        assert self.total_steps is not None
        return max(1, min(self.eval_every, self.total_steps - global_step))

    def progress(self, epoch_index: int, step_in_epoch: int, steps_in_epoch: int,
                 global_step: int) -> float:
        """Where the run is, 0..1, for the learning-rate schedule."""
        if not self.counted:
            return (epoch_index + min(step_in_epoch, steps_in_epoch) / max(steps_in_epoch, 1)) \
                / self.epochs
        assert self.total_steps is not None
        return global_step / max(self.total_steps, 1)

    def timed_step(self, seconds: float) -> bool:
        """Record a step's time; True once a time budget has just been turned into steps
        (:meth:`settle_from_timing` is then due)."""
        if self.fixed or self.budget is None or not self.budget.timed:
            return False
        self.step_times.append(seconds)
        return len(self.step_times) >= WARM_STEPS + TIMING_STEPS

    def step_seconds(self) -> float:
        timed = self.step_times[WARM_STEPS:] or self.step_times
        return statistics.median(timed) if timed else 0.0

    def settle_from_timing(self, elapsed: float, done_steps: int, eval_every: int = 0) -> None:
        """A time budget becomes a count: the steps done plus what fits in the rest of the
        budget at the timed pace (validation included)."""
        assert self.budget is not None and self.budget.seconds is not None
        left = max(0.0, self.budget.seconds - elapsed)
        per = self.step_seconds()
        more = steps_for_time(left, per, self.val_cost_steps, eval_every or None)
        self.settle(done_steps + more, eval_every)

    def note(self, images: int, batch_size: int) -> str:
        """The plan in words, for the log once it is fixed."""
        if not self.counted:
            return f"{self.epochs} epochs over {images} training images"
        total = self.total_steps or 0
        passes = total * batch_size / max(images, 1)
        head = f"budget {self.budget.text()}: " if self.budget is not None else ""
        text = (f"{head}{total:,} steps of {batch_size} images (about {passes:,.0f} passes "
                f"over {images} training images), validation every {self.eval_every} steps")
        per = self.step_seconds()
        if per > 0:
            full = total * per * (1.0 + self.val_cost_steps / max(self.eval_every, 1))
            text += f"; {per:.2f} s a step here, about {describe_seconds(round(full))} in all"
        return text


def validation_cost(val_pixels: int, batch_size: int, crop_pixels: int,
                    precise_bn: int) -> float:
    """A validation's cost in training steps: a forward pass over every validation pixel
    (and the precise-BatchNorm batches), where a training step is a forward and a
    backward pass (about three forwards) over a batch of crops."""
    step = 3.0 * batch_size * max(crop_pixels, 1)
    return (val_pixels + precise_bn * batch_size * crop_pixels) / step
