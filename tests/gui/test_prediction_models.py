"""Predictions of different models are never mixed in the window (issue 25, item 4): the
per-epoch refresh's prediction (a run's last.pt at an early epoch) records that model and
is marked as another model's in the browser; Label next compares the active model's
scores only; Ctrl+Shift+P predicts again what another model predicted."""

from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import Qt

from segstudio.core.project import Project
from segstudio.nn.inference import Predictor
from tests.cli.test_predict_models import streets, write_model

from .conftest import open_and_wait, wait_document

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def test_label_next_and_predict_all_keep_to_the_active_model(qtbot, window, tmp_path):
    torch.set_num_threads(1)
    folder = streets(tmp_path / "streets")
    run = tmp_path / "run-2"
    run.mkdir()
    last = write_model(run / "last.pt", epoch=3, seed=1)
    best = write_model(run / "best.pt", epoch=7, seed=2)
    with Project.open(folder, scan=False) as p:
        p.set_setting("active_checkpoint", best)
    open_and_wait(qtbot, window, folder, relpath="scene_1.png")
    svc, browser, bar = window.training.service, window.browser, window.statusBar()
    project = window.controller.project

    # after an epoch the training refreshes the image on screen with its last.pt
    rec = next(r for r in window.controller.records if r.relpath == "scene_3.png")
    browser.select_image(rec.id)
    wait_document(qtbot, window, "scene_3.png")
    with qtbot.waitSignal(svc.saved, timeout=30000) as saved:
        svc.predict_current(last, quiet=True)
    early = saved.args[0]
    assert (early.predicted_by, early.predicted_epoch) == (last, 3)  # recorded in the db
    assert (project.find("scene_3.png").predicted_epoch) == 3

    # it is not the active model's: marked in the browser, and Label next does not rank it
    qtbot.waitUntil(lambda: browser.model.prediction_current(
        browser.model.record(browser.model.row_of(rec.id))) is False, timeout=10000)
    index = browser.model.index(browser.model.row_of(rec.id))
    assert "not the active model" in browser.model.data(index, Qt.ItemDataRole.ToolTipRole)
    qtbot.keyClick(window.canvas, Qt.Key.Key_L, CTRL)
    qtbot.waitUntil(lambda: "no image has a prediction of the active model" in
                    bar.currentMessage(), timeout=10000)
    assert f"{best} (epoch 7)" in bar.currentMessage()

    # Ctrl+Shift+P: the unlabelled images and the one another model predicted
    with qtbot.waitSignal(svc.batch_running, timeout=30000,
                          check_params_cb=lambda running: not running):
        qtbot.keyClick(window.canvas, Qt.Key.Key_P, CTRL | SHIFT)
    assert "3 predicted" in bar.currentMessage()
    assert "1 of them had a prediction of another model" in bar.currentMessage()
    recs = {r.relpath: r for r in project.images()}
    for name in ("scene_2.png", "scene_3.png", "scene_4.png"):
        assert (recs[name].predicted_by, recs[name].predicted_epoch) == (best, 7), name
    assert not recs["scene_1.png"].has_prediction  # the human mask's image: not asked

    # Label next: the active model's most uncertain image
    with Project.open(folder, scan=False) as p:
        model = Predictor.from_checkpoint(best, "cpu", classes=p.classes, in_channels=3)
        unc = {n: model.predict(p.load_image(p.find(n))).uncertainty
               for n in ("scene_2.png", "scene_3.png", "scene_4.png")}
    top = max(unc, key=unc.get)
    assert recs[top].uncertainty == pytest.approx(unc[top], abs=1e-9)
    qtbot.keyClick(window.canvas, Qt.Key.Key_L, CTRL)
    wait_document(qtbot, window, top)
    assert bar.currentMessage().startswith(f"Label next: {top}")
    assert all(browser.model.prediction_current(r) for r in browser.model.records()
               if r.has_prediction)
