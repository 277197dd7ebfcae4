"""The guard's decision to change course, on the numbers it reads (the runs that reach
it are trained in test_plan.py): never before 30 % of the run and 20 steps, never for
a run that once beat the trivial predictor, once only, and what it changes follows
from the loss."""

from __future__ import annotations

from types import SimpleNamespace

from segstudio.nn.config import TrainConfig
from segstudio.nn.train.course import LR_CUT, choose


def _run(best=None, step=100, loss="ce"):
    guard = SimpleNamespace(acted=False, trivial_miou=0.44, majority_name="background")
    state = SimpleNamespace(global_step=step, best_miou=best, course=None)
    training = SimpleNamespace(balance=SimpleNamespace(focus=None))
    return SimpleNamespace(guard=guard, state=state, training=training,
                           cfg=TrainConfig(loss=loss))


def test_a_run_that_learnt_once_does_not_change_course_on_a_dip():
    assert choose(_run(best=0.73), 0.46, False, [0.6, 0.3]) is None
    assert choose(_run(best=0.445), 0.46, False, [0.6, 0.3]) is not None  # within MARGIN


def test_too_early_or_too_few_steps_or_beating_is_no_reason():
    assert choose(_run(), 0.29, False, [0.6, 0.3]) is None
    assert choose(_run(step=19), 0.5, False, [0.6, 0.3]) is None
    assert choose(_run(), 0.5, True, [0.6, 0.3]) is None
    assert choose(_run(), 0.5, None, [0.6, 0.3]) is None  # no validation


def test_the_change_follows_from_the_loss_and_comes_once():
    run = _run()
    stuck = choose(run, 0.5, False, [0.6, 0.65])
    assert stuck is not None and stuck.lr_scale == LR_CUT and stuck.loss is None
    assert choose(run, 0.6, False, [0.6, 0.65]) is None  # acted already
    prior = choose(_run(), 0.5, False, [0.6, 0.3])
    assert prior is not None and prior.loss == "ce+dice" and prior.focus and \
        prior.lr_scale == 0.5
