"""Prediction from the window: Ctrl+P shows the overlay and writes the prediction (never
over a human mask), Ctrl+Shift+P predicts every unlabelled image, the listed images,
and "label next" ranks images without a human mask by the model's uncertainty."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import Qt

from segstudio.core.browse import sort_records
from segstudio.core.project import Project
from segstudio.nn.inference import Predictor

from .conftest import wait_document
from .training_helpers import open_ready, streets, trained

__all__ = ["streets", "trained"]
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def _expected(folder, ckpt):
    """What the model predicts for each image, computed here without the window."""
    with Project.open(folder, scan=False) as project:
        predictor = Predictor.from_checkpoint(ckpt, "cpu", classes=project.classes,
                                              in_channels=3)
        return {r.relpath: predictor.predict(project.load_image(r)) for r in project.images()}


def _miou(pred: np.ndarray, mask: np.ndarray, ids: list[int]) -> float:
    """Mean IoU over the classes present in the mask or the prediction."""
    ious = []
    for i in ids:
        p, m = pred == i, mask == i
        union = (p | m).sum()
        if union:
            ious.append((p & m).sum() / union)
    return float(np.mean(ious))


def _show(qtbot, window, relpath: str):
    rec = next(r for r in window.controller.records if r.relpath == relpath)
    window.browser.select_image(rec.id)
    return wait_document(qtbot, window, relpath)


def test_predict_this_image_shows_the_overlay_and_keeps_human_masks(qtbot, window, trained):
    folder, ckpt = trained
    want = _expected(folder, ckpt)
    open_ready(qtbot, window, folder)
    project = window.controller.project
    assert project.settings.get("active_checkpoint") == ckpt
    svc = window.training.service
    window.controller.set_style(replace(window.controller.style, show_prediction=False))

    # an image without any mask: the overlay shows, then the files are written
    doc = _show(qtbot, window, "scene_7.png")
    assert doc.prediction is None
    with qtbot.waitSignal(svc.saved, timeout=30000) as saved:
        qtbot.keyClick(window, Qt.Key.Key_P, CTRL)
    res = want["scene_7.png"]
    doc = window.canvas.document()
    assert np.array_equal(doc.prediction, res.labels)
    assert np.array_equal(doc.uncertainty, res.entropy)
    assert window.controller.style.show_prediction
    assert window.actions_.layers["show_prediction"].isEnabled()
    assert window.canvas._prediction.isVisible()
    rec = saved.args[0]
    assert rec.status == "predicted" and rec.predicted_by == ckpt
    assert rec.uncertainty == pytest.approx(res.uncertainty, abs=1e-9)
    assert np.array_equal(project.load_prediction(rec), res.labels)
    assert np.array_equal(project.load_uncertainty(rec), res.entropy)
    assert project.load_mask(rec) is None
    assert window.browser.model.record(window.browser.model.row_of(rec.id)).status == "predicted"
    assert svc.last_latency is not None and svc.last_latency < 10
    plots = window.training.plots
    plots.tabs.setCurrentWidget(plots.timing)
    assert plots.curve_data("inference")[1].size == 1

    # an image with a human mask: the mask file stays byte for byte, the IoU is recorded
    _show(qtbot, window, "scene_1.png")
    rec1 = window.controller.current
    mask_path = project.mask_path(rec1)
    before = mask_path.read_bytes()
    with qtbot.waitSignal(svc.saved, timeout=30000) as saved:
        qtbot.keyClick(window, Qt.Key.Key_P, CTRL)
    after = saved.args[0]
    assert mask_path.read_bytes() == before
    assert after.status == "corrected"
    assert np.array_equal(window.canvas.document().mask, project.load_mask(after))
    res1 = want["scene_1.png"]
    assert np.array_equal(project.load_prediction(after), res1.labels)
    ids = [c.id for c in project.classes.trainable]
    assert after.iou == pytest.approx(_miou(res1.labels, project.load_mask(after), ids))


def test_predict_unlabelled_listed_and_label_next(qtbot, window, trained):
    folder, ckpt = trained
    want = _expected(folder, ckpt)
    open_ready(qtbot, window, folder)
    project = window.controller.project
    masks = {r.relpath: project.mask_path(r).read_bytes() for r in project.images()
             if r.has_human_mask}
    assert len(masks) == 6
    svc = window.training.service
    with qtbot.waitSignal(svc.batch_running, timeout=5000,
                          check_params_cb=lambda running: not running):
        qtbot.keyClick(window, Qt.Key.Key_P, CTRL | SHIFT)
    recs = {r.relpath: r for r in project.images()}
    for name in ("scene_7.png", "scene_8.png"):
        assert recs[name].status == "predicted"
        assert recs[name].uncertainty == pytest.approx(want[name].uncertainty, abs=1e-9)
        assert np.array_equal(project.load_prediction(recs[name]), want[name].labels)
    for name, data in masks.items():  # human masks untouched, no prediction made for them
        assert project.mask_path(recs[name]).read_bytes() == data
        assert recs[name].status in ("corrected", "reviewed")
        assert recs[name].predicted_at is None
    assert not window.busy_bar.isVisible()

    # label next: the unlabelled image the model is least sure about, in a browser order
    qtbot.keyClick(window, Qt.Key.Key_L, CTRL)
    top = max(("scene_7.png", "scene_8.png"), key=lambda n: want[n].uncertainty)
    wait_document(qtbot, window, top)
    browser = window.browser
    assert browser.model.sort_key == "label_next"
    order = [r.relpath for r in browser.model.records()]
    other = "scene_8.png" if top == "scene_7.png" else "scene_7.png"
    assert order[:2] == [top, other]
    assert set(order[2:]) == set(masks)
    assert order == [r.relpath for r in sort_records(project.images(), "label_next")]

    # predict the listed images: filter to one human-labelled image
    browser.set_name_filter("scene_2")
    assert [r.relpath for r in browser.model.records()] == ["scene_2.png"]
    with qtbot.waitSignal(svc.batch_running, timeout=5000,
                          check_params_cb=lambda running: not running):
        window.training.actions["predict_listed"].trigger()
    rec2 = project.find("scene_2.png")
    assert rec2.status == "corrected" and rec2.iou is not None
    assert project.mask_path(rec2).read_bytes() == masks["scene_2.png"]
    assert np.array_equal(project.load_prediction(rec2), want["scene_2.png"].labels)


def test_without_a_model_prediction_says_what_to_do(qtbot, window, streets):
    open_ready(qtbot, window, streets[0])
    qtbot.keyClick(window, Qt.Key.Key_P, CTRL)
    assert "train one (Ctrl+T)" in window.statusBar().currentMessage()
    qtbot.keyClick(window, Qt.Key.Key_L, CTRL)
    assert "predict the unlabelled images first" in window.statusBar().currentMessage()


def test_label_next_by_tta_stores_the_chosen_score(qtbot, window, trained):
    from segstudio.nn.inference import Predictor
    from segstudio.nn.uncertainty import Scorer

    folder, ckpt = trained
    open_ready(qtbot, window, folder)
    project = window.controller.project
    panel, svc = window.training.panel, window.training.service
    panel.score.setCurrentIndex(panel.score.findData("tta"))
    assert svc.score == "tta"
    with qtbot.waitSignal(svc.batch_running, timeout=5000,
                          check_params_cb=lambda running: not running):
        qtbot.keyClick(window, Qt.Key.Key_P, CTRL | SHIFT)
    scorer = Scorer(Predictor.from_checkpoint(ckpt, "cpu"), "tta")
    plain = Predictor.from_checkpoint(ckpt, "cpu")
    for name in ("scene_7.png", "scene_8.png"):
        rec = project.find(name)
        assert rec.status == "predicted"
        image = project.load_image(rec)
        assert rec.uncertainty == pytest.approx(scorer(image).uncertainty, rel=1e-4)
        assert rec.uncertainty != pytest.approx(plain.predict(image).uncertainty, rel=1e-3)
