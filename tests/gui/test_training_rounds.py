"""Rounds, not restarts, in the window: once the project has an active model the panel
continues from it (a short round) unless the user picks scratch, and the guard's
verdict against the trivial predictor reaches the log."""

from __future__ import annotations

from PySide6.QtCore import Qt

from .training_helpers import Recorder, open_ready, set_panel, stop_training, streets, tiny_config

__all__ = ["stop_training", "streets"]
LEFT = Qt.MouseButton.LeftButton


def _log(panel) -> str:
    return panel.log.toPlainText()


def test_the_second_run_continues_from_the_active_model(qtbot, window, streets, stop_training):
    folder = streets[0]
    open_ready(qtbot, window, folder)
    ui = window.training
    panel, trainer, project = ui.panel, ui.trainer, window.controller.project
    active_item = panel.start_mode.model().item(panel.start_mode.findData("active"))
    assert not active_item.isEnabled() and panel.mode() == "scratch"   # no model yet
    set_panel(panel, tiny_config(epochs=4, val_split=0.3))
    rec = Recorder(trainer)
    qtbot.mouseClick(panel.start_button, LEFT)
    qtbot.waitUntil(lambda: bool(rec.of("Finished")), timeout=120000)
    first = rec.of("Finished")[0]
    assert first.status == "completed"
    active = project.settings.get("active_checkpoint")
    assert active == first.best_checkpoint
    # the runs view refreshes: the panel now offers (and picks) a round from the model
    qtbot.waitUntil(lambda: panel.mode() == "active", timeout=10000)
    assert active_item.isEnabled()
    qtbot.waitUntil(lambda: not trainer.running, timeout=10000)
    rec2 = Recorder(trainer)
    qtbot.mouseClick(panel.start_button, LEFT)
    qtbot.waitUntil(lambda: bool(rec2.of("Finished")), timeout=120000)
    texts = [m.text for m in rec2.of("Message")]
    assert f"continuing from the active model {active} (a correction round; start from " \
           "scratch to start over)" in texts
    # the length on the panel is the user's (4 epochs, not the recipe's): the round's own
    assert any(t.startswith(f"a new round from the weights of {active} (4 epochs") for t in texts)
    assert any(t.startswith("the model this round starts from scores") for t in texts)
    started = rec2.of("RunStarted")[0]
    assert started.epochs == 4 and started.config["lr"] == tiny_config().lr / 2
    assert project.runs.all()[-1].config["started_from"] == active
    log = _log(panel)
    assert "the model this round starts from scores" in log
    # the guard's per-epoch verdict is in the log whenever an epoch is not better
    for ev in rec2.of("EpochEnd"):
        if ev.beats_trivial is False:
            assert "not better than painting everything one class" in log
    verdict = rec2.of("Finished")[0].details.get("verdict")
    if verdict:
        assert verdict in log
    # scratch stays a choice
    panel.set_mode("scratch")
    rec3 = Recorder(trainer)
    qtbot.waitUntil(lambda: not trainer.running, timeout=10000)
    qtbot.mouseClick(panel.start_button, LEFT)
    qtbot.waitUntil(lambda: bool(rec3.of("Finished")), timeout=120000)
    texts = [m.text for m in rec3.of("Message")]
    assert "starting from He initialisation" in texts
    assert not any(t.startswith("continuing from") for t in texts)
    assert rec3.of("RunStarted")[0].epochs == 4
