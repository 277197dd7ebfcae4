"""What the window says and does around a training run (issue 13, items 2, 3, 5, 6, 7):
prediction during the first run, a start pressed while the devices are detected,
Ctrl+T on a long run, pause time out of s/epoch and the ETA, no numbers of the last run
on a new one.  The run's age and paused time are read from ``ui.clock``, which the
tests set: no test waits for or measures wall time."""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import Qt

from segstudio.gui.training.plots import fmt_seconds

from .conftest import open_and_wait, wait_document
from .training_helpers import Recorder, open_ready, set_panel, stop_training, streets, tiny_config

__all__ = ["stop_training", "streets"]
LEFT = Qt.MouseButton.LeftButton
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


class Clock:
    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def _show(qtbot, window, relpath):
    rec = next(r for r in window.controller.records if r.relpath == relpath)
    window.browser.select_image(rec.id)
    return wait_document(qtbot, window, relpath)


def test_pause_is_not_training_time_and_the_first_run_predicts(qtbot, window, streets,
                                                               stop_training):
    folder = streets[0]
    open_ready(qtbot, window, folder)
    ui = window.training
    panel, trainer, project = ui.panel, ui.trainer, window.controller.project
    ui.clock = Clock()
    assert project.settings.get("active_checkpoint") is None   # no model yet
    set_panel(panel, tiny_config(epochs=3, val_split=0.3))
    rec = Recorder(trainer)
    qtbot.mouseClick(panel.start_button, LEFT)
    qtbot.waitUntil(lambda: bool(rec.of("Step")), timeout=60000)

    # a pause in epoch 1: the engine leaves it out of the epoch's seconds (tests/nn), and
    # the panel and the plots show the engine's figures as they are
    qtbot.mouseClick(panel.pause_button, LEFT)
    qtbot.waitUntil(lambda: any(m.text == "paused" for m in rec.of("Message")), timeout=20000)
    qtbot.mouseClick(panel.pause_button, LEFT)
    qtbot.waitUntil(lambda: bool(rec.of("EpochEnd")), timeout=60000)
    first = rec.of("EpochEnd")[0]
    raw = first.metrics
    trainer.pause()   # hold the run in epoch 2 (paused before its next batch)
    qtbot.waitUntil(lambda: [m.text for m in rec.of("Message")].count("paused") == 2,
                    timeout=20000)
    assert f"{raw.seconds:.1f} s/epoch" in panel.speed.text()
    assert f"ETA {fmt_seconds(rec.of('EpochEnd')[0].eta_seconds)}" in panel.speed.text()
    plots = ui.plots
    assert plots.history.series["epoch_seconds"].y.tolist() == [raw.seconds]
    assert plots.history.eta == rec.of("EpochEnd")[0].eta_seconds
    assert f"{raw.seconds:.1f} s/epoch" in plots.summary.text()

    # Ctrl+P during the first run: the run's latest checkpoint predicts (and says so)
    assert project.settings.get("active_checkpoint") is None
    _show(qtbot, window, "scene_7.png")
    window.class_panel.list.setFocus()
    qtbot.keyClick(window.class_panel.list, Qt.Key.Key_P, CTRL)
    assert "latest checkpoint (epoch 1" in window.statusBar().currentMessage()
    assert first.last_checkpoint in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: project.find("scene_7.png").predicted_by == first.last_checkpoint,
                    timeout=30000)
    assert window.canvas.document().prediction is not None
    # Ctrl+Shift+P predicts the other unlabelled image with it too
    qtbot.keyClick(window.canvas, Qt.Key.Key_P, CTRL | SHIFT)
    qtbot.waitUntil(lambda: project.find("scene_8.png").predicted_by == first.last_checkpoint,
                    timeout=30000)
    trainer.stop_and_wait(60000)
    qtbot.waitUntil(lambda: rec.finished() is not None, timeout=30000)
    assert rec.finished().status == "cancelled"
    # after the run, nothing predicts with a checkpoint of a run that is over
    assert ui.service.model_path() == project.settings.get("active_checkpoint")


def test_a_new_run_shows_none_of_the_last_runs_numbers_and_ctrl_t_asks_on_a_long_run(
        qtbot, window, streets, stop_training):
    folder = streets[0]
    open_ready(qtbot, window, folder)
    ui = window.training
    panel, trainer = ui.panel, ui.trainer
    clock = ui.clock = Clock()
    set_panel(panel, tiny_config(epochs=1, val_split=0.3))
    rec = Recorder(trainer)
    qtbot.keyClick(window, Qt.Key.Key_T, CTRL)
    qtbot.waitUntil(lambda: rec.finished() is not None and not trainer.running, timeout=90000)
    assert rec.finished().status == "completed"
    assert "img/s" in panel.speed.text() and "best" in panel.speed.text()
    assert "best val mIoU" in ui.plots.summary.text()

    # run 2, held before its first batch: no number of run 1 is shown as its own
    set_panel(panel, tiny_config(epochs=50, val_split=0.3))
    hold = lambda ev: trainer.pause() if type(ev).__name__ == "RunStarted" else None  # noqa: E731
    trainer.event.connect(hold)
    rec2 = Recorder(trainer)
    clock.t += 10.0  # not a press just after run 1 ended (that one starts nothing)
    qtbot.keyClick(window, Qt.Key.Key_T, CTRL)
    qtbot.waitUntil(lambda: any(getattr(m, "text", "") == "paused" for m in rec2.of("Message")),
                    timeout=60000)
    trainer.event.disconnect(hold)
    assert panel.speed.text() == ""
    assert "img/s" not in ui.plots.summary.text() and "best" not in ui.plots.summary.text()
    assert ui.plots.history.best_miou is None and ui.plots.history.eta is None

    # Ctrl+T on a run younger than a minute stops it at once; older, it asks first
    asked = []
    ui.confirm = lambda title, text: asked.append(text) or False
    clock.t += 61.0
    qtbot.keyClick(window.class_panel.list, Qt.Key.Key_T, CTRL)
    assert len(asked) == 1 and "1 min" in asked[0]
    assert trainer.running and not trainer.cancel.is_set()
    ui.confirm = lambda title, text: asked.append(text) or True
    qtbot.keyClick(window, Qt.Key.Key_T, CTRL)
    assert len(asked) == 2 and trainer.cancel.is_set()
    qtbot.waitUntil(lambda: rec2.finished() is not None, timeout=30000)
    assert rec2.finished().status == "cancelled"


def test_start_pressed_while_devices_are_detected_starts_when_they_are_known(
        qtbot, window, streets, stop_training, tmp_path):
    folder = streets[0]
    ui = window.training
    gate = threading.Event()
    # the detection waits behind this job on the training jobs' one thread
    ui.jobs.submit(lambda ctx: gate.wait(60), key="hold")
    open_and_wait(qtbot, window, folder)
    panel = ui.panel
    assert not ui.ready
    # nothing shows the spin boxes' minimums as if they were settings
    assert panel.epochs.text() == "…" and panel.lr.text() == "…"
    assert panel.start_button.isEnabled()
    rec = Recorder(ui.trainer)
    qtbot.keyClick(window.canvas, Qt.Key.Key_T, CTRL)
    assert "as soon as the devices are detected" in window.statusBar().currentMessage()
    assert not ui.trainer.running
    gate.set()
    qtbot.waitUntil(lambda: ui.trainer.running or rec.finished() is not None, timeout=60000)
    qtbot.waitUntil(lambda: bool(rec.of("RunStarted")), timeout=60000)
    assert panel.epochs.text() != "…"
    ui.trainer.stop_and_wait(60000)

    # the devices and the form are remembered: the next window shows them at once
    from segstudio.gui.main_window import MainWindow
    from segstudio.gui.settings import AppSettings

    window.settings.sync()
    second = MainWindow(AppSettings(tmp_path / "settings.ini"), sample_base=tmp_path / "u2")
    qtbot.addWidget(second)
    gate2 = threading.Event()
    second.training.jobs.submit(lambda ctx: gate2.wait(60), key="hold")
    second.show()
    try:
        assert second.open_folder(folder)
        qtbot.waitUntil(lambda: second.training.panel.device.count() > 0, timeout=10000)
        p2 = second.training.panel
        assert not second.training.ready
        assert [p2.device.itemData(i) for i in range(p2.device.count())] == \
            [d for d, _ in ui.devices]
        assert p2.epochs.value() == panel.epochs.value() and p2.epochs.text() != "…"
        assert np.isclose(p2.lr.value(), panel.lr.value())
    finally:
        gate2.set()
        qtbot.waitUntil(lambda: second.training.ready, timeout=60000)
        second.close()
