"""The document on screen has one writer, the project controller; the views follow it."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QRect

import segstudio.gui as gui
from segstudio.core.sample import CAR, SAMPLE_CLASSES, SKY
from segstudio.gui.document import ImageDocument

from .conftest import expected_over, open_and_wait, qimage_rgb, wait_document


def show_second(qtbot, window, folder) -> None:
    """scene_2.png (no human mask) on screen."""
    open_and_wait(qtbot, window, folder, relpath="scene_1.png")
    window.browser.select_row(1)
    wait_document(qtbot, window, "scene_2.png")


def test_a_write_from_outside_the_controller_fails(qtbot, window, street_project):
    folder, _images, labels = street_project
    open_and_wait(qtbot, window, folder, relpath="scene_1.png")
    doc = window.canvas.document()
    assert doc.shown and window.controller.document is doc
    before = doc.mask
    for name, value in (("mask", np.zeros_like(labels[0])), ("rec", replace(doc.rec)),
                        ("prediction", None), ("derived", None)):
        with pytest.raises(AttributeError, match="ProjectController"):
            setattr(doc, name, value)
    with pytest.raises(AttributeError):
        del doc.mask
    assert doc.mask is before
    # a document not handed over yet (a loader filling it) takes writes
    fresh = ImageDocument(doc.rec)
    fresh.mask = labels[0]
    assert not fresh.shown and fresh.mask is labels[0]


def test_the_controllers_record_reaches_the_document_browser_and_status(qtbot, window,
                                                                        street_project):
    folder, _images, _labels = street_project
    show_second(qtbot, window, folder)
    c, doc = window.controller, window.canvas.document()
    assert doc.rec.status != "reviewed"
    new = replace(doc.rec, status="reviewed")
    c.update_record(new)
    assert window.canvas.document() is doc and doc.rec is new and c.current is new
    model = window.browser.model
    assert model.record(model.row_of(new.id)).status == "reviewed"
    assert window.pixel_label.text().endswith("reviewed")


def test_the_controllers_mask_and_prediction_reach_the_canvas(qtbot, window, street_project):
    folder, images, labels = street_project
    show_second(qtbot, window, folder)
    c, canvas = window.controller, window.canvas
    doc = canvas.document()
    assert doc.mask is None
    sky = np.full_like(labels[1], SKY)
    assert not c.set_mask(doc.rec.id + 100, sky)  # not the image on screen: nothing changes
    assert doc.mask is None
    with qtbot.waitSignal(c.mask_replaced):
        assert c.set_mask(doc.rec.id, sky)
    assert canvas.mask() is doc.mask and np.array_equal(doc.mask, sky)
    got = qimage_rgb(canvas.render_scene(QRect(0, 0, 4, 4)))
    a = canvas.style().class_alpha(SKY, SAMPLE_CLASSES)
    want = expected_over(images[1][:4, :4], SAMPLE_CLASSES.by_id(SKY).color, a)
    assert np.array_equal(got, want)
    with pytest.raises(ValueError):
        c.set_mask(doc.rec.id, sky[:10])

    pred = np.full_like(labels[1], CAR)
    entropy = np.zeros_like(labels[1])
    assert not c.set_prediction(doc.rec.id, pred[:10], entropy[:10])  # does not fit
    with qtbot.waitSignal(c.prediction_replaced):
        assert c.set_prediction(doc.rec.id, pred, entropy)
    assert doc.prediction is pred and doc.uncertainty is entropy
    assert canvas._prediction.array is pred and canvas._uncertainty.array is entropy
    assert "prediction: Car" in canvas.describe_pixel(5, 5)


def test_only_the_controller_bypasses_the_documents_guard():
    """The guard's way round (object.__setattr__) is the controller's alone."""
    root = Path(gui.__file__).parent
    allowed = {root / "project_controller.py", root / "document.py"}
    found = [str(p.relative_to(root)) for p in root.rglob("*.py")
             if p not in allowed and re.search(r"object\.__setattr__", p.read_text())]
    assert found == []
