"""Training from the window: the real Start/Pause/Stop buttons, live plots holding the
reported numbers, a correction made while paused joining the next epoch, the engine off
the GUI thread, Ctrl+T, and closing the window during training.  (How long the GUI thread
stalls while a run trains is a figure of benchmarks/bench_training_gui.py.)"""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from segstudio.core.project import Project
from segstudio.core.sample import CAR
from segstudio.nn.runs.checkpoint import load_checkpoint
from segstudio.nn.train import engine

from .conftest import wait_document
from .editor_helpers import drag, view_point
from .training_helpers import (
    Recorder,
    open_ready,
    set_panel,
    stop_training,
    streets,
    tiny_config,
)

__all__ = ["stop_training", "streets"]
LEFT = Qt.MouseButton.LeftButton
CTRL = Qt.KeyboardModifier.ControlModifier


def test_train_from_panel_plots_pause_and_correction(qtbot, window, streets, stop_training,
                                                     monkeypatch):
    folder = streets[0]
    trained_on = set()   # the threads the engine's events came from
    fit = engine.fit

    def fit_spy(*args, **kwargs):
        for ev in fit(*args, **kwargs):
            trained_on.add(threading.get_ident())
            yield ev

    monkeypatch.setattr(engine, "fit", fit_spy)
    open_ready(qtbot, window, folder)
    ui = window.training
    panel, trainer = ui.panel, ui.trainer
    project = window.controller.project
    recs = {r.relpath: r for r in project.images()}
    new = recs["scene_7.png"]
    assert new.status == "unlabelled"
    set_panel(panel, tiny_config(epochs=3, val_split=0.3))
    rec = Recorder(trainer)
    qtbot.mouseClick(panel.start_button, LEFT)
    assert trainer.running and not panel.start_button.isEnabled()
    qtbot.waitUntil(lambda: bool(rec.of("Step")), timeout=60000)

    # pause: no step while paused; the user corrects an unlabelled image meanwhile
    qtbot.mouseClick(panel.pause_button, LEFT)
    assert trainer.paused and panel.pause_button.text() == "Resume"
    qtbot.waitUntil(lambda: any(m.text == "paused" for m in rec.of("Message")), timeout=20000)
    steps_paused = len(rec.of("Step"))
    assert len(rec.of("EpochStarted")) == 1
    window.browser.select_image(new.id)
    wait_document(qtbot, window, "scene_7.png")
    canvas = window.canvas
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_R)
    window.class_panel.set_active_class(CAR)
    drag(qtbot, canvas, [view_point(canvas, 20.5, 30.5), view_point(canvas, 90.5, 70.5)])
    qtbot.keyClick(canvas, Qt.Key.Key_S, CTRL)
    qtbot.waitUntil(lambda: project.image(new.id).status == "corrected", timeout=10000)
    saved = project.load_mask(new)
    assert (saved[30:71, 20:91] == CAR).all() and (saved == CAR).sum() == 71 * 41
    assert len(rec.of("Step")) == steps_paused  # nothing trained while paused
    qtbot.mouseClick(panel.pause_button, LEFT)
    assert not trainer.paused
    qtbot.waitUntil(lambda: rec.finished() is not None, timeout=120000)
    fin = rec.finished()
    # the engine held between "paused" and "resumed": no step in between, whatever the time
    said = [getattr(e, "text", type(e).__name__) for e in rec.events]
    held = said[said.index("paused"):said.index("resumed")]
    assert held and "Step" not in held and said.count("Step") > steps_paused
    # the engine ran on its own thread, never on the GUI thread
    assert trained_on and threading.get_ident() not in trained_on
    assert fin.status == "completed" and fin.epochs_done == 3, fin
    qtbot.waitUntil(lambda: not trainer.running, timeout=10000)
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()

    # the correction joined the next epoch's training set
    starts = rec.of("EpochStarted")
    assert [s.epoch for s in starts] == [1, 2, 3]
    assert new.id not in starts[0].train_ids + starts[0].val_ids
    assert new.id in starts[1].train_ids and new.id in starts[2].train_ids
    assert len(starts[1].train_ids) == len(starts[0].train_ids) + 1
    assert f"trains on {len(starts[2].train_ids)} images" in panel.images.text()

    # the plots hold exactly the reported numbers
    plots = ui.plots
    qtbot.waitUntil(lambda: not plots.history.dirty and not plots._timer.isActive(), timeout=3000)
    steps, ends = rec.of("Step"), rec.of("EpochEnd")
    x, y = plots.curve_data("loss")
    assert np.array_equal(y, [s.loss for s in steps])
    assert np.allclose(x, [s.epoch - 1 + s.step / s.steps_per_epoch for s in steps])
    assert plots.tabs.currentWidget() is plots.learning
    assert plots.curve_data("compute_ms")[1].size == 0   # the hidden tab waits ...
    plots.tabs.setCurrentWidget(plots.timing)             # ... until it is shown
    x, y = plots.curve_data("compute_ms")
    assert np.allclose(y, [s.compute_seconds * 1000 for s in steps])
    x, y = plots.curve_data("val_loss")
    assert list(x) == [1, 2, 3] and np.array_equal(y, [e.metrics.val_loss for e in ends])
    assert all(e.metrics.validated for e in ends)
    x, y = plots.curve_data("miou")
    assert np.array_equal(y, [e.metrics.miou for e in ends])
    road = [e.metrics.per_class_iou["Road"] for e in ends]
    assert None not in road
    assert np.array_equal(plots.curve_data("Road")[1], road)
    x, y = plots.curve_data("epoch_seconds")   # the engine leaves pauses out
    assert np.array_equal(y, [e.metrics.seconds for e in ends])
    # (that a burst of steps is drawn once: tests/gui/test_training_views.py, throttle)

    # checkpoints, the run record, the active model, the refreshed prediction
    last = load_checkpoint(fin.last_checkpoint)
    assert last.epoch == 3
    assert project.settings.get("active_checkpoint") == fin.best_checkpoint
    run = project.runs.all()[-1]
    assert run.status == "completed" and run.id == fin.run_id
    assert [e.epoch for e in project.runs.epochs(run.id)] == [1, 2, 3]
    qtbot.waitUntil(lambda: ui.runs.table.rowCount() == 1
                    and ui.runs.table.item(0, 2).text() == "completed", timeout=10000)
    assert ui.runs.table.item(0, 2).text() == "completed"
    assert ui.runs.table.item(0, 7).text() == "best"
    qtbot.waitUntil(lambda: project.image(new.id).predicted_by == fin.last_checkpoint,
                    timeout=20000)
    assert project.image(new.id).iou is not None  # refreshed after an epoch, IoU recorded
    assert canvas.document().prediction is not None


def test_stop_keeps_the_last_checkpoint_and_ctrl_t_toggles(qtbot, window, streets, stop_training):
    folder = streets[0]
    open_ready(qtbot, window, folder)
    ui = window.training
    panel, trainer = ui.panel, ui.trainer
    ui.clock = lambda: 100.0  # the window's clock stands still: every press is "at once"
    set_panel(panel, tiny_config(epochs=200, val_split=0.0))
    rec = Recorder(trainer)
    qtbot.keyClick(window, Qt.Key.Key_T, CTRL)          # Ctrl+T starts
    assert trainer.running
    assert ui.actions["train"].text() == "Stop &training"
    qtbot.waitUntil(lambda: len(rec.of("EpochEnd")) >= 1, timeout=60000)
    qtbot.mouseClick(panel.stop_button, LEFT)
    qtbot.waitUntil(lambda: rec.finished() is not None, timeout=30000)
    fin = rec.finished()
    assert fin.status == "cancelled" and fin.epochs_done >= 1
    assert load_checkpoint(fin.last_checkpoint).epoch == fin.epochs_done
    qtbot.waitUntil(lambda: not trainer.running, timeout=10000)
    assert window.controller.project.runs.all()[-1].status == "cancelled"
    assert "Cancelled" in panel.status.text()

    # continue from that checkpoint: the epochs field adds epochs; Ctrl+T stops again
    ui._update_checkpoints()
    panel.set_mode("resume")
    assert panel.resume_path() == fin.last_checkpoint
    panel.epochs.setValue(100)
    rec2 = Recorder(trainer)
    # a press that meant to stop the run that had just ended starts nothing, and says so
    qtbot.keyClick(window, Qt.Key.Key_T, CTRL)
    assert not trainer.running and not rec2.events
    assert "The run had just ended, so no new run was started" in \
        window.statusBar().currentMessage()
    qtbot.keyClick(window, Qt.Key.Key_T, CTRL)          # pressed again: it starts
    qtbot.waitUntil(lambda: bool(rec2.of("RunStarted")), timeout=60000)
    started = rec2.of("RunStarted")[0]
    assert started.resumed_from == fin.last_checkpoint
    assert started.start_epoch == fin.epochs_done
    assert started.epochs == fin.epochs_done + 100
    qtbot.keyClick(window, Qt.Key.Key_T, CTRL)          # Ctrl+T stops
    qtbot.waitUntil(lambda: rec2.finished() is not None, timeout=30000)
    assert rec2.finished().status == "cancelled"


def test_closing_during_training_asks_then_stops_cleanly(qtbot, window, streets, stop_training,
                                                         monkeypatch):
    folder = streets[0]
    open_ready(qtbot, window, folder)
    ui = window.training
    trainer = ui.trainer
    set_panel(ui.panel, tiny_config(epochs=500, val_split=0.0))
    rec = Recorder(trainer)
    qtbot.mouseClick(ui.panel.start_button, LEFT)
    qtbot.waitUntil(lambda: len(rec.of("EpochEnd")) >= 1, timeout=60000)
    asked = []

    def answer(result):
        def question(parent, title, text, *args, **kwargs):
            asked.append((title, text))
            return result
        return question

    # Cancel: the window and the training go on
    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(answer(QMessageBox.StandardButton.Cancel)))
    assert not window.close()
    assert window.isVisible() and trainer.running and len(asked) == 1
    assert "Training is running" in asked[0][0]
    n = len(rec.of("Step"))
    qtbot.waitUntil(lambda: len(rec.of("Step")) > n, timeout=20000)
    # Yes: stops after the batch under way and keeps the last epoch's checkpoint
    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(answer(QMessageBox.StandardButton.Yes)))
    ended = rec.of("EpochEnd")[-1]
    assert window.close()
    assert len(asked) == 2 and not trainer.running
    last = ended.last_checkpoint
    ckpt = load_checkpoint(last)
    assert ckpt.epoch >= ended.epoch
    with Project.open(folder, scan=False) as project:
        run = project.runs.all()[-1]
        assert run.status == "cancelled"
        assert run.checkpoint == last
        assert project.runs.epochs(run.id)[-1].epoch == ckpt.epoch
