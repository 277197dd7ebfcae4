"""The training engine on real CamVid images: learning, resume, cancel, pause,
the correction loop, out-of-memory handling and the project's run records."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest
import torch

from segstudio.core.maskio import read_mask
from segstudio.nn.config import TrainConfig
from segstudio.nn.runs.checkpoint import load_checkpoint
from segstudio.nn.runs.events import EpochEnd, EpochStarted, Finished, Message, RunStarted, Step
from segstudio.nn.train import engine as engine_mod  # fit: it builds the model, on its clock
from segstudio.nn.train.engine import fit

from .conftest import label_project

SMALL = TrainConfig(arch="segnet", width=0.25, epochs=2, batch_size=4, crop=(64, 96), lr=0.05,
                    val_split=0.25, imagenet=None, seed=0)


def _run(project, cfg, **kw):
    return list(fit(project, cfg, device="cpu", **kw))


def _of(events, kind):
    return [e for e in events if isinstance(e, kind)]


def test_thirty_steps_learn_on_eight_camvid_crops(camvid_project):
    project = camvid_project
    # plain cross-entropy on uniform crops, so that train accuracy compares with the majority share
    cfg = SMALL.replace(epochs=15, crop=(128, 160), val_split=0.0, optimizer="adamw", lr=3e-3,
                        weight_decay=1e-2, class_weights="none", rare_crops=0.0)
    events = _run(project, cfg)
    fin = events[-1]
    assert isinstance(fin, Finished) and fin.status == "completed", fin
    steps = _of(events, Step)
    assert len(steps) == 30 and steps[-1].global_step == 30
    first = float(np.mean([s.loss for s in steps[:2]]))  # the two batches of epoch 1
    last = float(np.mean([s.loss for s in steps[-4:]]))
    assert first > 2.3 and last < 0.7 * first, (first, last)
    # the majority class's share of the labelled pixels of these 8 images
    lut = project.classes.train_lut(255)
    counts = np.zeros(256, np.int64)
    for rec in project.images():
        counts += np.bincount(lut[project.load_mask(rec)].ravel(), minlength=256)
    majority = counts[:11].max() / counts[:11].sum()
    ends = _of(events, EpochEnd)
    assert np.mean([e.metrics.train_accuracy for e in ends[-2:]]) > majority + 0.03
    assert ends[0].metrics.train_accuracy < majority


def test_resume_is_bit_exact(camvid_project, tmp_path):
    project = camvid_project
    full = _run(project, SMALL, out=tmp_path / "a.pt")
    assert full[-1].status == "completed"
    cancel = threading.Event()
    first = []
    for ev in fit(project, SMALL, device="cpu", cancel=cancel, out=tmp_path / "b.pt"):
        first.append(ev)
        if isinstance(ev, EpochEnd):
            cancel.set()  # stop after epoch 1 of 2
    assert first[-1].status == "cancelled" and first[-1].epochs_done == 1
    assert load_checkpoint(tmp_path / "b-last.pt").epoch == 1
    resumed = list(fit(project, None, device="cpu", resume=tmp_path / "b-last.pt",
                       out=tmp_path / "c.pt"))
    started = _of(resumed, RunStarted)[0]
    assert started.start_epoch == 1 and started.resumed_from.endswith("b-last.pt")
    assert [e.epoch for e in _of(resumed, EpochEnd)] == [2]
    assert resumed[-1].status == "completed"
    a = load_checkpoint(tmp_path / "a-last.pt")
    c = load_checkpoint(tmp_path / "c-last.pt")
    assert a.epoch == c.epoch == 2
    assert a.model_state.keys() == c.model_state.keys()
    for k in a.model_state:
        assert torch.equal(a.model_state[k], c.model_state[k]), k
    sa, sc = a.train_state["optimizer"]["state"], c.train_state["optimizer"]["state"]
    assert all(torch.equal(sa[i]["momentum_buffer"], sc[i]["momentum_buffer"]) for i in sa)
    untimed = dict(seconds=None, images_per_sec=None, data_seconds=None, compute_seconds=None,
                   val_seconds=None)  # the clock differs between two runs, the numbers not
    assert replace(_of(full, EpochEnd)[-1].metrics, **untimed) == \
        replace(_of(resumed, EpochEnd)[-1].metrics, **untimed)


def test_cancel_stops_within_one_batch(camvid_project):
    cancel = threading.Event()
    batches = []
    events = []
    for ev in fit(camvid_project, SMALL.replace(epochs=3, val_split=0.0, batch_size=2),
                  device="cpu", cancel=cancel, batch_hook=lambda e, ids: batches.append(ids)):
        events.append(ev)
        if isinstance(ev, Step):
            cancel.set()
    assert len(batches) == 1 and len(_of(events, Step)) == 1
    fin = events[-1]
    assert fin.status == "cancelled" and fin.epochs_done == 0 and fin.last_checkpoint is None
    run = camvid_project.runs.all()[-1]
    assert run.status == "cancelled" and run.id == fin.run_id


def test_pause_blocks_between_batches_until_cleared(camvid_project, monkeypatch):
    import types

    # the engine's clock stands still except for one hour that passes while the run is
    # held in its pause: the epoch's seconds must leave that hour out, the run's total
    # keep it (exact bookkeeping on one clock; no real time is measured or waited for)
    now = [1000.0]
    monkeypatch.setattr(engine_mod, "time", types.SimpleNamespace(perf_counter=lambda: now[0]))

    class Pause(threading.Event):
        """Set until the engine, holding, looks again once the pause was reported: then
        an hour has passed and the user has resumed."""

        reported = False

        def is_set(self) -> bool:
            if self.reported and super().is_set():
                now[0] += 3600.0
                self.clear()
            return super().is_set()

    pause, cancel = Pause(), threading.Event()
    events = []
    for ev in fit(camvid_project, SMALL.replace(epochs=1, val_split=0.0, batch_size=4),
                  device="cpu", cancel=cancel, pause=pause):
        events.append(ev)
        if isinstance(ev, Step) and ev.step == 1:
            pause.set()
        elif isinstance(ev, Message) and ev.text == "paused":
            pause.reported = True
    end = _of(events, EpochEnd)[0]
    assert end.metrics.seconds == 0.0 and events[-1].seconds == 3600.0
    texts = [(type(e).__name__, getattr(e, "text", getattr(e, "step", None))) for e in events]
    i = texts.index(("Message", "paused"))
    assert texts[i - 1] == ("Step", 1) and texts[i + 1] == ("Message", "resumed")
    assert texts[i + 2] == ("Step", 2)
    assert events[-1].status == "completed"


def test_a_mask_corrected_during_training_joins_the_next_epoch(camvid_subset):
    project = label_project(camvid_subset / "images", camvid_subset / "labels",
                            camvid_subset / "classes.json", n_masks=5)
    late = project.images()[6]
    assert late.status == "unlabelled"
    seen: dict[int, set[int]] = {}
    starts = []
    for ev in fit(project, SMALL.replace(epochs=2, val_split=0.0), device="cpu",
                  batch_hook=lambda e, ids: seen.setdefault(e, set()).update(ids)):
        if isinstance(ev, EpochStarted):
            starts.append(ev)
        if isinstance(ev, Step) and ev.epoch == 1 and ev.step == 1:
            # the user corrects a mask in the editor while epoch 1 runs
            project.save_mask(late, read_mask(camvid_subset / "labels" / late.relpath))
    assert late.id not in starts[0].train_ids and late.id not in seen[1]
    assert late.id in starts[1].train_ids and late.id in seen[2]
    assert len(starts[1].train_ids) == 6
    project.close()


def test_no_labelled_images_fails_cleanly(make_images):
    from segstudio.core.project import Project

    project = Project.open(make_images(3))
    events = _run(project, SMALL)
    assert events[-1].status == "failed"
    assert "no corrected or reviewed images" in events[-1].message
    project.close()


class _OomAbove(torch.nn.Module):
    """Fault injection: the real model, but a batch above ``limit`` raises CUDA's OOM error."""

    def __init__(self, net, limit):
        super().__init__()
        self.net, self.limit, self.sizes = net, limit, []
        self.num_classes, self.in_channels = net.num_classes, net.in_channels

    def config(self):
        return self.net.config()

    def forward(self, x):
        self.sizes.append(x.shape[0])
        if x.shape[0] > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.net(x)


def test_out_of_memory_halves_the_batch(camvid_project, monkeypatch):
    made = []
    real = engine_mod.build_model

    def build(*a, **kw):
        made.append(_OomAbove(real(*a, **kw), limit=2))
        return made[-1]

    monkeypatch.setattr(engine_mod, "build_model", build)
    events = _run(camvid_project, SMALL.replace(epochs=1, val_split=0.0, batch_size=4))
    assert events[-1].status == "completed", events[-1]
    msgs = [e.text for e in _of(events, Message) if "out of memory" in e.text]
    assert msgs == ["out of memory with 4 images per batch; continuing with batch size 2"]
    # four training steps, then precise BatchNorm forwards the epoch's (halved) batches
    assert made[0].sizes == [4, 2, 2, 2, 2] + [2, 2, 2, 2]
    assert [s.batch_size for s in _of(events, Step)] == [2, 2, 2, 2]

    made.clear()
    monkeypatch.setattr(engine_mod, "build_model",
                        lambda *a, **kw: made.append(_OomAbove(real(*a, **kw), 0)) or made[-1])
    events = _run(camvid_project, SMALL.replace(epochs=1, val_split=0.0, batch_size=2))
    assert events[-1].status == "failed"
    assert "out of memory even with one image per batch" in events[-1].message


def test_run_is_recorded_in_the_project(camvid_project):
    events = _run(camvid_project, SMALL.replace(epochs=2))
    fin = events[-1]
    run = camvid_project.runs.all()[-1]
    assert run.id == fin.run_id and run.status == "completed"
    assert run.best_checkpoint == fin.best_checkpoint
    assert fin.best_checkpoint.endswith(f"run-{fin.run_id}/best.pt")
    assert run.config["arch"] == "segnet" and run.device == "cpu"
    assert camvid_project.settings.get("active_checkpoint") == fin.best_checkpoint
    rows = camvid_project.runs.epochs(fin.run_id)
    ends = _of(events, EpochEnd)
    assert [r.epoch for r in rows] == [1, 2]
    assert camvid_project.runs.epoch_counts() == {fin.run_id: 2}
    for row, ev in zip(rows, ends, strict=False):
        assert row.miou == pytest.approx(ev.metrics.miou)
        assert row.train_loss == pytest.approx(ev.metrics.train_loss)
        assert row.train_images == 6
        assert row.compute_seconds == pytest.approx(ev.metrics.compute_seconds)
        assert set(row.per_class_iou) == {c.name for c in camvid_project.classes.trainable}
    assert ends[-1].metrics.val_images == 2 and ends[-1].metrics.pixels > 0
    best = load_checkpoint(fin.best_checkpoint)
    assert best.metrics["miou"] == pytest.approx(fin.best_miou)
    assert best.epoch == max((e for e in ends), key=lambda e: e.metrics.miou).epoch
