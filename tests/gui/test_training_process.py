"""Training in its own process, followed by the window through the project store: started
from the panel, steered with Pause/Stop through the control file, corrections made in the
window joining its next epoch, a killed process reported while the window goes on, and a
CLI run found and followed when the project opens."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest
from PySide6.QtCore import Qt

from segstudio.core.atomic import process_alive

from .conftest import wait_document
from .training_helpers import Recorder, open_ready, set_panel, stop_training, streets, tiny_config

__all__ = ["stop_training", "streets"]
LEFT = Qt.MouseButton.LeftButton
RUN_S = 240_000  # ms: a separate process imports torch and trains on a loaded 2-core machine


def _start_separate(qtbot, window, folder, epochs: int) -> Recorder:
    open_ready(qtbot, window, folder)
    panel, trainer = window.training.panel, window.training.trainer
    set_panel(panel, tiny_config(epochs=epochs))
    panel.run_in.setCurrentIndex(panel.run_in.findData("process"))
    assert panel.separate_process()
    rec = Recorder(trainer)
    qtbot.mouseClick(panel.start_button, LEFT)
    assert trainer.running and trainer.separate
    return rec


def _process(trainer) -> subprocess.Popen:
    return trainer.external.proc


def test_a_separate_run_is_followed_to_the_end(qtbot, window, streets, stop_training):
    folder = streets[0]
    rec = _start_separate(qtbot, window, folder, epochs=3)
    trainer, panel = window.training.trainer, window.training.panel
    proc = _process(trainer)
    assert proc.pid != os.getpid()
    qtbot.waitUntil(lambda: rec.finished() is not None, timeout=RUN_S)
    fin = rec.finished()
    assert fin.status == "completed", fin.message
    project = window.controller.project
    run = project.runs.all()[-1]
    assert run.pid == proc.pid and run.status == "completed"
    started = rec.of("RunStarted")
    assert [s.run_id for s in started] == [run.id]
    ends = rec.of("EpochEnd")
    assert [e.epoch for e in ends] == [1, 2, 3]
    # the plots and the store agree: each epoch recorded once, by the other process
    assert [r.epoch for r in project.runs.epochs(run.id)] == [1, 2, 3]
    assert window.training.plots.history.run_id == run.id
    assert project.settings.get("active_checkpoint") == fin.best_checkpoint
    qtbot.waitUntil(lambda: not trainer.running, timeout=10000)
    assert panel.start_button.isEnabled()
    assert proc.wait(30) == 0


def test_stop_pause_and_a_correction_from_the_window(qtbot, window, streets, stop_training):
    folder, _images, labels = streets
    rec = _start_separate(qtbot, window, folder, epochs=200)
    trainer, panel = window.training.trainer, window.training.panel
    qtbot.waitUntil(lambda: len(rec.of("EpochEnd")) >= 1, timeout=RUN_S)
    # pause through the control file: the run says so and its epochs stop coming
    qtbot.mouseClick(panel.pause_button, LEFT)
    assert trainer.paused and panel.pause_button.text() == "Resume"
    qtbot.waitUntil(lambda: any(m.text == "paused" for m in rec.of("Message")), timeout=60000)
    qtbot.mouseClick(panel.pause_button, LEFT)
    qtbot.waitUntil(lambda: any(m.text == "resumed" for m in rec.of("Message")), timeout=60000)
    # a correction made in the window (scene_7 had no mask) joins a later epoch
    project = window.controller.project
    late = next(r for r in window.controller.records if r.relpath == "scene_7.png")
    assert not late.has_human_mask
    window.browser.select_image(late.id)
    wait_document(qtbot, window, "scene_7.png")
    window.canvas.setFocus()
    window.editor.apply(lambda mask: _paint_as(mask, labels[6]))
    window.editor.save_now()
    qtbot.waitUntil(lambda: project.images()[6].has_human_mask, timeout=30000)
    before = len(rec.of("EpochStarted"))
    qtbot.waitUntil(lambda: any(late.id in s.train_ids + s.val_ids
                                for s in rec.of("EpochStarted")[before:]), timeout=RUN_S)
    assert not any(late.id in s.train_ids + s.val_ids for s in rec.of("EpochStarted")[:1])
    # Stop: the process ends the run after the batch under way and exits
    qtbot.mouseClick(panel.stop_button, LEFT)
    qtbot.waitUntil(lambda: rec.finished() is not None, timeout=RUN_S)
    fin = rec.finished()
    assert fin.status == "cancelled", fin.message
    assert 1 <= fin.epochs_done < 200
    assert project.runs.all()[-1].status == "cancelled"
    assert _process(trainer).wait(60) in (0, 1)  # 1: "cancelled" is not a completed run


def _paint_as(mask, want):
    """The user's correction: the scene's true labels, written as one undoable edit."""
    from segstudio.core.edits import accept_prediction

    return accept_prediction(mask, want)


def test_a_killed_training_process_is_reported_and_the_window_goes_on(qtbot, window, streets,
                                                                      stop_training):
    folder = streets[0]
    rec = _start_separate(qtbot, window, folder, epochs=500)
    trainer, panel = window.training.trainer, window.training.panel
    qtbot.waitUntil(lambda: len(rec.of("EpochEnd")) >= 1, timeout=RUN_S)
    proc = _process(trainer)
    os.kill(proc.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: rec.finished() is not None, timeout=60000)
    fin = rec.finished()
    assert fin.status == "failed"
    assert fin.message.startswith("the training process was killed (signal 9) without "
                                  "finishing the run")
    assert fin.message.endswith("the last completed epoch's checkpoint is kept")
    assert fin.message in panel.log.toPlainText()
    project = window.controller.project
    assert project.runs.all()[-1].status == "interrupted"
    qtbot.waitUntil(lambda: not trainer.running, timeout=10000)
    assert panel.start_button.isEnabled() and window.isVisible()


@pytest.fixture()
def cli_run(streets):
    """A run started with ``segstudio train`` outside the window (yields its process)."""
    folder = streets[0]
    cmd = [sys.executable, "-m", "segstudio", "train", str(folder), "--device", "cpu",
           "--width", "0.25", "--epochs", "500", "--batch-size", "2", "--crop", "64x96",
           "--imagenet", "none", "--from", "scratch"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            start_new_session=True, text=True)
    yield folder, proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(30)


def test_the_window_follows_a_cli_run_and_closing_leaves_it_running(qtbot, window, cli_run,
                                                                    monkeypatch):
    from segstudio.core.project import Project

    folder, proc = cli_run
    run_id = None
    for line in proc.stdout:  # the CLI's own lines: its run, then its first epoch
        if line.startswith("run ") and " on cpu" in line:
            run_id = int(line.split()[1])
        if line.startswith("epoch   1/"):
            break
    # keep reading what it prints, so a full pipe never stops it
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    assert run_id is not None, "the CLI run never recorded an epoch"
    rec = Recorder(window.training.trainer)
    open_ready(qtbot, window, folder)
    trainer = window.training.trainer
    assert trainer.running and trainer.separate and trainer.external.run_id == run_id
    assert any(m.text.startswith(f"following run {run_id} (process {proc.pid})")
               for m in rec.of("Message"))
    qtbot.waitUntil(lambda: len(rec.of("EpochEnd")) >= 2, timeout=RUN_S)
    # closing says the run goes on, and it does
    asked = []
    monkeypatch.setattr(window.training, "confirm", lambda t, x: asked.append((t, x)) or True)
    window.close()
    assert asked and asked[0][0] == "Training goes on"
    assert f"run {run_id} (process {proc.pid})" in asked[0][1]
    assert proc.poll() is None and process_alive(proc.pid)
    # and the CLI stops it through the same control file
    out = subprocess.run([sys.executable, "-m", "segstudio", "control", str(folder), "stop"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"run {run_id}: asked to stop")
    assert proc.wait(120) == 0  # a stop asked for is a clean end (torchrun restarts none)
    with Project.open(folder, scan=False) as p:
        assert [r for r in p.runs.all() if r.id == run_id][0].status == "cancelled"
