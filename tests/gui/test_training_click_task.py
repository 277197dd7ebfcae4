"""The click model trained from the Training panel: the "Train" choice shows the click
model's own defaults and start choices, the run makes the Click tool's model (and not
the segmentation model), and each task keeps its own settings."""

from __future__ import annotations

from PySide6.QtCore import Qt

from segstudio.nn.config import default_click_config, default_train_config
from segstudio.nn.runs.checkpoint import load_checkpoint

from .training_helpers import Recorder, open_ready, stop_training, streets, trained

__all__ = ["stop_training", "streets", "trained"]
LEFT = Qt.MouseButton.LeftButton


def _item(panel, key):
    return panel.start_mode.model().item(panel.start_mode.findData(key))


def test_click_model_trains_from_the_panel(qtbot, window, streets, stop_training):
    folder = streets[0]
    open_ready(qtbot, window, folder)
    ui = window.training
    panel, trainer, project = ui.panel, ui.trainer, window.controller.project
    panel.set_device("cpu")
    assert panel.task() == "semantic"
    seg = default_train_config("cpu")
    assert (panel.crop_h.value(), panel.crop_w.value()) == seg.crop

    panel.task_box.setCurrentIndex(panel.task_box.findData("click"))
    click = default_click_config("cpu")
    assert panel.task() == "click"
    assert (panel.crop_h.value(), panel.batch.value(), panel.epochs.value()) == \
        (click.crop[0], click.batch_size, click.epochs)
    assert not panel.weights.isEnabled() and not panel.whole.isEnabled()
    assert not panel.crop_w.isEnabled() and not panel.score.isEnabled()
    assert _item(panel, "features").isEnabled() and not _item(panel, "imagenet").isEnabled()
    assert not _item(panel, "active").isEnabled()    # no click model yet
    panel.crop_h.setValue(64)
    assert panel.crop_w.value() == 64                # square object boxes
    panel.epochs.setValue(2)
    panel.batch.setValue(2)
    panel.set_mode("scratch")
    cfg = panel.config(click)
    assert cfg.task == "click" and cfg.crop == (64, 64) and cfg.class_weights == "none"
    assert cfg.features_from is None and cfg.imagenet is None

    rec = Recorder(trainer)
    qtbot.mouseClick(panel.start_button, LEFT)
    qtbot.waitUntil(lambda: bool(rec.of("Finished")), timeout=180000)
    fin = rec.of("Finished")[0]
    assert fin.status == "completed" and fin.epochs_done == 2, fin
    assert rec.of("RunStarted")[0].config["task"] == "click"
    assert project.get_setting("active_click_checkpoint") == fin.best_checkpoint
    assert project.get_setting("active_checkpoint") is None   # the segmentation model: none
    ck = load_checkpoint(fin.best_checkpoint)
    assert ck.task == "click" and ck.click_size == 64
    assert window.editor.tools["click"].checkpoint() == fin.best_checkpoint
    log = panel.log.toPlainText()
    assert "click model, segnet width 0.25" in log
    assert "val IoU after 3 clicks" in log
    saved = project.get_setting("gui.click_train_config")
    assert saved["config"]["task"] == "click" and saved["config"]["crop"] == [64, 64]
    assert project.get_setting("gui.train_config") is None

    # the next click run continues from the click model; the segmentation side has none
    qtbot.waitUntil(lambda: panel.mode() == "active", timeout=10000)
    assert _item(panel, "active").isEnabled()
    panel.task_box.setCurrentIndex(panel.task_box.findData("semantic"))
    assert panel.task() == "semantic" and panel.mode() == "scratch"
    assert not _item(panel, "active").isEnabled() and not _item(panel, "features").isEnabled()
    assert (panel.crop_h.value(), panel.crop_w.value()) == seg.crop
    assert panel.weights.isEnabled() and panel.crop_w.isEnabled()
    # back to the click model: its own settings, as they were started
    panel.task_box.setCurrentIndex(panel.task_box.findData("click"))
    assert (panel.crop_h.value(), panel.epochs.value(), panel.batch.value()) == (64, 2, 2)
    assert panel.mode() == "active"


def test_a_click_round_from_the_window_continues_the_click_model(qtbot, window, trained,
                                                                 stop_training):
    """The window's start resolves the run as the CLI does: a click-model round continues
    the project's click model, never the segmentation model that is active beside it."""
    from segstudio.core.project import Project
    from segstudio.nn.models.segnet import IMAGENET_MEAN, IMAGENET_STD, build_model
    from segstudio.nn.runs.checkpoint import checkpoint_dict, save_checkpoint

    folder, segmentation = trained
    with Project.open(folder, scan=False) as project:
        click_path = save_checkpoint(folder.parent / "click.pt", checkpoint_dict(
            build_model("segnet", 1, 6, 0.25), project.classes, IMAGENET_MEAN + (0.0,) * 3,
            IMAGENET_STD + (1.0,) * 3, task="click", click={"size": 64}))
        project.settings.set("active_click_checkpoint", str(click_path))
    open_ready(qtbot, window, folder)
    ui = window.training
    panel, trainer = ui.panel, ui.trainer
    panel.set_device("cpu")
    panel.task_box.setCurrentIndex(panel.task_box.findData("click"))
    qtbot.waitUntil(lambda: _item(panel, "active").isEnabled(), timeout=10000)
    panel.set_mode("active")
    panel.epochs.setValue(4)  # a round takes a quarter: 3 epochs at least
    panel.batch.setValue(2)
    rec = Recorder(trainer)
    qtbot.mouseClick(panel.start_button, LEFT)
    qtbot.waitUntil(lambda: bool(rec.of("RunStarted")) or bool(rec.of("Finished")),
                    timeout=120000)
    texts = [m.text for m in rec.of("Message")]
    assert any(t.startswith(f"continuing from the active model {click_path}") for t in texts)
    assert not any(segmentation in t for t in texts), texts
    started = rec.of("RunStarted")[0]
    assert started.config["task"] == "click" and started.epochs == 3
    trainer.stop()
    qtbot.waitUntil(lambda: rec.finished() is not None, timeout=60000)
    assert window.controller.project.runs.all()[-1].config["started_from"] == str(click_path)
