"""The Evaluation and Runs panels and the plots' files: per-class IoU and confusion matrix
of a checkpoint, the active model, a past run in the plots, CSV and PNG."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from segstudio.core.project import Project
from segstudio.nn.evaluate import evaluate_project
from segstudio.nn.inference import Predictor

from .training_helpers import open_ready, streets, trained

__all__ = ["streets", "trained"]
LEFT = Qt.MouseButton.LeftButton


def test_evaluation_view_shows_the_checkpoint_metrics(qtbot, window, trained):
    folder, ckpt = trained
    with Project.open(folder, scan=False) as project:
        predictor = Predictor.from_checkpoint(ckpt, "cpu", classes=project.classes,
                                              in_channels=3)
        want = evaluate_project(project, predictor, "val")
    open_ready(qtbot, window, folder)
    ui = window.training
    ui.actions["evaluate"].trigger()
    assert ui.eval_dock.isVisible()
    view = ui.evaluation
    view.set_split("val")
    assert view.checkpoint_path() == ckpt  # "Active model"
    with qtbot.waitSignal(view.evaluated, timeout=30000) as got:
        qtbot.mouseClick(view.run_button, LEFT)
    result = got.args[0]
    assert result["images"] == want["images"] == 2
    assert result["confusion_matrix"] == want["confusion_matrix"]
    names = want["class_names"]
    assert view.table.rowCount() == len(names)
    for row, name in enumerate(names):
        assert view.table.item(row, 0).text() == name
        iou = want["per_class_iou"][name]
        assert view.table.item(row, 1).text() == ("-" if iou is None else f"{iou * 100:.1f} %")
        acc = want["per_class_accuracy"][name]
        assert view.table.item(row, 2).text() == ("-" if acc is None else f"{acc * 100:.1f} %")
    m = np.asarray(want["confusion_matrix"], float)
    rows = m.sum(1, keepdims=True)
    assert np.allclose(view.matrix, np.divide(m, rows, out=np.zeros_like(m), where=rows > 0))
    assert np.allclose(view.image.image, view.matrix.T)
    assert f"mIoU {want['miou'] * 100:.1f} %" in view.summary.text()


def test_runs_active_model_csv_png_and_past_run(qtbot, window, trained, tmp_path):
    folder, best = trained
    open_ready(qtbot, window, folder)
    ui = window.training
    runs = ui.runs
    project = window.controller.project
    qtbot.waitUntil(lambda: runs.table.rowCount() == 1, timeout=10000)
    run = project.runs.all()[0]
    assert runs.table.item(0, 7).text() == "best"
    assert runs.table.item(0, 5).text() == "2/2"
    runs.select_run(run.id)
    qtbot.mouseClick(runs.use_last, LEFT)
    assert project.settings.get("active_checkpoint") == run.checkpoint != best
    qtbot.waitUntil(lambda: runs.table.item(0, 7).text() == "last", timeout=10000)
    assert ui.evaluation.checkpoint.count() == 3  # active, last, best
    qtbot.mouseClick(runs.use_best, LEFT)
    assert project.settings.get("active_checkpoint") == best

    # the run's metrics as CSV, exactly the database's
    path = runs.save_csv(tmp_path / "metrics.csv", run.id)
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    epochs = project.runs.epochs(run.id)
    assert [int(r["epoch"]) for r in rows] == [e.epoch for e in epochs] == [1, 2]
    for r, e in zip(rows, epochs, strict=True):
        assert float(r["train_loss"]) == e.train_loss
        assert float(r["val_miou"]) == e.miou
        assert float(r["iou_Road"]) == e.per_class_iou["Road"]

    # a past run in the plots
    qtbot.mouseClick(runs.show_button, LEFT)
    plots = ui.plots
    x, y = plots.curve_data("miou")
    assert list(x) == [1, 2] and list(y) == [e.miou for e in epochs]
    assert list(plots.curve_data("Road")[1]) == [e.per_class_iou["Road"] for e in epochs]

    # the plots as one PNG
    png = plots.save_png(tmp_path / "plots.png")
    image = QImage(str(png))
    assert not image.isNull()
    assert image.width() > 200 and image.height() % 2 == 0 and image.height() > 200
    half = image.height() // 2
    for top in (0, half):  # both tabs are drawn, stacked
        colours = {image.pixel(x, y) for x in range(0, image.width(), 2)
                   for y in range(top, top + half, 2)}
        assert len(colours) > 20


def test_use_a_checkpoint_file_as_the_active_model(qtbot, window, trained, tmp_path):
    """A checkpoint from elsewhere becomes the active model after it is checked; a file
    that is not a checkpoint, or one for other classes, is refused by name."""
    import shutil

    import torch

    folder, best = trained
    open_ready(qtbot, window, folder)
    runs = window.training.runs
    project = window.controller.project
    elsewhere = tmp_path / "from another machine.pt"
    shutil.copy(best, elsewhere)
    messages: list[str] = []
    runs.message.connect(messages.append)
    with qtbot.waitSignal(runs.active_changed, timeout=20000) as got:
        runs.use_checkpoint_file(elsewhere)
    assert got.args == [str(elsewhere)]
    assert project.settings.get("active_checkpoint") == str(elsewhere)
    assert "segnet width 0.25" in messages[-1] and str(elsewhere) in messages[-1]
    qtbot.waitUntil(lambda: runs.active_label.text() == f"Active model: {elsewhere}",
                    timeout=10000)

    junk = tmp_path / "notes.pt"
    junk.write_text("not a model")
    other = tmp_path / "other classes.pt"
    raw = torch.load(best, map_location="cpu", weights_only=True)
    raw["classes"]["classes"][1]["name"] = "Lake"
    torch.save(raw, other)
    for bad, why in ((junk, "not a segstudio checkpoint"), (other, "trained for other classes")):
        n = len(messages)
        runs.use_checkpoint_file(bad)
        qtbot.waitUntil(lambda n=n: len(messages) > n, timeout=20000)
        assert str(bad) in messages[-1] and why in messages[-1]
        assert project.settings.get("active_checkpoint") == str(elsewhere)


def test_panel_defaults_fit_the_device_and_settings_persist(qtbot, window, streets):
    from segstudio.nn.config import default_train_config
    from segstudio.nn.device import available_devices

    folder = streets[0]
    open_ready(qtbot, window, folder)
    ui = window.training
    panel = ui.panel
    devices = available_devices()
    assert [panel.device.itemText(i) for i in range(panel.device.count())] == \
        [d.name for d in devices]
    assert panel.device_id() == devices[0].id
    want = default_train_config(devices[0].id)
    assert panel.config(want) == want.replace(imagenet=None)  # no VGG16-BN file here
    assert panel.val_split.value() == pytest.approx(0.3)
    start = panel.start_mode.model()
    assert not start.item(panel.start_mode.findData("resume")).isEnabled()  # no checkpoint
    # the settings a run starts with are the project's next time
    panel.epochs.setValue(2)
    panel.crop_h.setValue(64)
    panel.crop_w.setValue(96)
    panel.weights.setCurrentIndex(panel.weights.findData("median"))
    ui.start_training()
    qtbot.waitUntil(lambda: not ui.trainer.running, timeout=60000)
    window.close_project()
    panel.set_config(want)
    open_ready(qtbot, window, folder)
    qtbot.waitUntil(lambda: panel.epochs.value() == 2, timeout=5000)
    cfg = panel.config(want)
    assert (cfg.epochs, cfg.crop, cfg.class_weights) == (2, (64, 96), "median")


def test_plots_add_gpu_memory_and_throttle_redraws(qtbot):
    """A CUDA run's memory records get their own plot (this machine has no GPU, so the
    records are made here); many steps in a burst cause one redraw, not one each."""
    from segstudio.gui.training.plots import REDRAW_MS, TrainingPlots
    from segstudio.nn.runs.events import GpuMemory, RunStarted, Step

    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.resize(900, 320)
    plots.show()
    plots.add_event(RunStarted(3, "cuda:0", "cuda:0 NVIDIA H100 (79 GiB)", {}, {}, 1000, 10, 2,
                               0, 5, "/tmp/x"))
    assert "gpu" in plots.plots
    steps = [Step(1, i, 50, 2.0 - i / 100, 0.5, 0.01, 8, 0.002, 0.05, 150.0, i)
             for i in range(1, 51)]
    for st in steps:
        plots.add_event(st)
        plots.add_event(GpuMemory(st.global_step, st.step / 50, 1000.0 + st.step, 2048.0,
                                  1100.0))
    assert plots.redraws == 0 and plots.curve_data("loss")[1].size == 0
    qtbot.wait(REDRAW_MS * 3)
    assert plots.redraws == 1
    assert np.array_equal(plots.curve_data("loss")[1], [s.loss for s in steps])
    plots.tabs.setCurrentWidget(plots.timing)
    x, y = plots.curve_data("gpu_allocated")
    assert np.allclose(x, [s.step / 50 for s in steps])
    assert np.array_equal(y, [1000.0 + s.step for s in steps])
    assert plots.plots["loss"].getViewBox().viewRange()[0][1] == pytest.approx(1.0, abs=0.05)


def test_a_chosen_checkpoint_file_survives_a_refresh_of_the_runs(qtbot, tmp_path, monkeypatch):
    """A file chosen with "…" stays chosen when the runs' checkpoints are listed again
    (after every epoch, or when another model is made active), in the Training panel
    and in the Evaluation panel."""
    from PySide6.QtWidgets import QFileDialog

    from segstudio.gui.training.evaluation import EvaluationView
    from segstudio.gui.training.panel import TrainingPanel

    chosen = str(tmp_path / "elsewhere.pt")
    items = [("run 2 last (last.pt)", str(tmp_path / "run-2" / "last.pt")),
             ("run 1 best (best.pt)", str(tmp_path / "run-1" / "best.pt"))]
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (chosen, "Checkpoints (*.pt)")))
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.set_devices([("cpu", "cpu (2 threads)")], imagenet=False)
    panel.set_ready(True)
    panel.set_checkpoints(items)
    panel.browse.click()
    assert panel.mode() == "resume" and panel.resume_path() == chosen
    panel.set_checkpoints(items)
    assert panel.resume_path() == chosen
    assert [panel.checkpoint.itemData(i) for i in range(panel.checkpoint.count())] == \
        [p for _, p in items] + [chosen]

    view = EvaluationView(None)
    qtbot.addWidget(view)
    view.set_checkpoints(items)
    view.choose(chosen)
    assert view.checkpoint_path() == chosen
    view.set_checkpoints(items)
    assert view.checkpoint_path() == chosen
    assert view.checkpoint.count() == 1 + len(items) + 1


def test_evaluation_shows_every_class_row_the_pixels_column_and_whole_matrix_labels(qtbot, camvid):
    from PySide6.QtGui import QFontMetrics

    from segstudio.core.classes import ClassTable
    from segstudio.gui.training.evaluation import EvaluationView
    from segstudio.nn.metrics import metrics_from_confusion

    names = [c.name for c in ClassTable.load_json(camvid / "classes.json").trainable]
    k = len(names)
    m = np.full((k, k), 1000, np.int64) + np.eye(k, dtype=np.int64) * 123456
    result = dict(metrics_from_confusion(m, names), images=101, split="val", seconds=1.0)
    view = EvaluationView(None)
    qtbot.addWidget(view)
    view.resize(760, 420)
    view.show()
    view.show_result(result)
    qtbot.wait(50)
    table = view.table
    assert table.rowCount() == 11
    # every class row fits in the height the rows used to show 5 of
    rows_h = sum(table.rowHeight(r) for r in range(k))
    assert rows_h <= 11 * (table.fontMetrics().height() + 6)
    assert table.rowHeight(0) < 30
    # the table is never narrower than its columns: Pixels stays whole
    cols = sum(table.columnWidth(c) for c in range(4))
    assert table.minimumWidth() >= cols and table.width() >= cols
    # the matrix's left axis has room for the longest class name
    font = view.heat_plot.getAxis("left").style["tickFont"]
    longest = max(QFontMetrics(font).horizontalAdvance(n) for n in names)
    assert view.heat_plot.getAxis("left").width() >= longest


def test_panel_model_and_optimizer_combos_list_the_registries(qtbot):
    """The Training panel offers exactly the registered models and optimizers, with their
    labels and descriptions (a new registry record shows up without touching the GUI)."""
    from segstudio.gui.training.panel import TrainingPanel
    from segstudio.nn.registry import MODELS, OPTIMIZERS

    panel = TrainingPanel()
    qtbot.addWidget(panel)
    for box, registry in ((panel.arch, MODELS), (panel.optimizer, OPTIMIZERS)):
        got = [(box.itemData(i), box.itemText(i),
                box.itemData(i, Qt.ItemDataRole.ToolTipRole)) for i in range(box.count())]
        assert got == [(e.name, e.label, e.description) for e in registry.values()]
