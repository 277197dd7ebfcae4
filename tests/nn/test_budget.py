"""Training counted in a budget: steps are honoured exactly, a time becomes a step count
from the first steps' timing, validation comes every interval, and a run resumed from a
budgeted checkpoint goes on to the same count."""

from __future__ import annotations

import re
import types

import pytest

from segstudio.nn.config import TrainConfig
from segstudio.nn.plan.budget import eval_interval, parse_budget, scaled, steps_for_time
from segstudio.nn.runs.events import EpochEnd, EpochStarted, Finished, Message, RunStarted, Step
from segstudio.nn.train import engine as engine_mod
from segstudio.nn.train.engine import fit
from segstudio.nn.train.length import TIMING_STEPS, WARM_STEPS

SMALL = TrainConfig(arch="segnet", width=0.25, epochs=40, batch_size=4, crop=(64, 96), lr=0.01,
                    optimizer="adamw", weight_decay=0.01, val_split=0.25, imagenet=None,
                    seed=0, precise_bn=1)


def _of(events, kind):
    return [e for e in events if isinstance(e, kind)]


def test_budget_texts():
    assert parse_budget("10m").seconds == 600 and parse_budget("90 s").seconds == 90
    assert parse_budget("1.5h").seconds == 5400
    assert parse_budget("1,500 steps").steps == 1500 and parse_budget("1500").steps == 1500
    assert parse_budget("2 steps").text() == "2 steps" and parse_budget("10m").text() == "10 min"
    for bad, said in (("10x", "unknown unit 'x'"), ("0 steps", "from 1"), ("soon", "give a time"),
                      ("2.5 steps", "whole number")):
        with pytest.raises(ValueError, match=said):
            parse_budget(bad)
    assert scaled("10m", 0.25) == "150s" and scaled("1000 steps", 0.25) == "250 steps"
    # about 25 validations, never more often than 10 validation costs, at least 20 steps
    assert eval_interval(1000, 0.5) == 40 and eval_interval(1000, 30.0) == 300
    assert eval_interval(100, 0.1) == 20 and eval_interval(10, 0.1) == 10
    assert eval_interval(1000, 0.5, setting=7) == 7
    # 100 s at 0.5 s a step with validation costing 2 steps every 20: 100 / 0.55 steps
    assert steps_for_time(100.0, 0.5, 2.0, eval_every=20) == 181


def test_a_step_budget_is_honoured_with_validation_every_interval(camvid_project):
    cfg = SMALL.replace(budget="7 steps", eval_every=3)
    events = list(fit(camvid_project, cfg, device="cpu"))
    fin = events[-1]
    assert isinstance(fin, Finished) and fin.status == "completed", fin
    steps = _of(events, Step)
    assert [s.global_step for s in steps] == list(range(1, 8))
    # three intervals of 3, 3 and 1 steps, each validated and checkpointed
    assert [e.steps for e in _of(events, EpochStarted)] == [3, 3, 1]
    ends = _of(events, EpochEnd)
    assert [e.epoch for e in ends] == [1, 2, 3] and all(e.epochs == 3 for e in ends)
    assert all(e.metrics.miou is not None for e in ends)
    assert _of(events, RunStarted)[0].epochs == 3
    # the 6 training images are seen again and again within an interval (not once an epoch)
    assert sum(s.batch_size for s in steps[:3]) == 12
    notes = [m.text for m in _of(events, Message) if m.text.startswith("budget")]
    assert notes == ["budget 7 steps: 7 steps of 4 images (about 5 passes over 6 training "
                     "images), validation every 3 steps"]
    # the learning rate decays over the 7 steps, not over 40 epochs
    assert steps[-1].lr < 0.2 * steps[0].lr


def test_a_time_budget_becomes_a_step_count_from_the_first_steps(camvid_project, monkeypatch):
    # the engine's clock: every reading is a tenth of a second later (no real time counts)
    now = [0.0]

    def clock():
        now[0] += 0.1
        return now[0]

    monkeypatch.setattr(engine_mod, "time", types.SimpleNamespace(perf_counter=clock))
    events = list(fit(camvid_project, SMALL.replace(budget="12s", eval_every=8), device="cpu"))
    fin = events[-1]
    assert fin.status == "completed", fin
    notes = [m.text for m in _of(events, Message) if m.text.startswith("budget 12 s")]
    assert len(notes) == 1, [m.text for m in _of(events, Message)]
    total = int(re.match(r"budget 12 s: (\d+) steps", notes[0]).group(1))
    steps = _of(events, Step)
    # announced once the timing steps were taken, and kept to the step
    i = events.index(next(m for m in _of(events, Message) if m.text == notes[0]))
    assert max(s.global_step for s in _of(events[:i], Step)) == WARM_STEPS + TIMING_STEPS
    assert steps[-1].global_step == total
    assert total > WARM_STEPS + TIMING_STEPS
    assert _of(events, EpochEnd)[-1].epochs == -(-total // 8)


def test_a_budgeted_run_resumes_to_its_own_count(camvid_project, tmp_path):
    import threading

    cancel = threading.Event()
    first = []
    for ev in fit(camvid_project, SMALL.replace(budget="6 steps", eval_every=2), device="cpu",
                  cancel=cancel, out=tmp_path / "b.pt"):
        first.append(ev)
        if isinstance(ev, EpochEnd) and ev.epoch == 2:
            cancel.set()
    assert first[-1].status == "cancelled"
    resumed = list(fit(camvid_project, None, device="cpu", resume=tmp_path / "b-last.pt",
                       out=tmp_path / "c.pt"))
    assert resumed[-1].status == "completed", resumed[-1]
    assert [s.global_step for s in _of(resumed, Step)] == [5, 6]
    assert [e.epoch for e in _of(resumed, EpochEnd)] == [3]
